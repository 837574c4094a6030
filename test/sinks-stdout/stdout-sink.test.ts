// The stdout sink (iLogtail's flusher_stdout): both formats through an injected stream,
// backpressure (S1), whole batches in order (S2), stream failures (S3), and a child process
// whose real stdout is read. S1–S4: src/sinks/stdout/index.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { LogGroup } from '../../src/model/index.ts';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import { recordToJsonLogs } from '../../src/sinks/http/index.ts';
import '../../src/sinks/builtin.ts';
import { planSink } from '../../src/sinks/registry.ts';
import { createStdoutClient, resolveStdoutSinkOptions, StdoutClient } from '../../src/sinks/stdout/index.ts';
import { CollectingStream, stdoutDestination } from '../conformance/destinations/stdout.ts';
import { deliveryBatch, deliveryRecord, makeGroup } from '../conformance/records.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { rejection } from '../helpers/rejection.ts';

const quiet = captureLogger('error').logger;
const CHILD = new URL('./stdout-child.ts', import.meta.url).pathname;

/** A slow reader: a tiny buffer, and each chunk is held until `release()`. */
class HeldStream extends Writable {
  readonly chunks: string[] = [];
  private held: Array<() => void> = [];
  constructor() {
    super({ highWaterMark: 16 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    this.held.push(() => callback());
  }
  get waiting(): number {
    return this.held.length;
  }
  release(): void {
    const next = this.held.shift();
    next?.();
  }
}

/** Lets every pending callback and I/O event run once. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('stdout sink options', () => {
  it("writes JSON to process.stdout by default; target 'stderr' and an injected stream are the alternatives", () => {
    const o = resolveStdoutSinkOptions({ logger: quiet });
    assert.deepEqual([o.format, o.stream === process.stdout, o.name], ['json', true, 'stdout']);
    assert.equal(resolveStdoutSinkOptions({ target: 'stderr', logger: quiet }).stream, process.stderr);
    const s = new CollectingStream();
    assert.equal(resolveStdoutSinkOptions({ stream: s, logger: quiet }).stream, s);
  });

  it('rejects a bad option with a message naming it', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ format: 'yaml' }, /`format` to be 'json' or 'text', got "yaml"/],
      [{ target: 'stdin' }, /`target` to be 'stdout' or 'stderr', got "stdin"/],
      [{ stream: {} }, /`stream` to be a Writable stream, got an object/],
      [{ stream: new CollectingStream(), target: 'stdout' }, /`stream` and `target`/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => resolveStdoutSinkOptions({ ...options, logger: quiet } as never),
        (err: unknown) => err instanceof WalshipError && err.code === ErrorCodes.INVALID_OPTIONS && message.test(err.message),
        message.source,
      );
    }
  });

  it('is registered as stdout and flusher_stdout, passing an injected stream through', async () => {
    const stream = new CollectingStream();
    const plan = planSink({ type: 'flusher_stdout', format: 'text', stream }, quiet);
    const client = plan.clients[0] as StdoutClient;
    assert.ok(client instanceof StdoutClient);
    assert.equal(client.options.stream, stream);
    assert.equal(client.options.format, 'text');
    await client.close();
  });
});

describe('stdout sink', () => {
  it("writes one JSON object per log with format 'json', the HTTP ndjson shape", async () => {
    const stream = new CollectingStream();
    const client = createStdoutClient({ stream, logger: quiet });
    const records = [1, 2].map((i) => deliveryRecord(makeGroup(`j${i}`, 2), i));
    await client.connect(1000);
    assert.deepEqual(await client.publishEvents(deliveryBatch(records)), []);
    await client.close();
    const lines = stream.text.split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      records.flatMap((r) => recordToJsonLogs(r)),
    );
  });

  it("writes one readable line per log with format 'text': time, project/logstore, contents, topic, source, tags", async () => {
    const stream = new CollectingStream();
    const client = createStdoutClient({ stream, format: 'text', logger: quiet });
    const group: LogGroup = {
      topic: 'web',
      source: '10.0.0.1',
      logTags: [{ key: '__pack_id__', value: 'AB-1' }],
      logs: [
        { time: 1_700_000_000, contents: [{ key: 'level', value: 'info' }, { key: 'msg', value: 'hello world' }] },
        { time: 1_700_000_001, timeNs: 5, contents: [{ key: 'msg', value: 'two\nlines "quoted"' }, { key: 'empty', value: '' }] },
      ],
    };
    await client.publishEvents(deliveryBatch([deliveryRecord(group, 1, { project: 'p', logstore: 's' })]));
    await client.close();
    assert.equal(
      stream.text,
      '2023-11-14T22:13:20Z p/s level=info msg="hello world" __topic__=web __source__=10.0.0.1 __tag__:__pack_id__=AB-1\n' +
        '2023-11-14T22:13:21.000000005Z p/s msg="two\\nlines \\"quoted\\"" empty="" __topic__=web __source__=10.0.0.1 __tag__:__pack_id__=AB-1\n',
    );
  });

  it("waits for 'drain' before acknowledging, and writes the next batch only after it (S1, S2)", async () => {
    const stream = new HeldStream();
    const client = createStdoutClient({ stream, logger: quiet });
    let firstAcked = false;
    let secondAcked = false;
    const first = client.publishEvents(deliveryBatch([deliveryRecord(makeGroup('b1', 2), 1)])).then(() => {
      firstAcked = true;
    });
    const second = client.publishEvents(deliveryBatch([deliveryRecord(makeGroup('b2', 2), 2)])).then(() => {
      secondAcked = true;
    });
    await turn();
    await turn();
    assert.equal(stream.chunks.length, 1, 'one batch handed to the stream');
    assert.equal(firstAcked, false, 'not acknowledged while the reader holds the chunk');
    assert.equal(stream.writableNeedDrain, true, 'the write filled the buffer');
    stream.release();
    await first;
    assert.equal(firstAcked, true);
    await turn();
    assert.equal(stream.chunks.length, 2, 'the second batch follows once the first drained');
    assert.equal(secondAcked, false);
    stream.release();
    await second;
    assert.ok(stream.chunks[0]!.includes('"b1-0"') && stream.chunks[1]!.includes('"b2-0"'), 'whole batches, in order');
    await client.close();
  });

  it("waits for 'drain', not only for its own chunk, when another writer shares the stream (S1)", async () => {
    const stream = new HeldStream();
    const client = createStdoutClient({ stream, logger: quiet });
    let acked = false;
    const publish = client.publishEvents(deliveryBatch([deliveryRecord(makeGroup('s1', 1), 1)])).then(() => {
      acked = true;
    });
    await turn();
    stream.write('another writer (console.log, pino) queued behind the batch\n');
    stream.release(); // the batch's chunk is written...
    await turn();
    await turn();
    assert.equal(stream.waiting, 1, "the other writer's chunk is being written");
    assert.equal(acked, false, '...but the stream is still over its high-water mark: no ack yet');
    stream.release();
    await publish;
    assert.equal(acked, true);
    await client.close();
  });

  it('reports a broken stream (EPIPE) as retryable without crashing, and a closed one as retryable (S3)', async () => {
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const logs = captureLogger('warn');
    const client = createStdoutClient({ stream: broken, logger: logs.logger });
    await client.connect(1000);
    const err = await rejection(client.publishEvents(deliveryBatch([deliveryRecord(makeGroup('e', 1), 1)])));
    assert.deepEqual([err.kind, err.reason], ['retryable', 'epipe']);
    assert.equal(client.isConnected(), false);
    assert.ok(logs.lines.some((l) => l.msg === 'the output stream failed'), 'the stream error was handled and logged');
    await client.close();

    const gone = new CollectingStream();
    gone.destroy();
    const closed = createStdoutClient({ stream: gone, logger: quiet });
    assert.equal((await rejection(closed.connect(1000))).reason, 'stream_closed');
    assert.equal((await rejection(closed.publishEvents(deliveryBatch([deliveryRecord(makeGroup('e', 1), 1)])))).kind, 'retryable');
    await closed.close();
  });

  it('refuses an undecodable record for good, and every call after close() as retryable', async () => {
    const stream = new CollectingStream();
    const client = createStdoutClient({ stream, logger: quiet });
    const record = { ...deliveryRecord(makeGroup('x', 1), 1), payload: Buffer.from([0x0a, 0xff]) };
    const err = await rejection(client.publishEvents(deliveryBatch([record])));
    assert.deepEqual([err.kind, err.reason, err.code], ['permanent', 'invalid_payload', ErrorCodes.DELIVERY_REJECTED]);
    await client.close();
    await client.close();
    assert.equal((await rejection(client.publishEvents(deliveryBatch([record])))).reason, 'closed');
    assert.equal(stream.text, '');
  });

  for (const format of ['json', 'text'] as const) {
    it(`writes every log a flusher drains to the real stdout of a child process (${format})`, async () => {
      const groups = 40;
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, tempDir('walship-stdout-wal'), format, String(groups)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 0, err);
      const lines = out.split('\n').filter((l) => l !== '');
      const seqs =
        format === 'json'
          ? lines.map((l) => (JSON.parse(l) as { contents: { seq: string } }).contents.seq)
          : lines.map((l) => /\sseq=(\S+)\s/.exec(l)?.[1]);
      const expected = Array.from({ length: groups }, (_, g) => [0, 1, 2, 3, 4].map((i) => `c${g}-${i}`)).flat();
      assert.equal(seqs.length, expected.length);
      assert.deepEqual(new Set(seqs), new Set(expected));
      if (format === 'text') assert.ok(lines.every((l) => l.includes(' proj/store seq=')), lines[0]);
    });
  }

  it('reads back and refuses through the conformance destination adapter', async () => {
    const dest = stdoutDestination();
    await dest.start();
    try {
      const { clients } = planSink(dest.sinkConfig(), quiet);
      const batch = deliveryBatch([deliveryRecord(makeGroup('ad', 2), 1)]);
      await clients[0]!.connect(1000);
      await clients[0]!.publishEvents(batch);
      await clients[0]!.publishEvents(batch);
      await clients[0]!.close();
      assert.deepEqual(
        (await dest.readBack()).map((e) => e.seq),
        ['ad-0', 'ad-1', 'ad-0', 'ad-1'],
      );
      for (const c of dest.permanentCases()) {
        const client = c.client();
        await client.connect(1000);
        assert.equal((await rejection(client.publishEvents(deliveryBatch([c.record()])))).kind, 'permanent', c.name);
        await client.close();
      }
    } finally {
      await dest.stop();
    }
  });
});
