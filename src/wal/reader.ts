/**
 * The WAL's in-order reader: one cursor over `rec!`, a bounded read-ahead buffer, and the
 * bookkeeping that turns out-of-order acknowledgements into a persisted ack floor.
 *
 * Records are handed out in sequence order. Fresh appends reach the reader straight from the
 * commit (no read back from disk) while it is caught up and has room; otherwise it reads from
 * LevelDB, seeking to its exact cursor so that the acknowledged head (tombstones) is never
 * walked. The read-ahead buffer is bounded in records and bytes (D4); records handed out and
 * not yet settled are bounded by the caller (the delivery manager's in-flight window).
 */
import type { Logger } from '../logging/logger.ts';
import { decodeEnvelope, isEnvelopeProblem, type RecordMeta } from './envelope.ts';
import { isTailKey, PREFIX_RECORD, seqKey, seqOfKey, tailSeqOfKey } from './keys.ts';
import type { Store } from './store.ts';

/** One record handed out by the reader. */
export interface WalRecord {
  readonly seq: number;
  /** `<walId>-<seq>`, or the key the record kept from an earlier life (a replayed dead letter). */
  readonly idempotencyKey: string;
  readonly meta: RecordMeta;
  /** The LogGroup protobuf bytes, exactly as appended (a view into `envelope`). */
  readonly payload: Buffer;
  /** Logical bytes the record holds in the WAL (key + value); what the quota counts. */
  readonly bytes: number;
  /** The stored envelope; moved as is to the dead-letter space. */
  readonly envelope: Buffer;
  /**
   * The reader's generation when the record was handed out. A store reopen starts a new
   * generation; settling a record of an old one is ignored (it is read and handed out again).
   */
  readonly generation: number;
}

/** What the reader needs from the WAL that owns it. */
export interface ReaderHost {
  readonly walId: string;
  readonly logger: Logger;
  store(): Store;
  /** The sequence number after the last committed record. */
  committedNextSeq(): number;
  /** Moves an unreadable record to the quarantine space; marks it settled when committed. */
  quarantine(seq: number, value: Buffer, bytes: number, reason: string): void;
  /** A read failed: the WAL decides whether it is fatal (corruption) and records it. */
  readFailed(err: unknown): Error;
  /**
   * The reader caught up by reading from disk: every pending record must now be in its
   * hands. LevelDB's iterator steps over a block it cannot read without an error, so this is
   * where a skipped block shows (the WAL compares its counters when no write is half done).
   */
  caughtUpFromDisk(): void;
  /** A tail mark (counters, not a record) was met among the records. */
  tailSeen(seq: number): void;
}

interface Tracked {
  readonly seq: number;
  readonly bytes: number;
  settled: boolean;
}

export interface ReaderLimits {
  readonly readAheadRecords: number;
  readonly readAheadBytes: number;
}

/** How many records one disk read asks LevelDB for at most. */
const READ_CHUNK = 32;

export class WalReader {
  private readonly host: ReaderHost;
  private readonly limits: ReaderLimits;
  private buffer: WalRecord[] = [];
  private bufferHead = 0;
  private bufferBytes = 0;
  /** Every sequence number below this is buffered, handed out, or settled. */
  private readSeq: number;
  /** True while fresh commits are pushed to the buffer instead of read back from disk. */
  private caughtUp = false;
  /** Handed out (or being quarantined), in sequence order, until settled. */
  private tracked: Tracked[] = [];
  private trackedHead = 0;
  private readonly bySeq = new Map<number, Tracked>();
  private waiters: Array<() => void> = [];
  private filling: Promise<void> | undefined;
  private closed = false;
  private error: Error | undefined;
  generation = 0;

  constructor(host: ReaderHost, limits: ReaderLimits, ackFloor: number) {
    this.host = host;
    this.limits = limits;
    this.readSeq = ackFloor;
  }

  /** Records read ahead and not yet handed out (bounded by the read-ahead window, D4). */
  get buffered(): { readonly records: number; readonly bytes: number } {
    return { records: this.buffer.length - this.bufferHead, bytes: this.bufferBytes };
  }

  /** True while every committed record is buffered, handed out or settled. */
  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  /** Records handed out and not yet settled. */
  get inFlight(): number {
    return this.bySeq.size;
  }

  /**
   * The lowest sequence number that may still be pending: everything below it is settled.
   * Written into the counters of every batch that settles records (W4).
   */
  floor(): number {
    while (this.trackedHead < this.tracked.length && (this.tracked[this.trackedHead] as Tracked).settled) {
      this.trackedHead++;
    }
    if (this.trackedHead > 1024 && this.trackedHead * 2 > this.tracked.length) {
      this.tracked = this.tracked.slice(this.trackedHead);
      this.trackedHead = 0;
    }
    // The lowest of: the first unsettled record handed out (or being quarantined), the first
    // one buffered, and the next to read. A record quarantined while lower ones wait in the
    // buffer is tracked before them, so the buffer head can be the lower one.
    let floor = this.readSeq;
    const head = this.tracked[this.trackedHead];
    if (head !== undefined) floor = Math.min(floor, head.seq);
    const buffered = this.buffer[this.bufferHead];
    if (buffered !== undefined) floor = Math.min(floor, buffered.seq);
    return floor;
  }

  /** Oldest record the reader knows of without touching disk, if any. */
  oldestKnown(): RecordMeta | undefined {
    return this.buffer[this.bufferHead]?.meta;
  }

  /**
   * Waits for the next record in sequence order and hands it out. Resolves `undefined` once
   * the reader is closed. Rejects when the WAL failed (corruption, I/O).
   */
  async next(signal?: AbortSignal): Promise<WalRecord | undefined> {
    const batch = await this.nextBatch(1, Number.POSITIVE_INFINITY, signal);
    return batch[0];
  }

  /**
   * Waits until at least one record is available, then hands out as many buffered records
   * as fit in `maxRecords` and `maxBytes` (always at least one). Empty once closed.
   */
  async nextBatch(maxRecords: number, maxBytes: number, signal?: AbortSignal): Promise<WalRecord[]> {
    for (;;) {
      if (this.closed) return [];
      if (this.error !== undefined) throw this.error;
      signal?.throwIfAborted();
      if (this.bufferHead < this.buffer.length) return this.take(maxRecords, maxBytes);
      if (!this.caughtUp) {
        await this.fill();
        continue;
      }
      await this.waitForChange(signal);
    }
  }

  /** Marks a handed-out record settled (acked or moved). Returns its bytes, or -1 if unknown. */
  settle(seq: number, generation: number): number {
    if (generation !== this.generation) return -1;
    const t = this.bySeq.get(seq);
    if (t === undefined) return -1;
    this.bySeq.delete(seq);
    t.settled = true;
    return t.bytes;
  }

  /** Whether a record is handed out and not settled (in this generation). */
  isOutstanding(seq: number, generation: number): boolean {
    return generation === this.generation && this.bySeq.has(seq);
  }

  /** Called by the WAL right after a batch with appended records committed. */
  offer(records: WalRecord[]): void {
    if (!this.caughtUp || this.closed || records.length === 0) return;
    if ((records[0] as WalRecord).seq !== this.readSeq) {
      this.caughtUp = false;
      return;
    }
    for (const r of records) {
      if (!this.hasRoom(r.bytes)) {
        // The rest is read back from disk once the buffer drains.
        this.caughtUp = false;
        break;
      }
      this.push(r);
      this.readSeq = r.seq + 1;
    }
    this.wake();
  }

  /** Forgets everything handed out or buffered and rereads from the persisted floor. */
  reset(ackFloor: number): void {
    this.generation++;
    this.buffer = [];
    this.bufferHead = 0;
    this.bufferBytes = 0;
    this.tracked = [];
    this.trackedHead = 0;
    this.bySeq.clear();
    this.readSeq = ackFloor;
    this.caughtUp = false;
    this.error = undefined;
    this.wake();
  }

  fail(err: Error): void {
    this.error = err;
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Wakes waiters after something changed (a commit, an ack that made room, a close). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private hasRoom(bytes: number): boolean {
    const count = this.buffer.length - this.bufferHead;
    if (count === 0) return true; // one record always fits, however large
    return count < this.limits.readAheadRecords && this.bufferBytes + bytes <= this.limits.readAheadBytes;
  }

  private push(r: WalRecord): void {
    this.buffer.push(r);
    this.bufferBytes += r.bytes;
  }

  private take(maxRecords: number, maxBytes: number): WalRecord[] {
    const out: WalRecord[] = [];
    let bytes = 0;
    while (this.bufferHead < this.buffer.length && out.length < maxRecords) {
      const r = this.buffer[this.bufferHead] as WalRecord;
      if (out.length > 0 && bytes + r.bytes > maxBytes) break;
      this.buffer[this.bufferHead] = undefined as unknown as WalRecord;
      this.bufferHead++;
      this.bufferBytes -= r.bytes;
      bytes += r.bytes;
      this.track(r.seq, r.bytes);
      out.push(r);
    }
    if (this.bufferHead === this.buffer.length) {
      this.buffer = [];
      this.bufferHead = 0;
    }
    return out;
  }

  /** Tracks a record until it is settled, keeping `tracked` in sequence order (floor() relies on it). */
  private track(seq: number, bytes: number): void {
    const t: Tracked = { seq, bytes, settled: false };
    const last = this.tracked[this.tracked.length - 1];
    if (last === undefined || last.seq < seq) {
      this.tracked.push(t);
    } else {
      // Taken from the buffer after a later record was quarantined at read time (rare).
      let i = this.tracked.length;
      while (i > this.trackedHead && (this.tracked[i - 1] as Tracked).seq > seq) i--;
      this.tracked.splice(i, 0, t);
    }
    this.bySeq.set(seq, t);
  }

  private waitForChange(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal === undefined) {
        this.waiters.push(resolve);
        return;
      }
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private fill(): Promise<void> {
    this.filling ??= this.readFromDisk().finally(() => {
      this.filling = undefined;
    });
    return this.filling;
  }

  private async readFromDisk(): Promise<void> {
    const generation = this.generation;
    const end = this.host.committedNextSeq();
    if (this.readSeq >= end) {
      this.caughtUp = true;
      return;
    }
    let iterator: ReturnType<Store['iterator']> | undefined;
    try {
      // From just after the last record read: a read that stopped at a full window right after
      // a record that ended an append batch has not seen that batch's tail mark yet, and the
      // mark is deleted only once it has been seen (W4).
      iterator = this.host.store().iterator({
        ...(this.readSeq > 0 ? { gt: seqKey(PREFIX_RECORD, this.readSeq - 1) } : { gte: seqKey(PREFIX_RECORD, this.readSeq) }),
        lt: seqKey(PREFIX_RECORD, end),
      });
      let exhausted = false;
      while (!exhausted && this.hasRoom(0)) {
        const room = this.limits.readAheadRecords - (this.buffer.length - this.bufferHead);
        const entries = await iterator.nextv(Math.max(1, Math.min(READ_CHUNK, room)));
        if (generation !== this.generation || this.closed) return;
        if (entries.length === 0) exhausted = true;
        for (const [key, value] of entries) {
          if (isTailKey(key)) {
            this.host.tailSeen(tailSeqOfKey(key));
            continue;
          }
          const seq = seqOfKey(key);
          const bytes = key.length + value.length;
          const decoded = decodeEnvelope(value);
          if (isEnvelopeProblem(decoded)) {
            // Quarantined, counted and logged by the WAL; the records after it keep flowing (W5).
            this.track(seq, bytes);
            this.host.quarantine(seq, value, bytes, `${decoded.kind}: ${decoded.message}`);
          } else {
            this.push({
              seq,
              idempotencyKey: decoded.meta.idempotencyKey ?? `${this.host.walId}-${seq}`,
              meta: decoded.meta,
              payload: decoded.payload as Buffer,
              bytes,
              envelope: value,
              generation,
            });
          }
          this.readSeq = seq + 1;
          if (!this.hasRoom(0)) break;
        }
      }
      if (exhausted) this.readSeq = Math.max(this.readSeq, end);
    } catch (err) {
      if (generation === this.generation) this.fail(this.host.readFailed(err));
      return;
    } finally {
      await iterator?.close().catch(() => {});
    }
    // Fresh commits are offered to the buffer only from here on, so check the gap is closed.
    if (this.readSeq >= this.host.committedNextSeq()) {
      this.caughtUp = true;
      this.host.caughtUpFromDisk();
    }
    this.wake();
  }
}
