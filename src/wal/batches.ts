/**
 * Delivery batch compositions, kept in the WAL so that a batch has the same records, and so
 * the same idempotency key, on every attempt, across restarts too (D2).
 *
 * Before a batch is first sent (when batches may hold several records: a record sent alone
 * must not come back in a bigger batch under another key either), its sequence numbers are
 * stored under
 * `bat!<firstSeq>` (`u8 version=1 | u32 count | count × u64 seq`). After a restart the
 * delivery manager rebuilds the batch from it: the same records minus those already settled.
 * A composition is deleted in the batch that settles its last pending member.
 */
import { PREFIX_BATCH, prefixEnd, seqKey } from './keys.ts';
import type { BatchOp, Store } from './store.ts';

const VERSION = 1;
const TWO_32 = 2 ** 32;

export function encodeBatch(seqs: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(5 + seqs.length * 8);
  out[0] = VERSION;
  out.writeUInt32BE(seqs.length, 1);
  seqs.forEach((s, i) => {
    out.writeUInt32BE(Math.floor(s / TWO_32), 5 + i * 8);
    out.writeUInt32BE(s >>> 0, 9 + i * 8);
  });
  return out;
}

export function decodeBatch(value: Uint8Array): number[] | undefined {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length < 5 || buf[0] !== VERSION) return undefined;
  const n = buf.readUInt32BE(1);
  if (buf.length !== 5 + n * 8) return undefined;
  return Array.from({ length: n }, (_, i) => buf.readUInt32BE(5 + i * 8) * TWO_32 + buf.readUInt32BE(9 + i * 8));
}

/** A stored composition: all its members, and those not yet settled. */
export interface FixedBatch {
  readonly seqs: readonly number[];
  readonly open: ReadonlySet<number>;
}

interface Fixed extends FixedBatch {
  readonly open: Set<number>;
}

/** The stored compositions whose records are not all settled, indexed by member. */
export class BatchBook {
  private readonly byFirst = new Map<number, Fixed>();
  private readonly bySeq = new Map<number, Fixed>();

  /** Loads every stored composition; members already gone are settled (`isPending` says). */
  async load(db: Store, isPending: (seqs: readonly number[]) => Promise<Set<number>>): Promise<BatchOp[]> {
    const stale: BatchOp[] = [];
    const it = db.iterator({ gte: Buffer.from(PREFIX_BATCH), lt: prefixEnd(PREFIX_BATCH) });
    try {
      for (;;) {
        const page = await it.nextv(256);
        if (page.length === 0) break;
        for (const [key, value] of page) {
          const seqs = decodeBatch(value);
          const open = seqs === undefined ? new Set<number>() : await isPending(seqs);
          if (seqs === undefined || open.size === 0) stale.push({ type: 'del', key });
          else this.add(seqs, open);
        }
      }
    } finally {
      await it.close();
    }
    return stale;
  }

  /** The stored composition containing `seq`, if any. */
  of(seq: number): FixedBatch | undefined {
    return this.bySeq.get(seq);
  }

  /** Ops storing a new composition (none if one is already stored for its first record). */
  fix(seqs: readonly number[]): BatchOp[] {
    const first = seqs[0];
    if (first === undefined || this.byFirst.has(first)) return [];
    // A composition overlapping a stored one is not stored: the stored one keeps its members
    // (taking some over would leave it waiting forever for records settled under the new one).
    if (seqs.some((s) => this.bySeq.has(s))) return [];
    this.add(seqs, new Set(seqs));
    return [{ type: 'put', key: seqKey(PREFIX_BATCH, first), value: encodeBatch(seqs) }];
  }

  /**
   * Replaces the stored composition holding `parts`' members by one composition per part (a
   * batch split to isolate a rejected record: each half keeps its own key across a restart,
   * D2). The parts are expected to cover that composition's open members; the old key is
   * deleted unless a part takes it over (same first member).
   */
  split(parts: readonly (readonly number[])[]): BatchOp[] {
    const ops: BatchOp[] = [];
    const replaced = new Set<Fixed>();
    parts = parts.filter((part) => part.length > 0);
    for (const part of parts) {
      for (const s of part) {
        const f = this.bySeq.get(s);
        if (f !== undefined) replaced.add(f);
      }
    }
    for (const f of replaced) {
      for (const s of f.open) this.bySeq.delete(s);
      const first = f.seqs[0] as number;
      this.byFirst.delete(first);
      ops.push({ type: 'del', key: seqKey(PREFIX_BATCH, first) });
    }
    for (const part of parts) {
      const first = part[0];
      if (first === undefined) continue;
      this.add(part, new Set(part));
      ops.push({ type: 'put', key: seqKey(PREFIX_BATCH, first), value: encodeBatch(part) });
    }
    return ops;
  }

  /** A record was settled: deletes the composition once none of its members is left. */
  settled(seq: number, ops: BatchOp[]): void {
    const f = this.bySeq.get(seq);
    if (f === undefined) return;
    this.bySeq.delete(seq);
    f.open.delete(seq);
    if (f.open.size > 0) return;
    const first = f.seqs[0] as number;
    this.byFirst.delete(first);
    ops.push({ type: 'del', key: seqKey(PREFIX_BATCH, first) });
  }

  get size(): number {
    return this.byFirst.size;
  }

  private add(seqs: readonly number[], open: Set<number>): void {
    const f: Fixed = { seqs, open };
    this.byFirst.set(seqs[0] as number, f);
    for (const s of open) this.bySeq.set(s, f);
  }
}
