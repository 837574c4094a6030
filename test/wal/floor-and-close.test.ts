/**
 * Edges of the reader's ack floor and of close(), found by review:
 * - a record quarantined at read time while lower records still wait in the read-ahead buffer
 *   must not lift the persisted ack floor above them (they would never be handed out again);
 * - a failure while closing must not reopen the store after close() resolved;
 * - close() right after the reader caught up from disk must not report the WAL corrupt.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { pino } from 'pino';
import { ErrorCodes, isWalshipError } from '../../src/errors.ts';
import { WriteAheadLog } from '../../src/wal/index.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { diskFullError, flipLastByteOfRecord, ioError, SpyOpener } from '../helpers/spy-store.ts';
import { tempDir } from '../helpers/tmpdir.ts';

const quiet = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WAL floor and close edges', () => {
  it('a record quarantined ahead of buffered lower ones keeps the ack floor below them (they are delivered after a failed write)', async () => {
    const dir = tempDir();
    const base = { dir, logger: quiet, sync: 'never' as const, freeSpace: async () => 1e12, readAheadRecords: 2, groupCommitMaxBytes: 1024, recoverDelayMs: 50 };
    let wal = await WriteAheadLog.open(base);
    await wal.append(Array.from({ length: 8 }, (_, i) => ({ payload: Buffer.alloc(10, i + 1) }))); // seqs 1..8
    await wal.close();

    const spy = new SpyOpener();
    // Record 4 fails its checksum when read (a flipped byte on disk).
    spy.mapValue = flipLastByteOfRecord(4);
    const { logger, lines } = captureLogger('warn');
    wal = await WriteAheadLog.open({ ...base, storeOpener: spy.opener, logger });
    const first = await wal.nextBatch(2, 1e9); // 1, 2 (a read-ahead window of 2)
    assert.deepEqual(first.map((r) => r.seq), [1, 2]);
    spy.delayNextBatchMs = 200; // the writer is busy with the next batch
    const slow = wal.append([{ payload: Buffer.alloc(10) }]); // seq 9
    await sleep(20);
    const ack = wal.ack(first); // queued behind it
    // Larger than groupCommitMaxBytes: the queue splits after the ack, then this batch fails.
    const big = wal.append([{ payload: Buffer.alloc(4096) }]).then(
      () => 'stored',
      (e: unknown) => (e as { code?: string }).code,
    );
    const got = await wal.nextBatch(1, 1e9); // reads 3, quarantines 4, buffers 5
    assert.deepEqual(got.map((r) => r.seq), [3]);
    spy.beforeBatch = (ops) => {
      if (ops.some((o) => o.type === 'put' && (o.value?.length ?? 0) > 4096)) throw diskFullError();
    };
    await slow;
    await ack;
    assert.ok((await wal.stats()).ackFloor <= 3, `the persisted floor (${(await wal.stats()).ackFloor}) stays at or below record 3, handed out and not acked`);
    assert.equal(await big, ErrorCodes.DISK_FULL);
    spy.beforeBatch = undefined;
    await sleep(300); // the WAL reopens its store and rereads from the persisted floor
    const seen: number[] = [];
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 500);
    try {
      for (;;) {
        const batch = await wal.nextBatch(10, 1e9, stop.signal);
        seen.push(...batch.map((r) => r.seq));
        await wal.ack(batch);
      }
    } catch (err) {
      assert.ok(stop.signal.aborted, String(err));
    }
    assert.deepEqual([...new Set(seen)].sort((a, b) => a - b), [3, 5, 6, 7, 8, 9], 'record 3 is handed out again, nothing skipped');
    assert.equal(wal.pendingRecords, 0);
    assert.equal(wal.state, 'open');
    assert.ok(!lines.some((l) => String(l.code ?? '').includes('WAL_CORRUPT')), 'never declared corrupt');
    await wal.close();
  });

  it('a write failing while close() runs does not reopen the store after close() resolved', async () => {
    const dir = tempDir();
    for (const failure of ['append', 'compaction'] as const) {
      const spy = new SpyOpener();
      const wal = await WriteAheadLog.open({ dir, logger: quiet, storeOpener: spy.opener, recoverDelayMs: 20, sync: 'never' });
      let appended: Promise<unknown> = Promise.resolve();
      if (failure === 'append') {
        appended = wal.append([{ payload: Buffer.alloc(10) }]).catch((e: unknown) => e);
        spy.beforeBatch = (ops) => {
          if (ops.some((o) => o.type === 'put' && o.key.toString('latin1', 0, 4) === 'rec!')) throw ioError();
        };
      } else {
        await wal.ack(await (async () => {
          await wal.append([{ payload: Buffer.alloc(10) }]);
          return wal.nextBatch(10, 1e9);
        })());
        spy.failCompactions = ioError();
      }
      const closed = wal.close();
      await appended;
      await closed;
      spy.beforeBatch = undefined;
      spy.failCompactions = undefined;
      await sleep(150); // several recovery delays
      assert.equal(wal.state, 'closed', failure);
      assert.equal(spy.opens, 1, `${failure}: the store was not reopened`);
      await assert.rejects(wal.append([{ payload: Buffer.alloc(10) }]), (e: unknown) => isWalshipError(e, ErrorCodes.CLOSED));
      await assert.rejects(wal.recover(), (e: unknown) => isWalshipError(e, ErrorCodes.CLOSED));
      if (failure === 'compaction') {
        const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
        await db.open();
        assert.equal(String(await db.get(Buffer.from('meta!state'))), 'open', 'not marked clean: the next open checks the counters');
        await db.close();
      }
      const again = await WriteAheadLog.open({ dir, logger: quiet }); // not WALSHIP_LOCKED
      await again.close();
    }
  });

  it('close() right after the reader caught up from disk, with an append in flight: no false corruption, queued appends commit', async () => {
    const dir = tempDir();
    const base = { dir, logger: quiet, sync: 'never' as const, freeSpace: async () => 1e12 };
    let wal = await WriteAheadLog.open(base);
    await wal.append([{ payload: Buffer.alloc(10) }, { payload: Buffer.alloc(10) }]);
    await wal.close();
    const spy = new SpyOpener();
    const { logger, lines } = captureLogger('warn');
    wal = await WriteAheadLog.open({ ...base, storeOpener: spy.opener, logger });
    spy.delayNextBatchMs = 200;
    const slow = wal.append([{ payload: Buffer.alloc(10) }]); // in flight for 200 ms
    await sleep(20);
    assert.deepEqual((await wal.nextBatch(10, 1e9)).map((r) => r.seq), [1, 2]); // caught up from disk meanwhile
    const queued = wal.append([{ payload: Buffer.alloc(10) }]);
    await wal.close();
    await slow;
    await queued;
    assert.ok(!lines.some((l) => String(l.code ?? '').includes('WAL_CORRUPT')), JSON.stringify(lines));
    wal = await WriteAheadLog.open(base);
    assert.equal(wal.pendingRecords, 4, 'both appends are in the WAL, nothing lost');
    await wal.close();
  });

  it('concurrent purges and replays of the dead letters run one at a time: counts stay right, nothing hangs', async () => {
    const wal = await WriteAheadLog.open({ dir: tempDir(), logger: quiet, sync: 'never', freeSpace: async () => 1e12 });
    await wal.append([{ payload: Buffer.alloc(10) }, { payload: Buffer.alloc(10) }, { payload: Buffer.alloc(10) }]);
    for (const r of await wal.nextBatch(3, 1e9)) await wal.deadLetter(r, 'rejected (test)');
    const [replayed, purged, purgedAgain] = await Promise.all([wal.replayDeadLetters(), wal.purgeDeadLetters(), wal.purgeDeadLetters()]);
    assert.deepEqual([replayed, purged, purgedAgain], [3, 0, 0]);
    const stats = await wal.stats();
    assert.equal(stats.deadLetterRecords, 0);
    assert.equal(stats.pendingRecords, 3, 'the three replayed records are pending again, once');
    await wal.append([{ payload: Buffer.alloc(10) }]);
    assert.equal(wal.state, 'open');
    await wal.close();
  });

  it('tail marks met only after a read stopped at a full read-ahead window are still deleted', async () => {
    const dir = tempDir();
    const options = { dir, logger: quiet, sync: 'never' as const, readAheadRecords: 2 };
    let wal = await WriteAheadLog.open(options);
    for (let i = 0; i < 10; i++) await wal.append([{ payload: Buffer.alloc(10) }]); // 10 batches: 10 tail marks
    await wal.close();
    wal = await WriteAheadLog.open(options);
    while (wal.pendingRecords > 0) await wal.ack(await wal.nextBatch(1, 1e9));
    await wal.append([{ payload: Buffer.alloc(10) }]);
    await wal.ack(await wal.nextBatch(1, 1e9));
    await wal.close();
    const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const left: string[] = [];
    for await (const [key] of db.iterator({ gte: Buffer.from('rec!'), lt: Buffer.from('rec"') })) {
      left.push(`${key.length === 13 ? 'tail' : 'record'} ${key.readUInt32BE(8)}`);
    }
    await db.close();
    assert.deepEqual(left, ['tail 11'], 'only the newest tail mark is kept');
  });

  it('a batch composition overlapping a stored one is not stored (the stored one is not left waiting)', async () => {
    const wal = await WriteAheadLog.open({ dir: tempDir(), logger: quiet, sync: 'never', freeSpace: async () => 1e12 });
    await wal.append(Array.from({ length: 7 }, () => ({ payload: Buffer.alloc(10) })));
    const records = await wal.nextBatch(7, 1e9);
    await wal.fixBatch([5, 6, 7]);
    await wal.fixBatch([3, 4, 5, 6]);
    assert.deepEqual(wal.batchOf(3), undefined);
    await wal.ack(records.filter((r) => r.seq >= 3 && r.seq <= 6));
    assert.deepEqual([...(wal.batchOf(7)?.open ?? [])], [7]);
    await wal.ack(records.filter((r) => r.seq === 7));
    assert.equal(wal.batchOf(7), undefined, 'settled and deleted');
    await wal.close();
  });

  it('a malformed checkpoint is refused on its own, without failing the appends it would have joined', async () => {
    const wal = await WriteAheadLog.open({ dir: tempDir(), logger: quiet, sync: 'never', freeSpace: async () => 1e12 });
    const good = wal.append([{ payload: Buffer.alloc(10) }]);
    const bad = wal.append([{ payload: Buffer.alloc(10) }], { checkpoints: [{ key: 'k', value: 42 as unknown as string }] });
    await assert.rejects(bad, TypeError);
    await good;
    assert.equal(wal.state, 'open');
    assert.equal(wal.pendingRecords, 1);
    await wal.close();
  });
});
