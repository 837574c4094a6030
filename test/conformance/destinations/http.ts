/**
 * The HTTP sink's destination: walship's receiver (NDJSON in, an NDJSON `out` file and its
 * `.keys` file on disk) in a child process on a fixed port. It deduplicates by idempotency key,
 * also across a restart on the same files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpClient } from '../../../src/sinks/http/index.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';
import { freePort } from '../../helpers/servers/binary.ts';
import type { Destination } from '../destination.ts';
import { deliveryRecord, makeGroup } from '../records.ts';
import { killChild } from '../../helpers/kill-child.ts';

const CHILD = new URL('./receiver-child.ts', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');
/** The receiver refuses bodies over this with 413: the permanent case. */
const MAX_BODY_BYTES = 256 * 1024;

export function httpDestination(): Destination {
  let dir = '';
  let port = 0;
  let child: ChildProcess | undefined;
  const quiet = captureLogger('error').logger;

  const launch = async (): Promise<void> => {
    const proc = spawn(process.execPath, ['--import', TSX, CHILD, String(port), join(dir, 'received.ndjson'), String(MAX_BODY_BYTES)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let text = '';
      proc.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('ready')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`the receiver exited with ${code} before it was ready`)));
    });
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    await killChild(proc);
  };

  return {
    name: 'http',
    dedupes: true,
    async start() {
      dir = mkdtempSync(join(tmpdir(), 'walship-conformance-http-'));
      port = await freePort();
      await launch();
    },
    async stop() {
      await kill();
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill();
      await launch();
    },
    sinkConfig() {
      return { type: 'flusher_http', url: `http://127.0.0.1:${port}/ingest`, encoding: 'ndjson' };
    },
    async readBack() {
      const path = join(dir, 'received.ndjson');
      if (!existsSync(path)) return [];
      return readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const log = JSON.parse(line) as { contents: { seq: string }; idempotencyKey?: string };
          return { seq: log.contents.seq, ...(log.idempotencyKey === undefined ? {} : { key: log.idempotencyKey }) };
        });
    },
    permanentCases() {
      return [
        {
          name: 'a body over the receiver limit (413)',
          client: () => createHttpClient({ url: `http://127.0.0.1:${port}/ingest`, encoding: 'ndjson', logger: quiet }),
          record: () => deliveryRecord(makeGroup('too-big', 4, MAX_BODY_BYTES), 1),
        },
      ];
    },
    configCase: () => ({
      name: 'an SLS logstore that does not exist (404)',
      client: () => createHttpClient({ url: `http://127.0.0.1:${port}`, encoding: 'sls', logger: quiet }),
      record: () => deliveryRecord(makeGroup('no-store', 2), 1, { logstore: 'missing' }),
    }),
  };
}
