import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ErrorCodes, isWalshipError } from '../../src/errors.ts';
import { createFlusher, DurableFlusher, type DurableFlusherOptions } from '../../src/flusher/index.ts';
import type { LogGroup } from '../../src/model/index.ts';
import { type Receiver, startReceiver } from '../../src/receiver/index.ts';
import { WriteAheadLog } from '../../src/wal/index.ts';
import { tempDir } from '../helpers/tmpdir.ts';

const logger = pino({ level: 'silent' });
const fastDelivery = { retryMinDelayMs: 5, retryMaxDelayMs: 50 };
const fastMode = { waitRetryMs: 10, maxWaitRetryMs: 100 };

function group(from: number, count: number, pad = 0): LogGroup {
  return {
    logs: Array.from({ length: count }, (_, i) => ({
      time: 1_700_000_000,
      contents: [
        { key: 'seq', value: String(from + i) },
        { key: 'pad', value: 'x'.repeat(pad) },
      ],
    })),
    logTags: [],
  };
}

function seqsOf(receiver: Receiver): Set<number> {
  return new Set(receiver.logs().map((l) => Number(l.contents.seq)));
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A URL where nothing listens: a receiver started and closed again. */
async function deadUrl(): Promise<{ url: string; port: number }> {
  const r = await startReceiver({ logger });
  const { url, port } = r;
  await r.close();
  return { url, port };
}

function options(dir: string, url: string, extra: Partial<DurableFlusherOptions> = {}): DurableFlusherOptions {
  return {
    dir,
    sink: { type: 'http', url, encoding: 'ndjson', probe: false },
    delivery: fastDelivery,
    modeOptions: fastMode,
    logger,
    ...extra,
  };
}

describe('DurableFlusher (F1–F4) against a real receiver', () => {
  it('F1: resolves flush once the groups are durable, and delivers every log', async () => {
    const receiver = await startReceiver({ logger });
    const flusher = await createFlusher(options(tempDir(), receiver.url));
    for (let i = 0; i < 20; i++) await flusher.flush('p', 'store', 'cfg', [group(i * 10, 10)]);
    await until(() => seqsOf(receiver).size === 200);
    await flusher.stop();
    assert.equal(receiver.stats().logs, 200);
    await receiver.close();
  });

  it('F1: rejects a bad group with WALSHIP_INVALID_LOG_GROUP and appends nothing of the call', async () => {
    const dir = tempDir();
    const { url } = await deadUrl();
    const flusher = await createFlusher(options(dir, url));
    const bad = { logs: [{ time: -1, contents: [] }], logTags: [] } as unknown as LogGroup;
    await assert.rejects(flusher.flush('p', 's', 'c', [group(0, 1), bad]), (e: unknown) =>
      isWalshipError(e, ErrorCodes.INVALID_LOG_GROUP),
    );
    assert.equal((await flusher.stats())?.wal.pendingRecords, 0);
    await flusher.stop();
  });

  it('F2: isReady turns false at the quota and true again once delivery drained below the watermark', async () => {
    const dead = await deadUrl();
    const flusher = await createFlusher(
      options(tempDir(), dead.url, { wal: { maxBytes: 64 * 1024, lowWatermark: 0.5 }, whenFull: 'reject' }),
    );
    let appended = 0;
    while (flusher.isReady()) {
      await flusher.flush('p', 's', 'c', [group(appended * 10, 10, 100)]);
      appended++;
    }
    assert.ok(appended > 5, `appended ${appended} groups before the quota`);
    assert.equal(flusher.isReady(), false);
    const receiver = await startReceiver({ logger, port: dead.port });
    await until(() => flusher.isReady());
    await until(() => seqsOf(receiver).size === appended * 10);
    await flusher.stop();
    await receiver.close();
  });

  it("F3: with whenFull 'reject' a full WAL rejects with WALSHIP_QUOTA_EXCEEDED; with 'block' the flush waits for room", async () => {
    const dead = await deadUrl();
    const rejecting = await createFlusher(
      options(tempDir(), dead.url, { wal: { maxBytes: 8 * 1024 }, whenFull: 'reject', stopTimeoutMs: 50 }),
    );
    // ~5.6 KB each: the second crosses the 8 KiB quota, the third is refused.
    await rejecting.flush('p', 's', 'c', [group(0, 10, 500)]);
    await rejecting.flush('p', 's', 'c', [group(10, 10, 500)]);
    assert.equal(rejecting.isReady(), false);
    await assert.rejects(rejecting.flush('p', 's', 'c', [group(20, 10, 500)]), (e: unknown) =>
      isWalshipError(e, ErrorCodes.QUOTA_EXCEEDED),
    );
    await rejecting.stop();

    const blocking = await createFlusher(options(tempDir(), dead.url, { wal: { maxBytes: 8 * 1024 } }));
    await blocking.flush('p', 's', 'c', [group(0, 10, 500)]);
    await blocking.flush('p', 's', 'c', [group(10, 10, 500)]);
    let resolved = false;
    const waiting = blocking.flush('p', 's', 'c', [group(20, 10, 500)]).then(() => {
      resolved = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(resolved, false, 'the flush waits while the WAL is full');
    const receiver = await startReceiver({ logger, port: dead.port });
    await waiting;
    await until(() => seqsOf(receiver).size === 30);
    await blocking.stop();
    await receiver.close();
  });

  it('F4: a stop with the sink down keeps everything in the WAL, and the next start delivers it', async () => {
    const dir = tempDir();
    const dead = await deadUrl();
    let flusher = await createFlusher(options(dir, dead.url, { stopTimeoutMs: 100 }));
    for (let i = 0; i < 10; i++) await flusher.flush('p', 's', 'c', [group(i * 5, 5)]);
    await flusher.stop();
    const wal = await WriteAheadLog.open({ dir, logger });
    assert.equal(wal.pendingRecords, 10);
    await wal.close();

    const receiver = await startReceiver({ logger, port: dead.port });
    flusher = await createFlusher(options(dir, receiver.url));
    await until(() => seqsOf(receiver).size === 50);
    await flusher.stop();
    await receiver.close();
  });

  it('F4: setUrgent then stop under a slow sink loses nothing: each log is delivered or still in the WAL', async () => {
    const dir = tempDir();
    const receiver = await startReceiver({ logger, latencyMs: 150 });
    const flusher = await createFlusher(options(dir, receiver.url, { stopTimeoutMs: 300 }));
    for (let i = 0; i < 30; i++) await flusher.flush('p', 's', 'c', [group(i * 4, 4)]);
    flusher.setUrgent(true);
    await flusher.stop();
    const delivered = seqsOf(receiver);
    const wal = await WriteAheadLog.open({ dir, logger });
    const { decodeLogGroup } = await import('../../src/model/index.ts');
    const kept = new Set<number>();
    for (let n = wal.pendingRecords; n > 0; ) {
      const batch = await wal.nextBatch(64, Number.POSITIVE_INFINITY);
      for (const r of batch) for (const l of decodeLogGroup(r.payload).logs) kept.add(Number(l.contents[0]?.value));
      n -= batch.length;
    }
    await wal.close();
    await receiver.close();
    for (let s = 0; s < 120; s++) assert.ok(delivered.has(s) || kept.has(s), `log ${s} is delivered or still in the WAL`);
  });

  it('F4: stop is idempotent, and calls after it reject with WALSHIP_CLOSED', async () => {
    const { url } = await deadUrl();
    const flusher = await createFlusher(options(tempDir(), url, { stopTimeoutMs: 0 }));
    const a = flusher.stop();
    assert.equal(flusher.stop(), a);
    await a;
    assert.equal(flusher.isReady(), false);
    await assert.rejects(flusher.flush('p', 's', 'c', [group(0, 1)]), (e: unknown) => isWalshipError(e, ErrorCodes.CLOSED));
  });

  it('FlusherV2: export turns event groups into LogGroups with tags and nanoseconds', async () => {
    const receiver = await startReceiver({ logger });
    const flusher = new DurableFlusher(options(tempDir(), receiver.url));
    const ctx = {
      configName: 'cfg',
      project: 'proj',
      logstore: 'events',
      logger,
      saveCheckpoint: async () => {},
      getCheckpoint: async () => undefined,
    };
    await flusher.init(ctx);
    await flusher.export(
      [{ group: { tags: { host: 'a' } }, events: [{ timestampNs: 1_700_000_000_123_000_000n, contents: { msg: 'hi' } }] }],
      ctx,
    );
    await until(() => receiver.logs().length === 1);
    const [log] = receiver.logs();
    assert.equal(log?.contents.msg, 'hi');
    assert.equal(log?.time, 1_700_000_000);
    assert.equal(log?.timeNs, 123_000_000);
    assert.equal(log?.tags.host, 'a');
    assert.equal(log?.logstore, 'events');
    await flusher.stop();
    await receiver.close();
  });

  it('names the option at fault for a bad sink or mode', async () => {
    await assert.rejects(
      createFlusher({ dir: tempDir(), sink: { type: 'kafka' }, logger }),
      /Expected `sink.type` to be one of 'file', 'http', 'nats', 'redis', 'stdout', got 'kafka'/,
    );
    await assert.rejects(
      createFlusher({ dir: tempDir(), sink: { type: 'http', url: 'http://127.0.0.1:1' }, mode: 'roundrobin' as 'single', logger }),
      /Expected `mode` to be 'single', 'failover' or 'loadbalance'/,
    );
    assert.throws(() => new DurableFlusher({ dir: tempDir(), sink: { type: 'http' }, whenFull: 'drop' as 'block' }), /whenFull/);
  });
});
