import { mkdir, readdir, stat, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, WalshipError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { giveBackGroupBuffer } from '../model/headroom.ts';
import { type Counters, emptyCounters, heldBytes, settledChanged, encodeSettled, encodeTail } from './counters.ts';
import {
  decodeEnvelope,
  decodeSidelined,
  encodeEnvelope,
  encodeSidelined,
  envelopeBytes,
  isEnvelopeProblem,
  type RecordMeta,
} from './envelope.ts';
import {
  checkpointKey,
  isTailKey,
  META_FORMAT,
  META_SETTLED,
  META_STATE,
  META_SYNC,
  META_WAL_ID,
  PREFIX_DEAD_LETTER,
  PREFIX_QUARANTINE,
  PREFIX_RECORD,
  prefixEnd,
  type SeqSpace,
  seqKey,
  seqOfKey,
  tailKey,
} from './keys.ts';
import { BatchBook, type FixedBatch } from './batches.ts';
import { countersMatchStore, createMeta, firstRecord, type LoadedMeta, loadMeta, rebuildMeta, scanStore, WAL_FORMAT_VERSION } from './meta.ts';
import { resolveWalOptions, type ResolvedWalOptions, type WalOptions } from './options.ts';
import { type ReaderHost, type WalRecord, WalReader } from './reader.ts';
import { type BatchOp, isCorruption, mapStoreError, repairStore, type Store, walDirOf } from './store.ts';

export { WAL_FORMAT_VERSION } from './meta.ts';

export type WalState = 'opening' | 'open' | 'failed' | 'closing' | 'closed';

/** One record to append. Everything but `payload` is metadata kept beside it. */
export interface AppendEntry {
  /** The LogGroup protobuf bytes. */
  readonly payload: Uint8Array;
  readonly project?: string;
  readonly logstore?: string;
  readonly configName?: string;
  readonly logstoreKey?: bigint;
  /** Only for records that must keep a key from an earlier life; normally `<walId>-<seq>`. */
  readonly idempotencyKey?: string;
}

/** A side write committed in the same LevelDB batch as the records (an input's offset). */
export interface Checkpoint {
  readonly key: string;
  readonly value: Uint8Array | string;
}

export interface AppendResult {
  /** Sequence numbers given to the entries, in order; both 0 for a checkpoint-only append. */
  readonly firstSeq: number;
  readonly lastSeq: number;
}

/** A record in the dead-letter or quarantine space. */
export interface SidelinedRecord {
  readonly seq: number;
  readonly reason: string;
  readonly movedAt: number;
  readonly idempotencyKey: string | undefined;
  /** Present when the original envelope still decodes (always for dead letters). */
  readonly meta: RecordMeta | undefined;
  readonly payload: Uint8Array | undefined;
  readonly bytes: number;
}

export interface WalStats {
  readonly walId: string;
  readonly state: WalState;
  readonly nextSeq: number;
  readonly ackFloor: number;
  readonly pendingRecords: number;
  readonly pendingBytes: number;
  readonly deadLetterRecords: number;
  readonly deadLetterBytes: number;
  readonly quarantineRecords: number;
  readonly quarantineBytes: number;
  /** Pending + dead-letter + quarantine: what the quota counts. */
  readonly heldBytes: number;
  readonly maxBytes: number;
  readonly quotaRatio: number;
  readonly overQuota: boolean;
  /** Bytes of the LevelDB files on disk (the real size beside the logical one). */
  readonly diskBytes: number;
  /** Free bytes on the WAL's filesystem at the last check. */
  readonly freeBytes: number;
  /** Age of the oldest pending record, ms; 0 when none is pending. */
  readonly oldestRecordAgeMs: number;
  /** Records handed out by the reader and not yet settled. */
  readonly inFlightRecords: number;
  /** Records read ahead and not yet handed out, and their bytes (the read-ahead window). */
  readonly readAheadRecords: number;
  readonly readAheadBytes: number;
  readonly compactions: number;
  readonly failure: { readonly code: string; readonly message: string } | undefined;
}

/** What `check()` found: the stored counters beside what a full scan counts. */
export interface WalCheck {
  readonly stored: Counters;
  readonly scanned: Counters;
  readonly consistent: boolean;
}

/**
 * A unit of work for the writer. Items are built into one LevelDB batch in queue order; the
 * counters they change are written in the same batch (W4).
 */
interface WriteItem {
  readonly bytes: number;
  readonly sync: boolean;
  build(next: Counters, ops: BatchOp[]): void;
  committed(): void;
  failed(err: Error): void;
}

interface PreparedRecord {
  readonly envelope: Buffer;
  readonly meta: RecordMeta;
  /** A view into the envelope: the caller may reuse its own buffer once append returns. */
  readonly payload: Buffer;
}

const EMPTY_META: Omit<RecordMeta, 'enqueuedAt'> = {
  project: '',
  logstore: '',
  configName: '',
  logstoreKey: 0n,
};
const STATE_OPEN = Buffer.from('open');
const STATE_CLEAN = Buffer.from('clean');
/** Bytes of an `rec!` key: what a record holds beyond its envelope. */
const REC_KEY_BYTES = seqKey(PREFIX_RECORD, 0).length;
const DEFER = () => new Promise<void>((resolve) => setImmediate(resolve));

export class WriteAheadLog {
  readonly options: ResolvedWalOptions;
  readonly location: string;
  private readonly logger: Logger;
  private db!: Store;
  private _walId = '';
  private _state: WalState = 'opening';
  /** The counters as last committed. */
  private counters: Counters = emptyCounters();
  /**
   * Sequence numbers after which a tail mark is stored, ascending; the last is the newest.
   * Older marks are deleted once the floor passes them.
   */
  private tails: number[] = [];
  /** Delivery batch compositions whose records are not all settled (D2). */
  private batches = new BatchBook();
  private reader!: WalReader;

  private queue: WriteItem[] = [];
  /** Bytes of appends queued but not yet built into a batch (held against the quota). */
  private queuedBytes = 0;
  private writing: Promise<void> | undefined;
  private failure: WalshipError | undefined;
  private recovering: Promise<void> | undefined;
  private recoverTimer: NodeJS.Timeout | undefined;
  /** The replay or purge of a sidelined space in progress (see oneAtATime). */
  private sidelineOps: Promise<unknown> = Promise.resolve();
  private recoverDelay: number;

  private urgent = false;
  private overQuota = false;
  private freeBytes = Number.POSITIVE_INFINITY;
  private freeSpaceTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private unsyncedWrites = false;

  /** A disk catch-up asked for the pending count to be verified (see caughtUpFromDisk). */
  private verifyPending = false;
  private ackedSinceCompaction = 0;
  private compactedUpTo = 0;
  private compacting: Promise<void> | undefined;
  private compactions = 0;
  private closing: Promise<void> | undefined;

  private constructor(options: ResolvedWalOptions) {
    this.options = options;
    this.location = join(options.dir, 'db');
    this.logger = options.logger.child({ component: 'wal', dir: options.dir });
    this.recoverDelay = options.recoverDelayMs;
  }

  /**
   * Opens (creating if needed) the WAL in `options.dir` and recovers its state from the
   * stored counters, without scanning the log (W4).
   *
   * @throws WalshipError `WALSHIP_LOCKED` when another process or instance owns the directory
   *   (W7), `WALSHIP_WAL_CORRUPT` when LevelDB cannot open it (run {@link repairWal}),
   *   `WALSHIP_WAL_FORMAT` when it was written by a newer walship.
   */
  static async open(options: WalOptions): Promise<WriteAheadLog> {
    const wal = new WriteAheadLog(resolveWalOptions(options));
    await wal.openStore();
    return wal;
  }

  get walId(): string {
    return this._walId;
  }

  get state(): WalState {
    return this._state;
  }

  /** Pending records as last committed (no I/O). */
  get pendingRecords(): number {
    return this.counters.pendingRecords;
  }

  // ── Appending ──────────────────────────────────────────────────────────────────────

  /**
   * Appends records (and optional checkpoints) in one atomic LevelDB batch shared with every
   * concurrent append (group commit). Resolves once they are stored with the configured
   * durability (W1): with `sync: 'always'`, after the fsync.
   *
   * @throws WalshipError `WALSHIP_QUOTA_EXCEEDED` when they do not fit under the quota,
   *   `WALSHIP_RECORD_TOO_LARGE` when one record could never fit, `WALSHIP_DISK_FULL` /
   *   `WALSHIP_WAL_IO` when the write failed, `WALSHIP_CLOSED` after `close()`.
   */
  append(entries: readonly AppendEntry[], options: { checkpoints?: readonly Checkpoint[] } = {}): Promise<AppendResult> {
    if (!Array.isArray(entries)) throw new TypeError('Expected `entries` to be an array');
    for (const c of options.checkpoints ?? []) {
      // Checked here: a bad one would fail the whole group commit it joined (and the WAL).
      if (typeof c?.key !== 'string' || !(typeof c.value === 'string' || c.value instanceof Uint8Array)) {
        return Promise.reject(new TypeError('Expected every checkpoint to be `{ key: string, value: string | Uint8Array }`'));
      }
    }
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);

    const now = this.options.clock();
    const metas: RecordMeta[] = [];
    let bytes = 0;
    // Sizes and limits first: a refused append encodes nothing (an envelope built in place
    // would take the group's headroom, and hold its buffer, for nothing; a blocked input
    // retries every few ms).
    for (const e of entries) {
      if (!(e?.payload instanceof Uint8Array)) {
        return Promise.reject(new TypeError('Expected every entry to have a Uint8Array `payload`'));
      }
      const meta: RecordMeta = {
        project: e.project ?? EMPTY_META.project,
        logstore: e.logstore ?? EMPTY_META.logstore,
        configName: e.configName ?? EMPTY_META.configName,
        logstoreKey: e.logstoreKey ?? EMPTY_META.logstoreKey,
        enqueuedAt: now,
        idempotencyKey: e.idempotencyKey,
      };
      const recordBytes = REC_KEY_BYTES + envelopeBytes(meta, e.payload.byteLength);
      if (recordBytes > this.options.maxBytes) {
        return Promise.reject(
          new WalshipError(
            ErrorCodes.RECORD_TOO_LARGE,
            `a record of ${recordBytes} bytes can never fit in a WAL whose maxBytes is ${this.options.maxBytes}`,
            { details: { recordBytes, maxBytes: this.options.maxBytes } },
          ),
        );
      }
      bytes += recordBytes;
      metas.push(meta);
    }
    const limit = this.acceptLimit();
    const held = heldBytes(this.counters) + this.queuedBytes;
    // An append is accepted while the WAL is below its limit, even if it crosses it: so the
    // quota is reached exactly when isOverQuota() turns true, with no dead zone where
    // isReady() says yes and flush() fails. The overshoot is at most one append.
    if (bytes > 0 && held >= limit) {
      return Promise.reject(
        new WalshipError(
          ErrorCodes.QUOTA_EXCEEDED,
          `the WAL holds ${held} bytes, at its limit of ${limit} bytes (maxBytes ${this.options.maxBytes}${this.urgent ? ', urgent reserve included' : ''}); ${bytes} more were refused`,
          { details: { heldBytes: held, appendBytes: bytes, limit } },
        ),
      );
    }
    if (bytes > 0 && this.freeBytes < this.options.freeSpaceFloor && !this.urgent) {
      return Promise.reject(
        new WalshipError(
          ErrorCodes.QUOTA_EXCEEDED,
          `the WAL's filesystem has ${this.freeBytes} bytes free, below the floor of ${this.options.freeSpaceFloor}`,
          { details: { freeBytes: this.freeBytes, freeSpaceFloor: this.options.freeSpaceFloor } },
        ),
      );
    }
    // Built before the records join the queue, so the commit path only assigns keys.
    const prepared: PreparedRecord[] = [];
    try {
      entries.forEach((e, i) => {
        const envelope = encodeEnvelope(metas[i] as RecordMeta, e.payload);
        prepared.push({ envelope, meta: metas[i] as RecordMeta, payload: envelope.subarray(envelope.length - e.payload.byteLength) });
      });
    } catch (err) {
      for (const p of prepared) giveBackGroupBuffer(p.envelope);
      return Promise.reject(err);
    }
    const checkpoints = options.checkpoints ?? [];
    return new Promise<AppendResult>((resolve, reject) => {
      this.queuedBytes += bytes;
      let committed: WalRecord[] = [];
      let result: AppendResult = { firstSeq: 0, lastSeq: 0 };
      this.enqueue({
        bytes,
        sync: this.options.sync === 'always',
        build: (next, ops) => {
          this.queuedBytes -= bytes;
          committed = [];
          for (const p of prepared) {
            const seq = next.nextSeq++;
            const key = seqKey(PREFIX_RECORD, seq);
            ops.push({ type: 'put', key, value: p.envelope });
            next.pendingRecords++;
            next.pendingBytes += key.length + p.envelope.length;
            next.appendedRecords++;
            next.appendedBytes += key.length + p.envelope.length;
            committed.push({
              seq,
              idempotencyKey: p.meta.idempotencyKey ?? `${this._walId}-${seq}`,
              meta: p.meta,
              payload: p.payload,
              bytes: key.length + p.envelope.length,
              envelope: p.envelope,
              generation: this.reader.generation,
            });
          }
          for (const c of checkpoints) {
            ops.push({
              type: 'put',
              key: checkpointKey(c.key),
              value: typeof c.value === 'string' ? Buffer.from(c.value) : c.value,
            });
          }
          const first = committed[0];
          const last = committed[committed.length - 1];
          result = first && last ? { firstSeq: first.seq, lastSeq: last.seq } : { firstSeq: 0, lastSeq: 0 };
        },
        committed: () => {
          this.reader.offer(committed);
          resolve(result);
        },
        failed: (err) => {
          reject(err);
        },
      });
    });
  }

  /** Reads a checkpoint written with {@link append}'s side writes. */
  async getCheckpoint(key: string): Promise<Buffer | undefined> {
    this.assertReadable();
    return this.db.get(checkpointKey(key));
  }

  // ── Reading and settling ───────────────────────────────────────────────────────────

  /** Waits for the next pending record in sequence order; `undefined` once closed. */
  next(signal?: AbortSignal): Promise<WalRecord | undefined> {
    return this.reader.next(signal);
  }

  /** Waits for at least one record, then hands out what is buffered within the limits. */
  nextBatch(maxRecords: number, maxBytes: number, signal?: AbortSignal): Promise<WalRecord[]> {
    return this.reader.nextBatch(maxRecords, maxBytes, signal);
  }

  /**
   * Acknowledges delivered records: deletes them (W2) and advances the ack floor in the same
   * batch. Acks may come in any order; acking a record twice, or one from before a store
   * reopen, does nothing. Not fsynced on its own: a lost ack only means a redelivery.
   */
  ack(records: readonly Pick<WalRecord, 'seq' | 'generation'>[]): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise<void>((resolve, reject) => {
      this.enqueue({
        bytes: 0,
        sync: false,
        build: (next, ops) => {
          for (const r of records) {
            const bytes = this.reader.settle(r.seq, r.generation);
            if (bytes < 0) continue;
            this.batches.settled(r.seq, ops);
            ops.push({ type: 'del', key: seqKey(PREFIX_RECORD, r.seq) });
            next.pendingRecords--;
            next.pendingBytes -= bytes;
            this.ackedSinceCompaction += bytes;
          }
          next.ackFloor = this.reader.floor();
        },
        committed: () => {
          resolve();
          this.reader.wake();
          this.maybeCompact();
        },
        failed: reject,
      });
    });
  }

  /**
   * Moves a handed-out record to the dead-letter space with the reason, in one atomic batch
   * (W2). It stays there, counted against the quota, until replayed or purged.
   */
  deadLetter(record: WalRecord, reason: string): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise<void>((resolve, reject) => {
      let moved = false;
      this.enqueue({
        bytes: 0,
        sync: this.options.sync === 'always',
        build: (next, ops) => {
          const bytes = this.reader.settle(record.seq, record.generation);
          if (bytes < 0) return;
          this.batches.settled(record.seq, ops);
          moved = true;
          const key = seqKey(PREFIX_DEAD_LETTER, record.seq);
          const value = encodeSidelined(reason, this.options.clock(), record.idempotencyKey, record.envelope);
          ops.push({ type: 'del', key: seqKey(PREFIX_RECORD, record.seq) }, { type: 'put', key, value });
          next.pendingRecords--;
          next.pendingBytes -= bytes;
          next.deadLetterRecords++;
          next.deadLetterBytes += key.length + value.length;
          next.ackFloor = this.reader.floor();
        },
        committed: () => {
          if (moved) {
            this.logger.warn(
              { seq: record.seq, idempotencyKey: record.idempotencyKey, reason, logstore: record.meta.logstore },
              'record moved to the dead-letter queue',
            );
          }
          resolve();
          this.reader.wake();
        },
        failed: reject,
      });
    });
  }

  /**
   * Stores a delivery batch's composition before its first attempt, so that after a restart
   * the same records form the same batch under the same key (D2). Not fsynced on its own: it
   * reaches the disk before any later synced write, and a process crash keeps it.
   */
  fixBatch(seqs: readonly number[]): Promise<void> {
    return this.writeBatchBook(() => this.batches.fix(this.outstanding(seqs)));
  }

  /**
   * Stores the halves of a split batch as compositions of their own, in place of the batch's
   * (D2: after a restart each half goes out again under the key it had).
   */
  splitBatch(parts: readonly (readonly number[])[]): Promise<void> {
    return this.writeBatchBook(() => this.batches.split(parts.map((p) => this.outstanding(p))));
  }

  /**
   * The members handed out in the current reader generation and not settled: a batch from
   * before a reopen (whose records were handed out again, maybe settled already) stores
   * nothing for records it no longer owns.
   */
  private outstanding(seqs: readonly number[]): number[] {
    return seqs.filter((s) => this.reader.isOutstanding(s, this.reader.generation));
  }

  /** Queues a change of the stored batch compositions (made when its batch is built). Not fsynced on its own. */
  private writeBatchBook(change: () => BatchOp[]): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise<void>((resolve, reject) => {
      this.enqueue({
        bytes: 0,
        sync: false,
        build: (_next, ops) => {
          for (const op of change()) ops.push(op);
        },
        committed: resolve,
        failed: reject,
      });
    });
  }

  /** The stored composition of the batch containing `seq`, with its members still pending. */
  batchOf(seq: number): FixedBatch | undefined {
    return this.batches.of(seq);
  }

  // ── Quota ──────────────────────────────────────────────────────────────────────────

  /**
   * True at or above the quota (or below the free-space floor), and until held bytes fall
   * below the low watermark again (hysteresis, W6). In urgent mode the emergency reserve
   * above the quota counts as room.
   */
  isOverQuota(): boolean {
    const held = heldBytes(this.counters) + this.queuedBytes;
    const freeOk = this.freeBytes >= this.options.freeSpaceFloor || this.urgent;
    if (this.overQuota) {
      if (freeOk && held < this.options.maxBytes * this.options.lowWatermark) this.overQuota = false;
    } else if (!freeOk || held >= this.options.maxBytes) {
      this.overQuota = true;
    }
    if (this.urgent) return held >= this.acceptLimit();
    return this.overQuota;
  }

  /** Urgent mode (a graceful stop): appends may use the emergency reserve above the quota. */
  setUrgent(flag: boolean): void {
    this.urgent = flag;
  }

  private acceptLimit(): number {
    const { maxBytes, urgentReserve } = this.options;
    return this.urgent ? Math.floor(maxBytes * (1 + urgentReserve)) : maxBytes;
  }

  // ── Inspection ─────────────────────────────────────────────────────────────────────

  async stats(): Promise<WalStats> {
    const c = this.counters;
    const held = heldBytes(c);
    let oldest = this.reader.oldestKnown()?.enqueuedAt;
    if (c.pendingRecords > 0 && oldest === undefined && this.isReadable()) {
      const first = await firstRecord(this.db, c.ackFloor).catch(() => undefined);
      if (first !== undefined) {
        const d = decodeEnvelope(first[1]);
        if (!isEnvelopeProblem(d)) oldest = d.meta.enqueuedAt;
      }
    }
    return {
      walId: this._walId,
      state: this._state,
      nextSeq: c.nextSeq,
      ackFloor: c.ackFloor,
      pendingRecords: c.pendingRecords,
      pendingBytes: c.pendingBytes,
      deadLetterRecords: c.deadLetterRecords,
      deadLetterBytes: c.deadLetterBytes,
      quarantineRecords: c.quarantineRecords,
      quarantineBytes: c.quarantineBytes,
      heldBytes: held,
      maxBytes: this.options.maxBytes,
      quotaRatio: held / this.options.maxBytes,
      overQuota: this.isOverQuota(),
      diskBytes: await directoryBytes(this.location),
      freeBytes: this.freeBytes,
      oldestRecordAgeMs: c.pendingRecords > 0 && oldest !== undefined ? Math.max(0, this.options.clock() - oldest) : 0,
      inFlightRecords: this.reader.inFlight,
      readAheadRecords: this.reader.buffered.records,
      readAheadBytes: this.reader.buffered.bytes,
      compactions: this.compactions,
      failure: this.failure && { code: this.failure.code, message: this.failure.message },
    };
  }

  /** Counts every space by one full scan and compares with the stored counters. */
  async check(): Promise<WalCheck> {
    this.assertReadable();
    await this.idle();
    const stored = { ...this.counters };
    let scanned: Counters;
    try {
      scanned = (await scanStore(this.db, stored.nextSeq)).counters;
    } catch (err) {
      const mapped = mapStoreError(err, 'check', this.location);
      if (mapped.code === ErrorCodes.WAL_CORRUPT) this.enterFailure(mapped);
      throw mapped;
    }
    const keys = [
      'pendingRecords',
      'pendingBytes',
      'deadLetterRecords',
      'deadLetterBytes',
      'quarantineRecords',
      'quarantineBytes',
    ] as const;
    const consistent =
      keys.every((k) => stored[k] === scanned[k]) &&
      scanned.nextSeq <= stored.nextSeq &&
      (scanned.pendingRecords === 0 || scanned.ackFloor >= stored.ackFloor);
    return { stored, scanned, consistent };
  }

  // ── Dead letters and quarantine ────────────────────────────────────────────────────

  /** Lists dead letters in sequence order (at most `limit`). */
  listDeadLetters(limit = Number.POSITIVE_INFINITY): Promise<SidelinedRecord[]> {
    return this.listSidelined(PREFIX_DEAD_LETTER, limit);
  }

  listQuarantine(limit = Number.POSITIVE_INFINITY): Promise<SidelinedRecord[]> {
    return this.listSidelined(PREFIX_QUARANTINE, limit);
  }

  /**
   * Moves every dead letter back into the pending log (new sequence numbers at the end, the
   * original idempotency keys kept so that a deduplicating sink still recognises them).
   * Returns how many were replayed.
   */
  replayDeadLetters(): Promise<number> {
    return this.oneAtATime(() => this.doReplayDeadLetters());
  }

  /**
   * Replays and purges read a page of a sidelined space, then change it: one at a time, or two
   * of them would move (and count) the same entries twice.
   */
  private oneAtATime<T>(run: () => Promise<T>): Promise<T> {
    const result = this.sidelineOps.then(run);
    this.sidelineOps = result.catch(() => {});
    return result;
  }

  private async doReplayDeadLetters(): Promise<number> {
    let replayed = 0;
    for (;;) {
      const page = await this.readSpace(PREFIX_DEAD_LETTER, 0, 256);
      if (page.length === 0) return replayed;
      await this.mutate((next, ops, offered) => {
        for (const [key, value] of page) {
          const s = decodeSidelined(value);
          const d = s && decodeEnvelope(s.original);
          ops.push({ type: 'del', key });
          next.deadLetterRecords--;
          next.deadLetterBytes -= key.length + value.length;
          if (s === undefined || d === undefined || isEnvelopeProblem(d)) {
            // A damaged dead letter cannot be replayed: it moves to quarantine instead.
            const qkey = seqKey(PREFIX_QUARANTINE, seqOfKey(key));
            const qvalue = encodeSidelined('dead letter unreadable on replay', this.options.clock(), undefined, value);
            ops.push({ type: 'put', key: qkey, value: qvalue });
            next.quarantineRecords++;
            next.quarantineBytes += qkey.length + qvalue.length;
            continue;
          }
          const meta: RecordMeta = { ...d.meta, idempotencyKey: s.idempotencyKey ?? d.meta.idempotencyKey };
          const envelope = encodeEnvelope(meta, d.payload);
          const seq = next.nextSeq++;
          const rkey = seqKey(PREFIX_RECORD, seq);
          ops.push({ type: 'put', key: rkey, value: envelope });
          next.pendingRecords++;
          next.pendingBytes += rkey.length + envelope.length;
          next.appendedRecords++;
          next.appendedBytes += rkey.length + envelope.length;
          offered.push({
            seq,
            idempotencyKey: meta.idempotencyKey ?? `${this._walId}-${seq}`,
            meta,
            payload: envelope.subarray(envelope.length - d.payload.byteLength),
            bytes: rkey.length + envelope.length,
            envelope,
            generation: this.reader.generation,
          });
          replayed++;
        }
      });
    }
  }

  /** Deletes every dead letter; returns how many. The space comes back after compaction. */
  purgeDeadLetters(): Promise<number> {
    return this.oneAtATime(() => this.purgeSpace(PREFIX_DEAD_LETTER));
  }

  purgeQuarantine(): Promise<number> {
    return this.oneAtATime(() => this.purgeSpace(PREFIX_QUARANTINE));
  }

  /** Compacts the acknowledged prefix and the sidelined spaces now. */
  async compact(): Promise<void> {
    this.assertReadable();
    await this.idle();
    this.maybeCompact(true);
    await this.compacting;
  }

  /** Resolves when every queued write has committed (or failed). */
  async idle(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  // ── Lifecycle ──────────────────────────────────────────────────────────────────────

  /**
   * Stops accepting, lets queued writes commit, compacts the acknowledged range (within the
   * close budget), marks the WAL clean and closes the store. Idempotent: every call returns
   * the same promise. What was not delivered stays for the next open.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const wasOpen = this._state === 'open';
    this._state = 'closing';
    this.reader.close();
    clearTimeout(this.recoverTimer);
    clearInterval(this.freeSpaceTimer);
    clearInterval(this.syncTimer);
    await this.idle();
    await this.recovering?.catch(() => {});
    await this.compacting;
    if (wasOpen && this.failure === undefined) {
      if (this.ackedSinceCompaction > 0) {
        const started = performance.now();
        this.maybeCompact(true);
        await this.compacting;
        const ms = performance.now() - started;
        if (ms > this.options.compactOnCloseBudgetMs) {
          this.logger.warn({ ms: Math.round(ms), budgetMs: this.options.compactOnCloseBudgetMs }, 'compaction on close ran over its budget');
        }
      }
      // Not clean if the compaction on close failed: the next open checks the counters.
      if (this.failure === undefined) {
        try {
          await this.db.batch([{ type: 'put', key: META_STATE, value: STATE_CLEAN }], { sync: true });
        } catch (err) {
          this.logger.warn({ err }, 'could not mark the WAL clean on close; the next open checks its counters');
        }
      }
    }
    await this.db.close().catch((err: unknown) => this.logger.warn({ err }, 'closing the store failed'));
    this._state = 'closed';
    this.logger.debug({ ...this.counters }, 'WAL closed');
  }

  // ── Internals: opening ─────────────────────────────────────────────────────────────

  private async openStore(): Promise<void> {
    const { dir } = this.options;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await mkdir(this.location, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const started = performance.now();
    this.db = this.options.storeOpener(this.location, this.options.leveldb);
    try {
      await this.db.open();
    } catch (err) {
      throw mapStoreError(err, 'open', this.location);
    }
    try {
      const fresh = await this.loadMeta();
      this.batches = new BatchBook();
      const stale = await this.batches.load(this.db, (seqs) => this.pendingAmong(seqs));
      if (stale.length > 0) await this.db.batch(stale, { sync: false });
      this.reader ??= new WalReader(this.readerHost(), this.options, this.counters.ackFloor);
      this.reader.reset(this.counters.ackFloor);
      await this.db.batch([{ type: 'put', key: META_STATE, value: STATE_OPEN }], { sync: true });
      this.logger.info(
        {
          walId: this._walId,
          fresh,
          pendingRecords: this.counters.pendingRecords,
          pendingBytes: this.counters.pendingBytes,
          ms: Math.round(performance.now() - started),
        },
        fresh ? 'WAL created' : 'WAL opened',
      );
    } catch (err) {
      await this.db.close().catch(() => {});
      throw mapStoreError(err, 'open', this.location);
    }
    await this.refreshFreeSpace();
    this.freeSpaceTimer ??= setInterval(() => void this.refreshFreeSpace(), this.options.freeSpaceCheckMs).unref();
    if (this.options.sync === 'interval') {
      this.syncTimer ??= setInterval(() => this.periodicSync(), this.options.syncIntervalMs).unref();
    }
    // Last: a recovery clears its failure in the same turn, so no caller sees 'open' with it set.
    // A recovery that ends while close() runs leaves the state to close() (which closes this store).
    if (this.closing === undefined) this._state = 'open';
  }

  /** Reads format, walId and counters; creates them in a new WAL. Returns true if new. */
  private async loadMeta(): Promise<boolean> {
    const format = await this.db.get(META_FORMAT);
    if (format === undefined) {
      const it = this.db.iterator({ limit: 1 });
      const anything = await it.nextv(1).finally(() => it.close());
      if (anything.length > 0) {
        throw new WalshipError(
          ErrorCodes.WAL_FORMAT,
          `${this.location} holds a LevelDB store that is not a walship WAL (no ${META_FORMAT.toString()} key)`,
        );
      }
      this.useMeta(await createMeta(this.db, this.options.randomId()));
      return true;
    }
    const loaded = await loadMeta(this.db, this.location, format);
    if (typeof loaded === 'string') {
      this.logger.warn({ problem: loaded }, 'WAL metadata missing or unreadable: rebuilding the counters by a scan and assigning a new walId (W8)');
      this.useMeta(await rebuildMeta(this.db, this.options.randomId()));
      return false;
    }
    this.useMeta(loaded);
    if (format.toString() !== String(WAL_FORMAT_VERSION)) {
      this.logger.info({ from: format.toString(), to: WAL_FORMAT_VERSION }, 'WAL format migrated');
    }
    const state = await this.db.get(META_STATE);
    if (state === undefined || !state.equals(STATE_CLEAN)) {
      // After an unclean shutdown the counters are still exact (they share every batch),
      // unless LevelDB dropped part of its log: a bounded seek tells, never a full scan.
      if (!(await countersMatchStore(this.db, this.counters))) {
        this.logger.warn({ stored: this.counters }, 'WAL counters disagree with the stored records after an unclean shutdown: recounting');
        this.useMeta(await rebuildMeta(this.db, this.options.randomId(), this.counters.nextSeq));
      }
    }
    return false;
  }

  /** Which of these records are still pending (point reads; bounded by a batch's size). */
  private async pendingAmong(seqs: readonly number[]): Promise<Set<number>> {
    const open = new Set<number>();
    for (const seq of seqs) {
      if (seq >= this.counters.ackFloor && (await this.db.get(seqKey(PREFIX_RECORD, seq))) !== undefined) open.add(seq);
    }
    return open;
  }

  private useMeta(meta: LoadedMeta): void {
    this._walId = meta.walId;
    this.counters = meta.counters;
    this.tails = [meta.tailSeq];
  }

  private readerHost(): ReaderHost {
    const wal = this;
    return {
      get walId() {
        return wal._walId;
      },
      logger: this.logger,
      store: () => wal.db,
      committedNextSeq: () => wal.counters.nextSeq,
      quarantine: (seq, value, bytes, reason) => wal.quarantine(seq, value, bytes, reason),
      readFailed: (err) => wal.readFailed(err),
      tailSeen: (seq) => wal.tailSeen(seq),
      caughtUpFromDisk: () => {
        wal.verifyPending = true;
        if (wal.writing === undefined) wal.verifyReaderHoldsPending();
      },
    };
  }

  /**
   * Once the reader caught up, the counters' pending records must all be in its hands
   * (buffered or handed out). If some are not, LevelDB skipped them: a damaged block (W5).
   * Runs only between batches, when the counters and the reader agree on what is settled.
   */
  private verifyReaderHoldsPending(): void {
    // Not while closing: the closed reader no longer takes fresh commits, so it holds fewer.
    if (!this.verifyPending || !this.reader.isCaughtUp || this.failure !== undefined || this.closing !== undefined) return;
    this.verifyPending = false;
    const held = this.reader.inFlight + this.reader.buffered.records;
    if (held === this.counters.pendingRecords) return;
    const missing = this.counters.pendingRecords - held;
    this.enterFailure(
      new WalshipError(
        ErrorCodes.WAL_CORRUPT,
        `the WAL at ${this.location} is corrupt (read: ${missing} pending records could not be read; LevelDB skipped a damaged block); run \`walship wal repair ${walDirOf(this.location)}\` (or repairWal()) to recover what is readable`,
        { details: { location: this.location, operation: 'read', missing } },
      ),
    );
  }

  // ── Internals: writing ─────────────────────────────────────────────────────────────

  private refusal(): WalshipError | undefined {
    if (this._state === 'closing' || this._state === 'closed') {
      return new WalshipError(ErrorCodes.CLOSED, `the WAL at ${this.options.dir} is ${this._state}`);
    }
    if (this.failure !== undefined) return this.failure;
    if (this._state !== 'open') {
      return new WalshipError(ErrorCodes.NOT_OPEN, `the WAL at ${this.options.dir} is ${this._state}`);
    }
    return undefined;
  }

  private enqueue(item: WriteItem): void {
    this.queue.push(item);
    this.kick();
  }

  private kick(): void {
    if (this.writing !== undefined || this.queue.length === 0) return;
    if (this.failure !== undefined) {
      this.rejectQueued(this.failure);
      return;
    }
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined;
      // Items queued while the loop was finishing start the next one.
      this.kick();
    });
  }

  /**
   * The single writer. Takes everything queued (up to the group-commit cap), builds one batch
   * with the counters it changes, writes it, and only then resolves the callers: an append
   * resolves after its batch is stored with the configured durability (W1).
   */
  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0 && this.failure === undefined) {
      // Let every caller of this turn (and those woken by the last commit) join the batch.
      await DEFER();
      const items = this.takeGroup();
      const next = { ...this.counters };
      const ops: BatchOp[] = [];
      let sync = false;
      let marks: ReturnType<WriteAheadLog['markOps']>;
      try {
        // Inside the try: a build that throws (a bug, a counter driven negative) fails its
        // items and the WAL (which reopens and rereads), instead of leaving them unsettled.
        for (const item of items) {
          item.build(next, ops);
          sync ||= item.sync;
        }
        marks = this.markOps(this.counters, next, ops);
        await this.db.batch(ops, { sync });
      } catch (err) {
        this.writeFailed(err, items);
        return;
      }
      this.counters = next;
      this.tails = this.tails.slice(marks.dropped);
      if (marks.newTail !== undefined) this.tails.push(marks.newTail);
      if (!sync) this.unsyncedWrites = true;
      for (const item of items) item.committed();
      this.verifyReaderHoldsPending();
    }
    if (this.failure !== undefined) this.rejectQueued(this.failure);
  }

  /**
   * Adds the counter marks a batch needs, in the batch itself (W4): a new tail mark right
   * after its last appended record, the settled mark if anything left the pending log, and
   * deletes of tail marks the floor has passed (never the newest).
   */
  private markOps(prev: Counters, next: Counters, ops: BatchOp[]): { newTail?: number; dropped: number } {
    const newTail = next.nextSeq !== prev.nextSeq ? next.nextSeq - 1 : undefined;
    if (newTail !== undefined) ops.push({ type: 'put', key: tailKey(newTail), value: encodeTail(next) });
    const newest = newTail ?? this.tails[this.tails.length - 1];
    let dropped = 0;
    for (const seq of this.tails) {
      if (seq >= next.ackFloor || seq === newest) break;
      ops.push({ type: 'del', key: tailKey(seq) });
      dropped++;
    }
    if (settledChanged(prev, next)) ops.push({ type: 'put', key: META_SETTLED, value: encodeSettled(next) });
    return newTail === undefined ? { dropped } : { newTail, dropped };
  }

  /** A tail mark the reader met (after a reopen): remembered so the floor can delete it. */
  private tailSeen(seq: number): void {
    const t = this.tails;
    if (t.includes(seq)) return;
    let at = t.length;
    while (at > 0 && (t[at - 1] as number) > seq) at--;
    t.splice(at, 0, seq);
  }

  private takeGroup(): WriteItem[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const b = (this.queue[n] as WriteItem).bytes;
      if (n > 0 && bytes + b > this.options.groupCommitMaxBytes) break;
      bytes += b;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** Runs an ad-hoc mutation through the writer (replay, purge). */
  private mutate(build: (next: Counters, ops: BatchOp[], offered: WalRecord[]) => void): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise<void>((resolve, reject) => {
      const offered: WalRecord[] = [];
      this.enqueue({
        bytes: 0,
        sync: true,
        build: (next, ops) => build(next, ops, offered),
        committed: () => {
          this.reader.offer(offered);
          resolve();
        },
        failed: reject,
      });
    });
  }

  private quarantine(seq: number, value: Buffer, bytes: number, reason: string): void {
    this.logger.error({ seq, reason }, 'record failed its check and was quarantined (W5)');
    this.enqueue({
      bytes: 0,
      sync: false,
      build: (next, ops) => {
        if (this.reader.settle(seq, this.reader.generation) < 0) return;
        this.batches.settled(seq, ops);
        const key = seqKey(PREFIX_QUARANTINE, seq);
        const moved = encodeSidelined(reason, this.options.clock(), undefined, value);
        ops.push({ type: 'del', key: seqKey(PREFIX_RECORD, seq) }, { type: 'put', key, value: moved });
        next.pendingRecords--;
        next.pendingBytes -= bytes;
        next.quarantineRecords++;
        next.quarantineBytes += key.length + moved.length;
        next.ackFloor = this.reader.floor();
      },
      committed: () => this.reader.wake(),
      failed: () => {},
    });
  }

  private writeFailed(err: unknown, items: WriteItem[]): void {
    const mapped = mapStoreError(err, 'write', this.location);
    this.enterFailure(mapped);
    for (const item of items) item.failed(mapped);
    this.rejectQueued(mapped);
  }

  private readFailed(err: unknown): Error {
    const mapped = mapStoreError(err, 'read', this.location);
    this.enterFailure(mapped);
    return mapped;
  }

  private rejectQueued(err: Error): void {
    const queued = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const item of queued) item.failed(err);
  }

  /**
   * LevelDB write errors are sticky: the WAL stops accepting, and (unless the store is corrupt,
   * which needs a repair) tries to reopen it with backoff until the cause is gone.
   */
  private enterFailure(err: WalshipError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.reader.fail(err);
    if (this.closing !== undefined) {
      // Closing: the store is closed next, and reopened by the next open, not by a recovery
      // that would outlive close().
      this.logger.error({ code: err.code, err: err.message }, 'WAL write failed while closing');
      return;
    }
    this._state = 'failed';
    this.logger.error({ code: err.code, err: err.message }, 'WAL stopped accepting');
    if (err.code !== ErrorCodes.WAL_CORRUPT) this.scheduleRecovery();
  }

  private scheduleRecovery(): void {
    if (this.closing !== undefined) return;
    clearTimeout(this.recoverTimer);
    this.recoverTimer = setTimeout(() => {
      void this.recover().catch(() => {});
    }, this.recoverDelay).unref();
  }

  /**
   * Closes and reopens the store after a write error. Resolves when the WAL accepts again;
   * rejects (and schedules another try, with a doubled delay) if the cause is still there.
   * Records handed out before are handed out again (a new reader generation).
   */
  recover(): Promise<void> {
    if (this.closing !== undefined) {
      return Promise.reject(new WalshipError(ErrorCodes.CLOSED, `the WAL at ${this.options.dir} is ${this._state}: open it again instead`));
    }
    if (this.failure === undefined) return Promise.resolve();
    this.recovering ??= (async () => {
      try {
        await this.db.close().catch(() => {});
        await this.openStore();
        this.logger.warn({ after: this.failure?.code }, 'WAL reopened and accepting again');
        this.failure = undefined;
        this.recoverDelay = this.options.recoverDelayMs;
      } catch (err) {
        const mapped = mapStoreError(err, 'reopen', this.location);
        this.recoverDelay = Math.min(this.recoverDelay * 2, this.options.recoverMaxDelayMs);
        if (this.closing === undefined && (this._state === 'open' || this._state === 'opening')) this._state = 'failed';
        if (mapped.code !== ErrorCodes.WAL_CORRUPT && this._state === 'failed') this.scheduleRecovery();
        throw mapped;
      } finally {
        this.recovering = undefined;
      }
    })();
    return this.recovering;
  }

  private periodicSync(): void {
    if (!this.unsyncedWrites || this._state !== 'open' || this.failure !== undefined) return;
    this.unsyncedWrites = false;
    this.enqueue({
      bytes: 0,
      sync: true,
      build: (_next, ops) => ops.push({ type: 'put', key: META_SYNC, value: Buffer.from(String(this.options.clock())) }),
      committed: () => {},
      failed: () => {},
    });
  }

  private async refreshFreeSpace(): Promise<void> {
    try {
      this.freeBytes = await this.options.freeSpace(this.options.dir);
    } catch (err) {
      this.logger.debug({ err }, 'free space check failed');
    }
  }

  // ── Internals: compaction ──────────────────────────────────────────────────────────

  /**
   * Compacts the acknowledged prefix (so that its tombstones and data leave the disk, W6)
   * once enough was acknowledged. One compaction at a time, owned and awaited on close.
   */
  private maybeCompact(force = false): void {
    if (this.compacting !== undefined || this.failure !== undefined) return;
    if (!force && this.ackedSinceCompaction < this.options.compactAfterBytes) return;
    const floor = this.counters.ackFloor;
    const from = this.compactedUpTo;
    this.ackedSinceCompaction = 0;
    const started = performance.now();
    this.compacting = (async () => {
      try {
        await this.db.compactRange(seqKey(PREFIX_RECORD, from), seqKey(PREFIX_RECORD, floor));
        if (force) {
          await this.db.compactRange(Buffer.from(PREFIX_DEAD_LETTER), prefixEnd(PREFIX_DEAD_LETTER));
          await this.db.compactRange(Buffer.from(PREFIX_QUARANTINE), prefixEnd(PREFIX_QUARANTINE));
        }
        this.compactedUpTo = floor;
        this.compactions++;
        this.logger.debug({ from, to: floor, ms: Math.round(performance.now() - started) }, 'compacted the acknowledged range');
      } catch (err) {
        const mapped = mapStoreError(err, 'compaction', this.location);
        this.logger.error({ code: mapped.code, err: mapped.message }, 'compaction failed');
        if (isCorruption(err) || mapped.code === ErrorCodes.DISK_FULL || mapped.code === ErrorCodes.WAL_IO) {
          this.enterFailure(mapped);
        }
      } finally {
        this.compacting = undefined;
      }
    })();
  }

  // ── Internals: reading spaces ──────────────────────────────────────────────────────

  private isReadable(): boolean {
    return this._state === 'open' || this._state === 'failed' || (this._state === 'closing' && this.db !== undefined);
  }

  private assertReadable(): void {
    if (this._state === 'closed') {
      throw new WalshipError(ErrorCodes.CLOSED, `the WAL at ${this.options.dir} is closed`);
    }
  }

  private async readSpace(prefix: SeqSpace, fromSeq: number, limit: number): Promise<Array<[Buffer, Buffer]>> {
    this.assertReadable();
    const it = this.db.iterator({ gte: seqKey(prefix, fromSeq), lt: prefixEnd(prefix), limit });
    try {
      return await it.nextv(limit);
    } catch (err) {
      throw mapStoreError(err, 'read', this.location);
    } finally {
      await it.close();
    }
  }

  private async listSidelined(prefix: SeqSpace, limit: number): Promise<SidelinedRecord[]> {
    const out: SidelinedRecord[] = [];
    let from = 0;
    while (out.length < limit) {
      const page = await this.readSpace(prefix, from, Math.min(256, limit - out.length));
      if (page.length === 0) break;
      for (const [key, value] of page) {
        const seq = seqOfKey(key);
        const s = decodeSidelined(value);
        const d = s && decodeEnvelope(s.original);
        const ok = d !== undefined && !isEnvelopeProblem(d);
        out.push({
          seq,
          reason: s?.reason ?? 'unreadable entry',
          movedAt: s?.movedAt ?? 0,
          idempotencyKey: s?.idempotencyKey ?? (ok ? d.meta.idempotencyKey : undefined),
          meta: ok ? d.meta : undefined,
          payload: ok ? d.payload : undefined,
          bytes: key.length + value.length,
        });
        from = seq + 1;
      }
    }
    return out;
  }

  private async purgeSpace(prefix: typeof PREFIX_DEAD_LETTER | typeof PREFIX_QUARANTINE): Promise<number> {
    let purged = 0;
    for (;;) {
      const page = await this.readSpace(prefix, 0, 1024);
      if (page.length === 0) break;
      await this.mutate((next, ops) => {
        for (const [key, value] of page) {
          ops.push({ type: 'del', key });
          if (prefix === PREFIX_DEAD_LETTER) {
            next.deadLetterRecords--;
            next.deadLetterBytes -= key.length + value.length;
          } else {
            next.quarantineRecords--;
            next.quarantineBytes -= key.length + value.length;
          }
        }
      });
      purged += page.length;
    }
    if (purged > 0) {
      await this.db.compactRange(Buffer.from(prefix), prefixEnd(prefix)).catch(() => {});
      this.logger.warn({ space: prefix, purged }, 'purged');
    }
    return purged;
  }
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for (const name of await readdir(dir)) {
      const s = await stat(join(dir, name)).catch(() => undefined);
      if (s?.isFile()) total += s.size;
    }
  } catch {
    return 0;
  }
  return total;
}

/**
 * Repairs a damaged WAL: runs LevelDB's repair on its store, then opens it, quarantines every
 * record that fails its check, rebuilds the counters by one scan, and gives the WAL a new
 * walId (W8) so that no deduplicating sink mistakes its records for earlier ones.
 */
export async function repairWal(options: WalOptions): Promise<RepairReport> {
  const resolved = resolveWalOptions(options);
  const location = join(resolved.dir, 'db');
  const logger = resolved.logger.child({ component: 'wal', dir: resolved.dir });
  try {
    await repairStore(location);
  } catch (err) {
    throw mapStoreError(err, 'repair', location);
  }
  const db = resolved.storeOpener(location, resolved.leveldb);
  try {
    await db.open();
  } catch (err) {
    throw mapStoreError(err, 'open after repair', location);
  }
  try {
    const oldId = (await db.get(META_WAL_ID))?.toString();
    const format = await db.get(META_FORMAT);
    const before = format === undefined ? undefined : await loadMeta(db, location, format).catch(() => undefined);
    // Check every record; what fails moves to quarantine.
    let quarantined = 0;
    let from = Buffer.from(PREFIX_RECORD);
    for (;;) {
      const it = db.iterator({ gte: from, lt: prefixEnd(PREFIX_RECORD), limit: 1024 });
      const page = await it.nextv(1024).finally(() => it.close());
      if (page.length === 0) break;
      const ops: BatchOp[] = [];
      for (const [key, value] of page) {
        if (isTailKey(key)) continue;
        const d = decodeEnvelope(value);
        if (isEnvelopeProblem(d)) {
          ops.push(
            { type: 'del', key },
            {
              type: 'put',
              key: seqKey(PREFIX_QUARANTINE, seqOfKey(key)),
              value: encodeSidelined(`repair: ${d.kind}: ${d.message}`, resolved.clock(), undefined, value),
            },
          );
          quarantined++;
        }
      }
      if (ops.length > 0) await db.batch(ops, { sync: false });
      from = Buffer.concat([(page[page.length - 1] as [Buffer, Buffer])[0], Buffer.from([0])]);
    }
    const previous = typeof before === 'object' ? before.counters : undefined;
    const rebuilt = await rebuildMeta(db, resolved.randomId(), previous?.nextSeq ?? 1);
    await db.batch([{ type: 'put', key: META_STATE, value: STATE_CLEAN }], { sync: true });
    const c = rebuilt.counters;
    const report: RepairReport = {
      previousWalId: oldId,
      walId: rebuilt.walId,
      pendingRecords: c.pendingRecords,
      deadLetterRecords: c.deadLetterRecords,
      quarantineRecords: c.quarantineRecords,
      quarantinedNow: quarantined,
      pendingBefore: previous?.pendingRecords,
    };
    logger.warn(report, 'WAL repaired');
    return report;
  } finally {
    await db.close().catch(() => {});
  }
}

export interface RepairReport {
  readonly previousWalId: string | undefined;
  readonly walId: string;
  readonly pendingRecords: number;
  readonly deadLetterRecords: number;
  readonly quarantineRecords: number;
  /** Records that failed their check during this repair. */
  readonly quarantinedNow: number;
  /** What the counters said before the repair (undefined if they were unreadable). */
  readonly pendingBefore: number | undefined;
}
