/**
 * The stdout sink's destination: the sink config carries a `stream` (the registry passes it
 * through to the client), an in-memory Writable that keeps every chunk; read back by parsing
 * the NDJSON lines it received. (test/sinks-stdout also runs the sink in a child process and
 * reads its real stdout.) No server, no deduplication.
 */
import { Writable } from 'node:stream';
import type { DeliveryRecord } from '../../../src/delivery/protocol-client.ts';
import { createStdoutClient } from '../../../src/sinks/stdout/index.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';
import type { Destination } from '../destination.ts';
import { deliveryRecord, makeGroup } from '../records.ts';

/** A Writable that keeps what it is given, as text. */
export class CollectingStream extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

export function stdoutDestination(): Destination {
  let stream: CollectingStream | undefined;
  const quiet = captureLogger('error').logger;
  const running = (): CollectingStream => {
    if (stream === undefined) throw new Error('the stdout destination is not started');
    return stream;
  };

  return {
    name: 'stdout',
    dedupes: false,
    async start() {
      stream = new CollectingStream();
    },
    async stop() {
      stream = undefined;
    },
    sinkConfig() {
      return { type: 'flusher_stdout', format: 'json', stream: running() };
    },
    async readBack() {
      return running()
        .text.split('\n')
        .filter((line) => line !== '')
        .map((line) => ({ seq: (JSON.parse(line) as { contents: { seq: string } }).contents.seq }));
    },
    permanentCases() {
      return [
        {
          name: 'a record whose payload is not a LogGroup',
          client: () => createStdoutClient({ stream: running(), logger: quiet }),
          record: (): DeliveryRecord => ({ ...deliveryRecord(makeGroup('bad', 1), 1), payload: Buffer.from([0x0a, 0xff, 0xff]) }),
        },
      ];
    },
  };
}
