import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCodes, isWalshipError } from '../../src/errors.ts';
import { repairWal, type WalOptions, type WalRecord, WriteAheadLog } from '../../src/wal/index.ts';
import { diskFullError, ioError, SpyOpener } from '../helpers/spy-store.ts';
import { tempDir } from '../helpers/tmpdir.ts';

const quiet = { logger: (await import('pino')).pino({ level: 'silent' }) };

function open(dir: string, options: Partial<WalOptions> = {}): Promise<WriteAheadLog> {
  return WriteAheadLog.open({ dir, ...quiet, ...options });
}

function payload(n: number, size = 64): Buffer {
  const b = Buffer.alloc(size, n % 251);
  b.writeUInt32BE(n, 0);
  return b;
}

async function appendMany(wal: WriteAheadLog, count: number, size = 64): Promise<void> {
  for (let i = 0; i < count; i++) await wal.append([{ payload: payload(i, size) }]);
}

async function readAll(wal: WriteAheadLog): Promise<WalRecord[]> {
  const out: WalRecord[] = [];
  const { pendingRecords } = await wal.stats();
  while (out.length < pendingRecords) out.push(...(await wal.nextBatch(1000, Number.POSITIVE_INFINITY)));
  return out;
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isWalshipError(err), `expected a WalshipError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('WAL W1: an append resolves only after its records are stored with the configured durability', () => {
  it("passes sync: true to LevelDB for every batch carrying appends with sync: 'always'", async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener });
    await Promise.all(Array.from({ length: 20 }, (_, i) => wal.append([{ payload: payload(i) }])));
    await wal.append([{ payload: payload(99) }]);
    const batches = spy.appendBatches();
    assert.ok(batches.length > 0);
    assert.ok(batches.every((b) => b.sync), 'every append batch was synced');
    await wal.close();
  });

  it("passes sync: false with 'never'", async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener, sync: 'never' });
    await appendMany(wal, 5);
    assert.ok(spy.appendBatches().every((b) => !b.sync));
    await wal.close();
  });

  it("writes appends at once with 'interval' and fsyncs within the interval", async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener, sync: 'interval', syncIntervalMs: 20 });
    await appendMany(wal, 3);
    assert.ok(spy.appendBatches().every((b) => !b.sync));
    const after = spy.batches.length;
    await new Promise((r) => setTimeout(r, 80));
    const synced = spy.batches.slice(after).filter((b) => b.sync);
    assert.ok(synced.length >= 1, 'a synced write followed the unsynced appends');
    assert.ok(synced.every((b) => b.ops.some((op) => op.key.toString() === 'meta!sync')));
    await wal.close();
  });

  it('shares one LevelDB batch among concurrent appends (group commit)', async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener });
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => wal.append([{ payload: payload(i) }])));
    const batches = spy.appendBatches();
    assert.ok(batches.length < 64 / 4, `64 concurrent appends took ${batches.length} batches`);
    const seqs = results.map((r) => r.firstSeq).sort((a, b) => a - b);
    assert.deepEqual(seqs, Array.from({ length: 64 }, (_, i) => i + 1), 'each append got its own sequence number');
    await wal.close();
  });

  it('rejects the appends a failed write covered, and every later one, with the mapped code (sticky)', async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener, recoverDelayMs: 60_000 });
    await appendMany(wal, 3);
    spy.failWrites = ioError();
    const covered = Promise.all([wal.append([{ payload: payload(10) }]), wal.append([{ payload: payload(11) }])]);
    await rejectsWithCode(covered, ErrorCodes.WAL_IO);
    spy.failWrites = undefined;
    // The cause is gone, but LevelDB's errors are sticky: nothing is accepted until a reopen.
    await rejectsWithCode(wal.append([{ payload: payload(12) }]), ErrorCodes.WAL_IO);
    assert.equal(wal.state, 'failed');
    await wal.recover();
    assert.equal(wal.state as string, 'open');
    await wal.append([{ payload: payload(13) }]);
    const records = await readAll(wal);
    assert.deepEqual(
      records.map((r) => r.payload.readUInt32BE(0)),
      [0, 1, 2, 13],
      'the records stored before the error are intact, the rejected ones are absent',
    );
    await wal.close();
  });

  it('reports a full disk as WALSHIP_DISK_FULL and accepts again on its own once space returns', async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener, recoverDelayMs: 20, recoverMaxDelayMs: 40 });
    spy.failWrites = diskFullError();
    await rejectsWithCode(wal.append([{ payload: payload(1) }]), ErrorCodes.DISK_FULL);
    const stats = await wal.stats();
    assert.equal(stats.failure?.code, ErrorCodes.DISK_FULL);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(wal.state, 'failed', 'still failed while the disk is full (the reopen writes and fails)');
    spy.failWrites = undefined;
    const deadline = Date.now() + 5000;
    while ((wal.state as string) !== 'open' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(wal.state as string, 'open');
    await wal.append([{ payload: payload(2) }]);
    assert.equal((await wal.stats()).pendingRecords, 1);
    await wal.close();
  });
});

describe('WAL W2: a record leaves only by an acknowledgement or an atomic move', () => {
  it('hands records out in order and deletes only the acknowledged ones', async () => {
    const dir = tempDir();
    let wal = await open(dir);
    await appendMany(wal, 10);
    const records = await readAll(wal);
    assert.deepEqual(
      records.map((r) => r.seq),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    await wal.ack([records[7], records[2], records[0], records[1]] as WalRecord[]);
    assert.equal((await wal.stats()).ackFloor, 4, 'the floor stops at the first unacknowledged record');
    await wal.close();
    wal = await open(dir);
    const again = await readAll(wal);
    assert.deepEqual(
      again.map((r) => r.seq),
      [4, 5, 6, 7, 9, 10],
    );
    await wal.close();
  });

  it('ignores a second ack of the same record and an ack from before a reopen', async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener });
    await appendMany(wal, 3);
    const [a, b] = await wal.nextBatch(2, Number.POSITIVE_INFINITY);
    await wal.ack([a as WalRecord]);
    await wal.ack([a as WalRecord]);
    assert.equal((await wal.stats()).pendingRecords, 2);
    spy.failWrites = ioError();
    await rejectsWithCode(wal.append([{ payload: payload(9) }]), ErrorCodes.WAL_IO);
    spy.failWrites = undefined;
    await wal.recover();
    await wal.ack([b as WalRecord]); // handed out before the reopen: ignored, handed out again
    const stats = await wal.stats();
    assert.equal(stats.pendingRecords, 2);
    assert.deepEqual(
      (await readAll(wal)).map((r) => r.seq),
      [2, 3],
    );
    assert.deepEqual((await wal.check()).consistent, true);
    await wal.close();
  });

  it('moves a dead letter in one batch that deletes the record and stores it with its reason', async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener, clock: () => 1234 });
    await appendMany(wal, 2);
    const [first] = await wal.nextBatch(1, Number.POSITIVE_INFINITY);
    await wal.deadLetter(first as WalRecord, 'http 400: field Time missing');
    const move = spy.batches.at(-1);
    assert.ok(move);
    const kinds = move.ops.map((op) => `${op.type} ${op.key.toString('latin1').slice(0, 4)}${op.key.length}`);
    assert.ok(kinds.includes('del rec!12'), 'the record is deleted…');
    assert.ok(kinds.includes('put dlq!12'), '…and stored as a dead letter…');
    assert.ok(kinds.includes('put meta12'), '…with the settled counters, in the same batch');
    const [letter] = await wal.listDeadLetters();
    assert.equal(letter?.reason, 'http 400: field Time missing');
    assert.equal(letter?.movedAt, 1234);
    assert.equal(letter?.idempotencyKey, first?.idempotencyKey);
    assert.deepEqual(Buffer.from(letter?.payload ?? []), payload(0));
    const stats = await wal.stats();
    assert.equal(stats.deadLetterRecords, 1);
    assert.equal(stats.pendingRecords, 1);
    assert.equal(stats.ackFloor, 2);
    await wal.close();
  });

  it('replays dead letters under their original idempotency keys, and purges them', async () => {
    const wal = await open(tempDir());
    await appendMany(wal, 3);
    const records = await wal.nextBatch(3, Number.POSITIVE_INFINITY);
    await wal.deadLetter(records[0] as WalRecord, 'rejected');
    await wal.deadLetter(records[2] as WalRecord, 'rejected');
    await wal.ack([records[1] as WalRecord]);
    assert.equal(await wal.replayDeadLetters(), 2);
    const replayed = await readAll(wal);
    assert.deepEqual(
      replayed.map((r) => r.idempotencyKey),
      [records[0]?.idempotencyKey, records[2]?.idempotencyKey],
    );
    assert.deepEqual(
      replayed.map((r) => r.seq),
      [4, 5],
      'replayed records get new sequence numbers at the end',
    );
    await wal.deadLetter(replayed[0] as WalRecord, 'rejected again');
    assert.equal(await wal.purgeDeadLetters(), 1);
    const stats = await wal.stats();
    assert.equal(stats.deadLetterRecords, 0);
    assert.equal(stats.deadLetterBytes, 0);
    assert.equal((await wal.check()).consistent, true);
    await wal.close();
  });
});

describe('WAL W3: what was appended survives a restart', () => {
  it('redelivers records handed out but not acknowledged before the close, in order', async () => {
    const dir = tempDir();
    let wal = await open(dir);
    await appendMany(wal, 5);
    const handedOut = await wal.nextBatch(3, Number.POSITIVE_INFINITY);
    await wal.ack([handedOut[1] as WalRecord]);
    await wal.close();
    wal = await open(dir);
    assert.deepEqual(
      (await readAll(wal)).map((r) => r.seq),
      [1, 3, 4, 5],
    );
    await wal.close();
  });

  it('commits checkpoints in the same batch as the records they cover', async () => {
    const spy = new SpyOpener();
    const dir = tempDir();
    let wal = await open(dir, { storeOpener: spy.opener });
    await wal.append([{ payload: payload(1) }], { checkpoints: [{ key: 'file:/var/log/a', value: 'offset=100' }] });
    const batch = spy.appendBatches().at(-1);
    assert.ok(batch?.ops.some((op) => op.key.toString() === 'ckpt!file:/var/log/a'));
    await wal.close();
    wal = await open(dir);
    assert.equal((await wal.getCheckpoint('file:/var/log/a'))?.toString(), 'offset=100');
    assert.equal(await wal.getCheckpoint('missing'), undefined);
    await wal.close();
  });
});

describe('WAL W4: counters travel with every change, so open never scans', () => {
  it('writes the counters in every batch it writes', async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener });
    await appendMany(wal, 4);
    const records = await readAll(wal);
    await wal.ack(records.slice(0, 2));
    await wal.deadLetter(records[2] as WalRecord, 'x');
    const writes = spy.batches.filter((b) => b.ops.some((op) => !op.key.toString().startsWith('meta!state')));
    assert.ok(writes.length >= 6);
    for (const b of writes) {
      const appends = b.ops.some((op) => op.type === 'put' && op.key.length === 12 && op.key.toString('latin1').startsWith('rec!'));
      const settles = b.ops.some((op) => op.type === 'del' && op.key.length === 12) || b.ops.some((op) => op.key.toString().startsWith('dlq!'));
      const tailMark = b.ops.some((op) => op.type === 'put' && op.key.length === 13);
      const settledMark = b.ops.some((op) => op.type === 'put' && op.key.toString() === 'meta!settled');
      if (appends) assert.ok(tailMark, 'a batch that appends carries a new tail mark');
      if (settles) assert.ok(settledMark, 'a batch that settles records carries the settled mark');
    }
    await wal.close();
  });

  it('opens a cleanly closed WAL with one reverse seek, whatever the backlog', async () => {
    const dir = tempDir();
    let wal = await open(dir, { sync: 'never' });
    await wal.append(Array.from({ length: 5000 }, (_, i) => ({ payload: payload(i) })));
    await wal.close();
    const spy = new SpyOpener();
    wal = await open(dir, { storeOpener: spy.opener });
    // One seek to the newest tail mark, and one read of the stored batch compositions (as
    // many as were in flight, here none): nothing that grows with the backlog.
    const ranges = spy.iterators.map((it) => String(it.gte?.toString('latin1').slice(0, 4)));
    assert.deepEqual(ranges.sort(), ['bat!', 'rec!']);
    const seek = spy.iterators.find((it) => it.reverse === true);
    assert.equal(seek?.limit, 1);
    assert.equal((await wal.stats()).pendingRecords, 5000);
    await wal.close();
  });

  it('checks an uncleanly closed WAL with a few bounded seeks and recounts only on a mismatch', async () => {
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `const { WriteAheadLog } = await import(${JSON.stringify(new URL('../../src/wal/index.ts', import.meta.url).href)});
         const wal = await WriteAheadLog.open({ dir: ${JSON.stringify(dir)} });
         await wal.append(Array.from({ length: 3000 }, () => ({ payload: Buffer.alloc(50) })));
         process.stdout.write('ready\\n');
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const spy = new SpyOpener();
    const wal = await open(dir, { storeOpener: spy.opener });
    assert.ok(spy.iterators.length <= 3, `open used ${spy.iterators.length} iterators`);
    assert.equal((await wal.stats()).pendingRecords, 3000);
    assert.equal((await wal.check()).consistent, true);
    await wal.close();
  });
});

describe('WAL W6: the quota bounds what the WAL holds, and space comes back', () => {
  it('accepts appends while below maxBytes, refuses them at it with WALSHIP_QUOTA_EXCEEDED, and accepts again after acks', async () => {
    const wal = await open(tempDir(), { maxBytes: 10_000 });
    let accepted = 0;
    for (;;) {
      try {
        await wal.append([{ payload: payload(accepted, 900) }]);
        accepted++;
      } catch (err) {
        assert.ok(isWalshipError(err, ErrorCodes.QUOTA_EXCEEDED), String(err));
        break;
      }
    }
    // 940 bytes held per record: 11 appends are accepted (the 11th crosses 10 000), the 12th refused.
    const stats = await wal.stats();
    assert.equal(accepted, 11);
    assert.equal(stats.heldBytes, 11 * 940);
    assert.equal(wal.isOverQuota(), true, 'the append that crossed the quota turned it on');
    const records = await readAll(wal);
    await wal.ack(records.slice(0, 2));
    await wal.append([{ payload: payload(100, 900) }]);
    await wal.close();
  });

  it('turns isOverQuota() true at the quota and false only below the low watermark', async () => {
    // A record with empty metadata holds 40 bytes beside its payload: 960 + 40 = 1000 each.
    const wal = await open(tempDir(), { maxBytes: 10_000, lowWatermark: 0.5 });
    for (let i = 0; i < 9; i++) await wal.append([{ payload: payload(i, 960) }]);
    assert.equal((await wal.stats()).heldBytes, 9000);
    assert.equal(wal.isOverQuota(), false);
    await wal.append([{ payload: payload(9, 960) }]);
    assert.equal((await wal.stats()).heldBytes, 10_000);
    assert.equal(wal.isOverQuota(), true, 'over at the quota');
    const records = await readAll(wal);
    await wal.ack(records.slice(0, 4)); // 6000 held: below the quota, above the watermark
    assert.equal(wal.isOverQuota(), true, 'still over above the low watermark');
    await wal.ack(records.slice(4, 6)); // 4000 held: below the 5000 watermark
    assert.equal(wal.isOverQuota(), false, 'ready again below the low watermark');
    await wal.close();
  });

  it('gives urgent mode the emergency reserve above the quota', async () => {
    const wal = await open(tempDir(), { maxBytes: 20_000, urgentReserve: 0.25 });
    const big = (n: number) => wal.append([{ payload: payload(n, 4_960) }]); // 5000 bytes held each
    for (let i = 0; i < 4; i++) await big(i);
    await rejectsWithCode(big(5), ErrorCodes.QUOTA_EXCEEDED); // 20 000 held: at the quota
    assert.equal(wal.isOverQuota(), true);
    wal.setUrgent(true);
    assert.equal(wal.isOverQuota(), false, 'the reserve counts as room');
    await big(6); // 25 000: exactly the quota plus the reserve
    assert.equal(wal.isOverQuota(), true, 'the reserve is used up');
    await rejectsWithCode(big(7), ErrorCodes.QUOTA_EXCEEDED);
    await wal.close();
  });

  it('refuses a record that could never fit with WALSHIP_RECORD_TOO_LARGE', async () => {
    const wal = await open(tempDir(), { maxBytes: 1000 });
    await rejectsWithCode(wal.append([{ payload: Buffer.alloc(2000) }]), ErrorCodes.RECORD_TOO_LARGE);
    await wal.close();
  });

  it('counts the WAL as over quota while its filesystem is below the free-space floor', async () => {
    let free = 10 * 1024 ** 3;
    const wal = await open(tempDir(), { freeSpace: async () => free, freeSpaceCheckMs: 10, freeSpaceFloor: 1024 ** 3 });
    await wal.append([{ payload: payload(1) }]);
    free = 100 * 1024 ** 2;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(wal.isOverQuota(), true);
    await rejectsWithCode(wal.append([{ payload: payload(2) }]), ErrorCodes.QUOTA_EXCEEDED);
    free = 10 * 1024 ** 3;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(wal.isOverQuota(), false);
    await wal.append([{ payload: payload(3) }]);
    await wal.close();
  });

  it('gives the disk space back after everything is acknowledged and compacted', async () => {
    const dir = tempDir();
    const wal = await open(dir, { sync: 'never', leveldb: { compression: false, writeBufferSize: 1024 * 1024 } });
    const chunk = Array.from({ length: 64 }, (_, i) => ({ payload: payload(i, 16 * 1024) }));
    for (let i = 0; i < 32; i++) await wal.append(chunk); // 32 MiB
    const peak = (await wal.stats()).diskBytes;
    for (;;) {
      const batch = await wal.nextBatch(256, Number.POSITIVE_INFINITY);
      await wal.ack(batch);
      if ((await wal.stats()).pendingRecords === 0) break;
    }
    await wal.compact();
    const after = (await wal.stats()).diskBytes;
    assert.ok(peak > 30 * 1024 * 1024, `peak ${peak}`);
    assert.ok(after <= peak * 0.05, `after compaction ${after} bytes, peak ${peak}`);
    await wal.close();
  });
});

describe('WAL W7: one owner per directory', () => {
  it('gives a second opener in the same process WALSHIP_LOCKED at once', async () => {
    const dir = tempDir();
    const wal = await open(dir);
    await rejectsWithCode(open(dir), ErrorCodes.LOCKED);
    await wal.append([{ payload: payload(1) }]);
    await wal.close();
  });

  it('gives a second process WALSHIP_LOCKED at once, and the owner keeps working', async () => {
    const dir = tempDir();
    const wal = await open(dir);
    const started = Date.now();
    const out = await new Promise<string>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `const { WriteAheadLog } = await import(${JSON.stringify(new URL('../../src/wal/index.ts', import.meta.url).href)});
           try { await WriteAheadLog.open({ dir: ${JSON.stringify(dir)} }); console.log('opened'); }
           catch (e) { console.log(e.code); }`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let text = '';
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
      });
      child.on('close', () => resolve(text.trim()));
    });
    assert.equal(out, ErrorCodes.LOCKED);
    assert.ok(Date.now() - started < 10_000);
    await wal.append([{ payload: payload(1) }]);
    assert.equal((await wal.stats()).pendingRecords, 1);
    await wal.close();
  });

  it('creates the WAL directory with mode 0700', async () => {
    const dir = join(tempDir(), 'nested', 'wal');
    const wal = await open(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    await wal.close();
  });
});

describe('WAL W8: every WAL has its own walId, part of every idempotency key', () => {
  it('keys records <walId>-<seq> and keeps the walId across a reopen', async () => {
    const dir = tempDir();
    let wal = await open(dir);
    const id = wal.walId;
    assert.match(id, /^[0-9a-f]{16}$/);
    await appendMany(wal, 2);
    const [r] = await wal.nextBatch(1, Number.POSITIVE_INFINITY);
    assert.equal(r?.idempotencyKey, `${id}-1`);
    await wal.close();
    wal = await open(dir);
    assert.equal(wal.walId, id);
    await wal.close();
    const other = await open(tempDir());
    assert.notEqual(other.walId, id);
    await other.close();
  });

  it('gives a repaired WAL a new walId and counters that match a scan', async () => {
    const dir = tempDir();
    let wal = await open(dir);
    const id = wal.walId;
    await appendMany(wal, 5);
    await wal.close();
    const report = await repairWal({ dir, ...quiet });
    assert.equal(report.previousWalId, id);
    assert.notEqual(report.walId, id);
    assert.equal(report.pendingRecords, 5);
    wal = await open(dir);
    assert.equal(wal.walId, report.walId);
    assert.equal((await wal.check()).consistent, true);
    const records = await readAll(wal);
    assert.equal(records[0]?.idempotencyKey, `${report.walId}-1`);
    await wal.close();
  });
});

describe('WAL format: every earlier version stays readable', () => {
  for (const version of [1, 2]) {
    it(`opens the committed version-${version} fixture and reads its records, dead letter and checkpoint`, async () => {
      const dir = tempDir();
      cpSync(new URL(`../fixtures/wal-v${version}`, import.meta.url), dir, { recursive: true });
      const wal = await open(dir);
      assert.equal(wal.walId, 'f1x7ure0f1x7ure0');
      const records = await readAll(wal);
      assert.deepEqual(
        records.map((r) => [r.seq, Buffer.from(r.payload).toString()]),
        [
          [2, 'payload-2'],
          [5, 'payload-5'],
          [6, 'payload-6'],
          [7, 'payload-7'],
          [8, 'payload-8'],
          [9, 'payload-9'],
          [10, 'payload-10'],
          [11, 'replayed'],
        ],
      );
      assert.deepEqual(records[0]?.meta, {
        project: 'proj',
        logstore: 'store',
        configName: 'cfg',
        logstoreKey: 2n,
        enqueuedAt: 1_700_000_000_001,
        idempotencyKey: undefined,
      });
      assert.equal(records[0]?.idempotencyKey, 'f1x7ure0f1x7ure0-2');
      assert.equal(records.at(-1)?.idempotencyKey, 'oldwal-42');
      const [letter] = await wal.listDeadLetters();
      assert.equal(letter?.seq, 4);
      assert.equal(letter?.reason, 'http 400: bad request');
      assert.equal((await wal.getCheckpoint('input/file'))?.toString(), 'offset=10');
      assert.equal((await wal.check()).consistent, true);
      const { firstSeq } = await wal.append([{ payload: payload(1) }]);
      assert.equal(firstSeq, 12, 'appends continue after the last sequence number');
      await wal.ack(records);
      await wal.close();
      const again = await open(dir);
      assert.equal((await again.stats()).pendingRecords, 1);
      assert.equal((await again.check()).consistent, true);
      await again.close();
    });
  }
});

describe('WAL reader: bounded read-ahead (D4)', () => {
  it('never reads ahead more than the window, in records or in bytes', async () => {
    const dir = tempDir();
    let wal = await open(dir, { sync: 'never' });
    await wal.append(Array.from({ length: 200 }, (_, i) => ({ payload: payload(i, 1000) })));
    await wal.close();
    wal = await open(dir, { readAheadRecords: 8, readAheadBytes: 4000 });
    const first = await wal.nextBatch(1, Number.POSITIVE_INFINITY);
    const stats = await wal.stats();
    assert.ok(stats.readAheadRecords <= 8 && stats.readAheadBytes <= 4000, JSON.stringify(stats));
    assert.ok(stats.readAheadRecords >= 1, 'it did read ahead');
    let seen = first.length;
    let last = first[0]?.seq ?? 0;
    while (seen < 200) {
      const batch = await wal.nextBatch(3, Number.POSITIVE_INFINITY);
      for (const r of batch) {
        assert.equal(r.seq, last + 1);
        last = r.seq;
      }
      seen += batch.length;
      const s = await wal.stats();
      assert.ok(s.readAheadRecords <= 8 && s.readAheadBytes <= 4000);
    }
    await wal.close();
  });

  it('hands fresh appends to a waiting reader without reading them back', async () => {
    const spy = new SpyOpener();
    const wal = await open(tempDir(), { storeOpener: spy.opener });
    const waiting = wal.next();
    await wal.append([{ payload: payload(7) }]);
    const r = await waiting;
    assert.equal(r?.payload.readUInt32BE(0), 7);
    const iteratorsBefore = spy.iterators.length;
    for (let i = 0; i < 10; i++) {
      const p = wal.next();
      await wal.append([{ payload: payload(i) }]);
      assert.equal((await p)?.payload.readUInt32BE(0), i);
    }
    assert.equal(spy.iterators.length, iteratorsBefore, 'no disk read for records the reader was waiting for');
    await wal.close();
  });
});

describe('WAL lifecycle', () => {
  it('returns the same promise from every close() and rejects appends after it with WALSHIP_CLOSED', async () => {
    const wal = await open(tempDir());
    const waiting = wal.next();
    const a = wal.close();
    const b = wal.close();
    assert.equal(a, b);
    await a;
    assert.equal(await waiting, undefined, 'a waiting reader gets undefined on close');
    assert.equal(wal.state, 'closed');
    await rejectsWithCode(wal.append([{ payload: payload(1) }]), ErrorCodes.CLOSED);
  });

  it('lets appends queued before close() commit', async () => {
    const dir = tempDir();
    let wal = await open(dir);
    const appends = Array.from({ length: 10 }, (_, i) => wal.append([{ payload: payload(i) }]));
    await wal.close();
    await Promise.all(appends);
    wal = await open(dir);
    assert.equal((await wal.stats()).pendingRecords, 10);
    await wal.close();
  });

  it('names the option and what it expected for bad options', async () => {
    await rejectsWithCode(WriteAheadLog.open({ dir: '' }), ErrorCodes.INVALID_OPTIONS);
    await assert.rejects(WriteAheadLog.open({ dir: tempDir(), maxBytes: -1 }), /Expected `maxBytes` to be an integer >= 1, got -1/);
    await assert.rejects(
      WriteAheadLog.open({ dir: tempDir(), sync: 'sometimes' as 'always' }),
      /Expected `sync` to be 'always', 'interval' or 'never', got "sometimes"/,
    );
    await assert.rejects(WriteAheadLog.open({ dir: tempDir(), lowWatermark: 2 }), /lowWatermark/);
  });
});
