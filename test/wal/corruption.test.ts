/**
 * Corruption on purpose (W5, W8), the way Vector's disk buffer tests do it: damage a record's
 * value, a LevelDB table file, the MANIFEST and CURRENT, then check that the WAL quarantines
 * what fails its CRC, turns what LevelDB reports into `WALSHIP_WAL_CORRUPT` with the repair
 * command in the message, never crashes or hangs, and that `repairWal` gives back what is
 * readable under a new walId.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import {
  classicLevelOpener,
  repairWal,
  type StoreOpener,
  type WalOptions,
  type WalRecord,
  WriteAheadLog,
} from '../../src/wal/index.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { checkPayload, makePayload } from '../helpers/payload.ts';

const TEST_TIMEOUT_MS = 60_000;
/** For the WALs a test does not assert the log of. */
const quiet = pino({ level: 'silent' });
/** A read that waits this long while records are pending counts as a hang. */
const READ_TIMEOUT_MS = 3_000;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'walship-corruption-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `rec!` + the sequence number as 8 bytes big-endian: the frozen key layout (see src/wal/index.ts). */
function recordKey(seq: number): Buffer {
  const key = Buffer.alloc(12);
  key.write('rec!', 0, 'ascii');
  key.writeUInt32BE(Math.floor(seq / 2 ** 32), 4);
  key.writeUInt32BE(seq >>> 0, 8);
  return key;
}

/** Payload number `i` (0-based) of a test WAL: identity `0.0.i`, `size` bytes. */
function payload(i: number, size: number): Buffer {
  return makePayload({ run: 0, appender: 0, counter: i }, size);
}

/** Appends `count` records of `size` bytes in batches of `perAppend`; returns their seqs. */
async function appendRecords(wal: WriteAheadLog, count: number, size: number, perAppend = 50): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i += perAppend) {
    const n = Math.min(perAppend, count - i);
    const r = await wal.append(Array.from({ length: n }, (_, j) => ({ payload: payload(i + j, size) })));
    for (let s = r.firstSeq; s <= r.lastSeq; s++) seqs.push(s);
  }
  return seqs;
}

interface ReadOutcome {
  readonly records: WalRecord[];
  /** Set when a read rejected. */
  readonly error: unknown;
  /** Set when a read waited READ_TIMEOUT_MS while the counters said records were pending. */
  readonly hung: boolean;
}

/**
 * Reads until every pending record has been handed out or quarantined, a read rejects, or a
 * read waits READ_TIMEOUT_MS with records still pending (a hang: the reader lost its way).
 */
async function readEverything(wal: WriteAheadLog, expected: number): Promise<ReadOutcome> {
  const records: WalRecord[] = [];
  for (;;) {
    await wal.idle();
    const { quarantineRecords } = await wal.stats();
    if (records.length + quarantineRecords >= expected) return { records, error: undefined, hung: false };
    // A referenced timer (AbortSignal.timeout's is not): a reader waiting on nothing must not
    // let the event loop drain, or the test runner cancels the test instead of failing it.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('read timed out')), READ_TIMEOUT_MS);
    try {
      records.push(...(await wal.nextBatch(64, 64 * 1024 * 1024, timeout.signal)));
    } catch (err) {
      if (timeout.signal.aborted) return { records, error: undefined, hung: true };
      return { records, error: err, hung: false };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Every record is in increasing seq order and carries the payload its seq was written with. */
function assertInOrderAndIntact(records: readonly WalRecord[], payloadIndexOfSeq: (seq: number) => number): void {
  let prev = 0;
  for (const r of records) {
    assert.ok(r.seq > prev, `seq ${r.seq} handed out after ${prev}`);
    prev = r.seq;
    const check = checkPayload(r.payload);
    assert.ok(check.ok, `seq ${r.seq}: ${check.ok ? '' : check.problem}`);
    assert.equal(check.id.counter, payloadIndexOfSeq(r.seq), `seq ${r.seq} holds payload ${check.id.counter}`);
  }
}

function assertCorruptError(err: unknown, what: string): asserts err is WalshipError {
  assert.ok(err instanceof WalshipError, `${what}: expected a WalshipError, got ${String(err)}`);
  assert.equal(err.code, ErrorCodes.WAL_CORRUPT, `${what}: ${err.message}`);
  assert.match(err.message, /walship wal repair/, `${what}: the message must name the repair command`);
}

function describeSeqs(seqs: readonly number[]): string {
  return seqs.length <= 10 ? seqs.join(', ') : `${seqs.slice(0, 10).join(', ')}, … (${seqs.length})`;
}

// ── a. A flipped byte in one stored record value ─────────────────────────────────────────

/** Wraps the real opener; flips one byte of the value put under `key`, in a copy. */
function corruptingOpener(key: Buffer, at: (valueLength: number) => number): StoreOpener {
  return (location, options) => {
    const store = classicLevelOpener(location, options);
    return {
      ...store,
      batch: (ops, opts) =>
        store.batch(
          ops.map((op) => {
            if (op.type !== 'put' || !op.key.equals(key)) return op;
            // A copy: the WAL keeps the original envelope in memory for its own reader.
            const value = Buffer.from(op.value);
            const i = at(value.length);
            value[i] = (value[i] as number) ^ 0x5a;
            return { ...op, value };
          }),
          opts,
        ),
    };
  };
}

describe('corruption inside a record value (W5)', () => {
  it(
    'W5: a record whose stored value fails its CRC32C is quarantined with the reason, counted and logged, and every other record is delivered in order',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await withTempDir(async (dir) => {
        const count = 50;
        const target = 17;
        const base: WalOptions = { dir, leveldb: { compression: false }, logger: quiet };
        const writer = await WriteAheadLog.open({
          ...base,
          // The byte flipped is in the middle of the value: the LogGroup payload.
          storeOpener: corruptingOpener(recordKey(target), (n) => Math.floor(n / 2)),
        });
        const seqs = await appendRecords(writer, count, 1000, 7);
        assert.deepEqual(seqs, Array.from({ length: count }, (_, i) => i + 1));
        const walId = writer.walId;
        await writer.close();

        const { logger, lines } = captureLogger();
        const wal = await WriteAheadLog.open({ ...base, logger });
        try {
          const outcome = await readEverything(wal, count);
          assert.equal(outcome.error, undefined, `the read rejected: ${String(outcome.error)}`);
          assert.equal(outcome.hung, false, `the read hung after ${outcome.records.length} records`);
          assert.deepEqual(
            outcome.records.map((r) => r.seq),
            seqs.filter((s) => s !== target),
          );
          assertInOrderAndIntact(outcome.records, (seq) => seq - 1);

          const check = await wal.check();
          assert.equal(check.consistent, true, JSON.stringify(check));
          const stats = await wal.stats();
          assert.equal(stats.quarantineRecords, 1);
          assert.equal(stats.pendingRecords, count - 1);
          assert.equal(stats.walId, walId, 'a quarantine does not change the walId');
          const quarantined = await wal.listQuarantine();
          assert.equal(quarantined.length, 1);
          assert.equal(quarantined[0]?.seq, target);
          assert.match(quarantined[0]?.reason ?? '', /crc/i);
          assert.ok(
            lines.some((l) => l.seq === target && /quarantined/.test(String(l.msg)) && (l.level as number) >= 40),
            `a warning or error log line names seq ${target}: ${JSON.stringify(lines)}`,
          );

          await wal.ack(outcome.records);
          assert.equal((await wal.check()).consistent, true);
          assert.equal((await wal.stats()).pendingRecords, 0);
        } finally {
          await wal.close();
        }

        // The quarantine is durable: after a reopen it is still there and not redelivered.
        const again = await WriteAheadLog.open(base);
        try {
          const stats = await again.stats();
          assert.equal(stats.pendingRecords, 0);
          assert.equal(stats.quarantineRecords, 1);
          assert.equal((await again.check()).consistent, true);
        } finally {
          await again.close();
        }
      });
    },
  );
});

// ── b. Damage inside a LevelDB table file ────────────────────────────────────────────────

const TABLE_RECORDS = 2000;
const TABLE_RECORD_BYTES = 4096;
const TABLE_OPTIONS = { compression: false, writeBufferSize: 1024 * 1024 } as const;

/**
 * Writes 2000 × 4 KiB records (compression off), compacts and closes, so that they live in
 * table files (appends make disjoint tables that LevelDB moves down whole, so there are
 * several); then XORs `length` bytes in the middle of the largest `.ldb` with 0xff.
 * Returns the walId before the damage.
 */
async function damagedTableWal(dir: string, length: number): Promise<{ walId: string; file: string; offset: number }> {
  const wal = await WriteAheadLog.open({ dir, leveldb: TABLE_OPTIONS, logger: quiet });
  const seqs = await appendRecords(wal, TABLE_RECORDS, TABLE_RECORD_BYTES);
  assert.equal(seqs.length, TABLE_RECORDS);
  const walId = wal.walId;
  await wal.compact();
  await wal.close();

  const db = join(dir, 'db');
  const tables: Array<{ file: string; size: number }> = [];
  for (const name of await readdir(db)) {
    if (name.endsWith('.ldb')) tables.push({ file: join(db, name), size: (await stat(join(db, name))).size });
  }
  tables.sort((x, y) => y.size - x.size);
  const largest = tables[0];
  const total = tables.reduce((a, t) => a + t.size, 0);
  assert.ok(largest !== undefined && total > TABLE_RECORDS * TABLE_RECORD_BYTES * 0.9, `the records live in table files: ${JSON.stringify(tables)}`);
  const offset = Math.floor(largest.size / 2);
  const fh = await open(largest.file, 'r+');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    for (let i = 0; i < length; i++) buf[i] = (buf[i] as number) ^ 0xff;
    await fh.write(buf, 0, length, offset);
  } finally {
    await fh.close();
  }
  return { walId, file: largest.file, offset };
}

/**
 * The contract for a read over damaged tables: it either rejects with WALSHIP_WAL_CORRUPT, or
 * every record is accounted for (handed out in order and intact, or quarantined). A reader
 * that skips records and then waits as if it had caught up is the failure W5 rules out.
 */
async function assertDamagedReadIsLoud(dir: string): Promise<void> {
  const wal = await WriteAheadLog.open({ dir, leveldb: TABLE_OPTIONS, logger: quiet });
  try {
    const outcome = await readEverything(wal, TABLE_RECORDS);
    assertInOrderAndIntact(outcome.records, (seq) => seq - 1);
    if (outcome.error !== undefined) {
      assertCorruptError(outcome.error, 'the read that met the damage');
      assert.equal(wal.state, 'failed');
      return;
    }
    const stats = await wal.stats();
    const delivered = new Set(outcome.records.map((r) => r.seq));
    const quarantined = new Set((await wal.listQuarantine()).map((q) => q.seq));
    const unaccounted: number[] = [];
    for (let seq = 1; seq <= TABLE_RECORDS; seq++) if (!delivered.has(seq) && !quarantined.has(seq)) unaccounted.push(seq);
    assert.equal(
      outcome.hung,
      false,
      `the reader handed out ${outcome.records.length} of ${TABLE_RECORDS} records, quarantined ${stats.quarantineRecords}, ` +
        `raised no error, and then waited ${READ_TIMEOUT_MS} ms although ${stats.pendingRecords - outcome.records.length} records ` +
        `are pending (state ${stats.state}); skipped silently: seq ${describeSeqs(unaccounted)}`,
    );
    assert.deepEqual(unaccounted, []);
    assert.ok(stats.quarantineRecords > 0, 'the damage was noticed');
    assert.equal((await wal.check()).consistent, true);
  } finally {
    await wal.close();
  }
}

describe('corruption inside a LevelDB table file (W5, W8)', () => {
  it(
    'W5: a byte flipped inside a value in a table file fails the record CRC: that record is quarantined and every other one is delivered in order',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await withTempDir(async (dir) => {
        await damagedTableWal(dir, 1);
        await assertDamagedReadIsLoud(dir);
      });
    },
  );

  it(
    'W5: a damaged block in a table file makes the read reject with WALSHIP_WAL_CORRUPT (or quarantines), never skips records silently or hangs',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await withTempDir(async (dir) => {
        // 8 KiB spans at least one whole 4 KiB block: its entry header and trailer are hit.
        await damagedTableWal(dir, 8192);
        await assertDamagedReadIsLoud(dir);
      });
    },
  );

  it(
    'W5: check() over a damaged table file rejects with WALSHIP_WAL_CORRUPT, not with a raw LevelDB error',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await withTempDir(async (dir) => {
        await damagedTableWal(dir, 8192);
        const wal = await WriteAheadLog.open({ dir, leveldb: TABLE_OPTIONS, logger: quiet });
        try {
          const err = await wal.check().then(
            () => undefined,
            (e: unknown) => e,
          );
          assert.notEqual(err, undefined, 'a full scan over the damaged block must not pass');
          assertCorruptError(err, 'check()');
        } finally {
          await wal.close();
        }
      });
    },
  );

  for (const [name, length] of [
    ['a flipped byte in a value', 1],
    ['a damaged block', 8192],
  ] as const) {
    it(
      `W5, W8: after ${name} in a table file, repairWal leaves the surviving records readable in order, counters consistent, and a new walId`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        await withTempDir(async (dir) => {
          const { walId } = await damagedTableWal(dir, length);
          const { logger } = captureLogger();
          const report = await repairWal({ dir, logger });
          assert.equal(report.previousWalId, walId);
          assert.notEqual(report.walId, walId);
          assert.equal(report.pendingBefore, TABLE_RECORDS);
          assert.ok(report.pendingRecords + report.quarantineRecords <= TABLE_RECORDS);
          assert.ok(report.pendingRecords >= TABLE_RECORDS - 10, `most records survive: ${JSON.stringify(report)}`);

          const wal = await WriteAheadLog.open({ dir, leveldb: TABLE_OPTIONS, logger });
          try {
            assert.equal(wal.walId, report.walId, 'W8: the repaired WAL has the new walId');
            assert.equal((await wal.check()).consistent, true);
            const stats = await wal.stats();
            assert.equal(stats.pendingRecords, report.pendingRecords);
            const outcome = await readEverything(wal, stats.pendingRecords + stats.quarantineRecords);
            assert.equal(outcome.error, undefined, `reading the repaired WAL rejected: ${String(outcome.error)}`);
            assert.equal(outcome.hung, false);
            assert.equal(outcome.records.length, report.pendingRecords);
            assertInOrderAndIntact(outcome.records, (seq) => seq - 1);
            assert.ok(outcome.records.every((r) => r.idempotencyKey === `${report.walId}-${r.seq}`), 'W8: keys carry the new walId');
          } finally {
            await wal.close();
          }
        });
      },
    );
  }
});

// ── c, d. A damaged MANIFEST, a CURRENT pointing nowhere ─────────────────────────────────

const META_RECORDS = 200;

/** Writes 200 × 1000 B records with a small write buffer (so some are in tables, some in the log). */
async function smallWal(dir: string): Promise<string> {
  const wal = await WriteAheadLog.open({ dir, leveldb: { compression: false, writeBufferSize: 64 * 1024 }, logger: quiet });
  await appendRecords(wal, META_RECORDS, 1000, 20);
  const walId = wal.walId;
  await wal.close();
  return walId;
}

async function manifestOf(dir: string): Promise<string> {
  const current = (await readFile(join(dir, 'db', 'CURRENT'), 'utf8')).trim();
  assert.match(current, /^MANIFEST-\d+$/);
  return join(dir, 'db', current);
}

const storeDamages: ReadonlyArray<readonly [string, (dir: string) => Promise<void>]> = [
  ['a MANIFEST overwritten with garbage', async (dir) => writeFile(await manifestOf(dir), Buffer.alloc(4096, 0xa5))],
  ['a truncated MANIFEST', async (dir) => truncate(await manifestOf(dir), 10)],
  ['a CURRENT that points to a missing MANIFEST', async (dir) => writeFile(join(dir, 'db', 'CURRENT'), 'MANIFEST-999999\n')],
];

for (const [name, damage] of storeDamages) {
  describe(`a store with ${name} (W5, W8)`, () => {
    it(
      `W5: opening it rejects with WALSHIP_WAL_CORRUPT and a message that names the repair command`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        await withTempDir(async (dir) => {
          await smallWal(dir);
          await damage(dir);
          const err = await WriteAheadLog.open({ dir, logger: quiet }).then(
            async (wal) => {
              await wal.close();
              return undefined;
            },
            (e: unknown) => e,
          );
          assert.notEqual(err, undefined, 'the open must fail');
          assertCorruptError(err, 'WriteAheadLog.open');
          // Not a crash loop: a second open fails the same way, at once.
          const again = await WriteAheadLog.open({ dir, logger: quiet }).then(
            async (wal) => {
              await wal.close();
              return undefined;
            },
            (e: unknown) => e,
          );
          assertCorruptError(again, 'the second WriteAheadLog.open');
        });
      },
    );

    it(
      'W5, W8: repairWal rebuilds it from the table and log files: every record written before is there, in order and intact, counters consistent, new walId',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        await withTempDir(async (dir) => {
          const walId = await smallWal(dir);
          await damage(dir);
          const { logger } = captureLogger();
          const report = await repairWal({ dir, logger });
          assert.equal(report.previousWalId, walId);
          assert.notEqual(report.walId, walId);
          assert.equal(report.pendingRecords, META_RECORDS);
          assert.equal(report.quarantineRecords, 0);

          const wal = await WriteAheadLog.open({ dir, logger });
          try {
            assert.equal(wal.walId, report.walId, 'W8: the repaired WAL has the new walId');
            assert.equal((await wal.check()).consistent, true);
            const outcome = await readEverything(wal, META_RECORDS);
            assert.equal(outcome.error, undefined, `reading the repaired WAL rejected: ${String(outcome.error)}`);
            assert.equal(outcome.hung, false);
            assert.deepEqual(
              outcome.records.map((r) => r.seq),
              Array.from({ length: META_RECORDS }, (_, i) => i + 1),
            );
            assertInOrderAndIntact(outcome.records, (seq) => seq - 1);
            // The repaired WAL works: appends continue after the old sequence numbers.
            const r = await wal.append([{ payload: payload(META_RECORDS, 1000) }]);
            assert.equal(r.firstSeq, META_RECORDS + 1);
          } finally {
            await wal.close();
          }
        });
      },
    );
  });
}
