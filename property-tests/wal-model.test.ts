/**
 * Model-based test of the WAL (in the manner of Vector's disk buffer model tests): fast-check
 * drives the real WAL and a plain in-memory model with the same random commands and compares
 * them after each one. Replay a failure with WALSHIP_SEED=<seed> (printed at the start and in
 * fast-check's failure message, with the shrunk path).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { ErrorCodes, isWalshipError } from '../src/errors.ts';
import { type WalRecord, WriteAheadLog } from '../src/wal/index.ts';

const RUNS = Number(process.env.WALSHIP_MODEL_RUNS ?? (process.env.WALSHIP_SOAK ? 1000 : 100));
const SEED = Number(process.env.WALSHIP_SEED ?? Date.now() % 2 ** 31);
const MAX_BYTES = 3 * 1024 * 1024;
const LOW_WATERMARK = 0.9;
/** Bytes a record with empty metadata holds beside its payload (12-byte key, 28-byte header). */
const OVERHEAD = 40;
const logger = pino({ level: 'silent' });

interface ModelRecord {
  readonly seq: number;
  readonly size: number;
  readonly fill: number;
}

class Model {
  nextSeq = 1;
  /** Pending records by seq. */
  readonly pending = new Map<number, ModelRecord>();
  /** Pending seqs handed out by the reader (since the last reopen). */
  readonly handedOut = new Set<number>();
  /** Dead letters by seq, with the bytes each holds. */
  readonly deadLetters = new Map<number, number>();
  overQuota = false;

  held(): number {
    let b = 0;
    for (const r of this.pending.values()) b += r.size + OVERHEAD;
    for (const bytes of this.deadLetters.values()) b += bytes;
    return b;
  }

  unread(): ModelRecord[] {
    return [...this.pending.values()].filter((r) => !this.handedOut.has(r.seq)).sort((a, b) => a.seq - b.seq);
  }
}

interface Real {
  wal: WriteAheadLog;
  readonly dir: string;
  /** Records handed out by the real reader, by seq. */
  readonly out: Map<number, WalRecord>;
}

function payloadOf(r: Pick<ModelRecord, 'size' | 'fill'>): Buffer {
  return Buffer.alloc(r.size, r.fill);
}

function openWal(dir: string): Promise<WriteAheadLog> {
  return WriteAheadLog.open({ dir, logger, maxBytes: MAX_BYTES, lowWatermark: LOW_WATERMARK, sync: 'never' });
}

class AppendCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly sizes: readonly number[], readonly fill: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    // Accepted while below the quota, even if the append crosses it.
    const fits = m.held() < MAX_BYTES;
    const entries = this.sizes.map((size) => ({ payload: payloadOf({ size, fill: this.fill }) }));
    if (!fits) {
      await assert.rejects(r.wal.append(entries), (e: unknown) => isWalshipError(e, ErrorCodes.QUOTA_EXCEEDED));
      return;
    }
    const res = await r.wal.append(entries);
    assert.equal(res.firstSeq, m.nextSeq);
    for (const size of this.sizes) {
      const seq = m.nextSeq++;
      m.pending.set(seq, { seq, size, fill: this.fill });
    }
    assert.equal(res.lastSeq, m.nextSeq - 1);
  }
  toString(): string {
    return `Append(${this.sizes.join(',')})`;
  }
}

class ReadCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly max: number) {}
  check(m: Model): boolean {
    // The real reader waits when nothing is unread; the model only asks when something is.
    return m.unread().length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const batch = await r.wal.nextBatch(this.max, Number.POSITIVE_INFINITY);
    const expected = m.unread().slice(0, batch.length);
    assert.ok(batch.length >= 1 && batch.length <= this.max);
    assert.deepEqual(
      batch.map((x) => x.seq),
      expected.map((x) => x.seq),
      'records come in sequence order, none skipped',
    );
    for (const [i, rec] of batch.entries()) {
      const want = expected[i] as ModelRecord;
      assert.ok(Buffer.from(rec.payload).equals(payloadOf(want)), `payload of seq ${rec.seq} intact`);
      assert.equal(rec.idempotencyKey, `${r.wal.walId}-${rec.seq}`);
      m.handedOut.add(rec.seq);
      r.out.set(rec.seq, rec);
    }
  }
  toString(): string {
    return `Read(${this.max})`;
  }
}

class AckCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly picks: readonly number[]) {}
  check(m: Model): boolean {
    return m.handedOut.size > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const out = [...m.handedOut];
    const chosen = [...new Set(this.picks.map((p) => out[p % out.length] as number))];
    await r.wal.ack(chosen.map((seq) => r.out.get(seq) as WalRecord));
    for (const seq of chosen) {
      m.handedOut.delete(seq);
      m.pending.delete(seq);
      r.out.delete(seq);
    }
  }
  toString(): string {
    return `Ack(${this.picks.join(',')})`;
  }
}

class DeadLetterCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check(m: Model): boolean {
    return m.handedOut.size > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const out = [...m.handedOut];
    const seq = out[this.pick % out.length] as number;
    await r.wal.deadLetter(r.out.get(seq) as WalRecord, 'rejected');
    m.handedOut.delete(seq);
    const rec = m.pending.get(seq) as ModelRecord;
    // A dead letter holds its key, the wrapper (13 bytes + reason + idempotency key) and the
    // original envelope (28 bytes + payload).
    const key = `${r.wal.walId}-${seq}`;
    m.deadLetters.set(seq, 12 + 13 + 'rejected'.length + key.length + 28 + rec.size);
    m.pending.delete(seq);
    r.out.delete(seq);
  }
  toString(): string {
    return `DeadLetter(${this.pick})`;
  }
}

class CloseReopenCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.wal.close();
    r.wal = await openWal(r.dir);
    r.out.clear();
    // What was handed out and not settled is handed out again.
    m.handedOut.clear();
  }
  toString(): string {
    return 'CloseReopen';
  }
}

class QuotaCheckCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const held = m.held();
    if (m.overQuota) {
      if (held < MAX_BYTES * LOW_WATERMARK) m.overQuota = false;
    } else if (held >= MAX_BYTES) {
      m.overQuota = true;
    }
    assert.equal(r.wal.isOverQuota(), m.overQuota, `isOverQuota with ${held} bytes held`);
    const s = await r.wal.stats();
    assert.equal(s.pendingRecords, m.pending.size);
    assert.equal(s.deadLetterRecords, m.deadLetters.size);
    assert.equal(s.heldBytes, held);
    assert.equal(s.nextSeq, m.nextSeq);
    const dl = await r.wal.listDeadLetters();
    assert.deepEqual(
      dl.map((d) => d.seq),
      [...m.deadLetters.keys()].sort((a, b) => a - b),
    );
  }
  toString(): string {
    return 'QuotaCheck';
  }
}

const size = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 4096 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 1024 * 1024 }) },
);

const commands = [
  fc.tuple(fc.array(size, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 255 })).map(
    ([sizes, fill]) => new AppendCommand(sizes, fill),
  ),
  fc.integer({ min: 1, max: 10 }).map((n) => new ReadCommand(n)),
  fc.array(fc.nat(), { minLength: 1, maxLength: 5 }).map((p) => new AckCommand(p)),
  fc.nat().map((p) => new DeadLetterCommand(p)),
  fc.constant(new CloseReopenCommand()),
  fc.constant(new QuotaCheckCommand()),
];

it(`the WAL behaves like its in-memory model under random appends, reads, acks, dead letters and reopens (${RUNS} runs, seed ${SEED})`, async () => {
  console.log(`# wal-model seed ${SEED} (replay with WALSHIP_SEED=${SEED})`);
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
      const dir = mkdtempSync(join(tmpdir(), 'walship-model-'));
      const real: Real = { wal: await openWal(dir), dir, out: new Map() };
      try {
        await fc.asyncModelRun(() => ({ model: new Model(), real }), cmds);
        const check = await real.wal.check();
        assert.equal(check.consistent, true, JSON.stringify(check));
      } finally {
        await real.wal.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
});
