import { setMaxListeners } from 'node:events';
import pRetry from 'p-retry';
import {
  DEFAULT_BATCH_MAX_BYTES,
  DEFAULT_BATCH_MAX_RECORDS,
  DEFAULT_CONFIG_ERROR_LOG_INTERVAL_MS,
  DEFAULT_CONFIG_RETRY_MAX_DELAY_MS,
  DEFAULT_IN_FLIGHT_BATCHES,
  DEFAULT_IN_FLIGHT_BYTES,
  DEFAULT_RETRY_MAX_DELAY_MS,
  DEFAULT_RETRY_MIN_DELAY_MS,
} from '../config/defaults.ts';
import { giveBackGroupBuffer } from '../model/headroom.ts';
import { ErrorCodes, WalshipError } from '../errors.ts';
import { defaultLogger, type Logger } from '../logging/logger.ts';
import type { FixedBatch, WalRecord } from '../wal/index.ts';
import { positiveInt } from '../wal/options.ts';
import { Backoff, sleep } from './backoff.ts';
import type { ConnectionMode, EndpointState } from './connection-mode.ts';
import { DeliveryError, networkFailure } from './delivery-error.ts';
import { batchKey } from './protocol-client.ts';

/** How long stop() waits for aborted deliveries to end before it closes the mode anyway (ms). */
const STOP_ABORT_GRACE_MS = 1000;

/** How often a stored batch waiting for a member is looked at again (ms). */
const MEMBER_WAIT_MS = 100;

/** What the delivery manager needs from the WAL (WriteAheadLog fits). */
export interface DeliverySource {
  readonly walId: string;
  /** Pending records (cheap, no I/O). */
  readonly pendingRecords: number;
  nextBatch(maxRecords: number, maxBytes: number, signal?: AbortSignal): Promise<WalRecord[]>;
  ack(records: readonly WalRecord[]): Promise<void>;
  deadLetter(record: WalRecord, reason: string): Promise<void>;
  /** Stores a batch's composition before its first attempt (D2). */
  fixBatch(seqs: readonly number[]): Promise<void>;
  /** Replaces a stored composition by those of its halves (a split batch, D2). Optional. */
  splitBatch?(parts: readonly (readonly number[])[]): Promise<void>;
  /** The stored composition containing `seq` (from before a restart), if any. */
  batchOf(seq: number): FixedBatch | undefined;
}

/** Options of {@link DeliveryManager}. */
export interface DeliveryManagerOptions {
  readonly source: DeliverySource;
  /** The connection mode; the manager owns it and closes it on stop. */
  readonly mode: ConnectionMode;
  /** Records per delivery batch. @defaultValue 8 (use 1 for SLS encoding) */
  readonly batchMaxRecords?: number;
  /** Bytes per delivery batch (a larger single record goes alone). @defaultValue 4 MiB */
  readonly batchMaxBytes?: number;
  /** Batches handed to the mode and not yet settled. @defaultValue 16 */
  readonly inFlightBatches?: number;
  /** Bytes of those batches. @defaultValue 16 MiB */
  readonly inFlightBytes?: number;
  /** First retry delay of a batch (full jitter). @defaultValue 500 */
  readonly retryMinDelayMs?: number;
  /** Retry delays double up to this. @defaultValue 30000 */
  readonly retryMaxDelayMs?: number;
  /** Retry delay cap while the destination is missing (config error). @defaultValue 60000 */
  readonly configRetryMaxDelayMs?: number;
  /** Deliver records with the same logstoreKey in WAL order (D5). @defaultValue false */
  readonly ordered?: boolean;
  readonly logger?: Logger;
  readonly random?: () => number;
}

export interface DeliveryStats {
  readonly deliveredRecords: number;
  readonly deliveredBytes: number;
  readonly deliveredBatches: number;
  /** Publish attempts, first tries included. */
  readonly attempts: number;
  readonly retries: number;
  /** Failed attempts by reason (`http_503`, `econnrefused`, `timeout`, ...). */
  readonly failures: Readonly<Record<string, number>>;
  readonly deadLettered: number;
  /** Batches split to isolate a permanently rejected record. */
  readonly splits: number;
  readonly inFlightBatches: number;
  readonly inFlightRecords: number;
  readonly inFlightBytes: number;
  readonly endpoints: readonly EndpointState[];
}

interface Resolved {
  readonly batchMaxRecords: number;
  readonly batchMaxBytes: number;
  readonly inFlightBatches: number;
  readonly inFlightBytes: number;
  readonly retryMinDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly configRetryMaxDelayMs: number;
  readonly ordered: boolean;
  readonly logger: Logger;
  readonly random: () => number;
}

function resolve(o: DeliveryManagerOptions): Resolved {
  const retryMinDelayMs = positiveInt('retryMinDelayMs', o.retryMinDelayMs, DEFAULT_RETRY_MIN_DELAY_MS, 0);
  const retryMaxDelayMs = positiveInt('retryMaxDelayMs', o.retryMaxDelayMs, Math.max(DEFAULT_RETRY_MAX_DELAY_MS, retryMinDelayMs), 0);
  if (retryMaxDelayMs < retryMinDelayMs) {
    throw new WalshipError(
      ErrorCodes.INVALID_OPTIONS,
      `Expected \`retryMaxDelayMs\` (${retryMaxDelayMs}) to be at least \`retryMinDelayMs\` (${retryMinDelayMs})`,
    );
  }
  return {
    batchMaxRecords: positiveInt('batchMaxRecords', o.batchMaxRecords, DEFAULT_BATCH_MAX_RECORDS),
    batchMaxBytes: positiveInt('batchMaxBytes', o.batchMaxBytes, DEFAULT_BATCH_MAX_BYTES),
    inFlightBatches: positiveInt('inFlightBatches', o.inFlightBatches, DEFAULT_IN_FLIGHT_BATCHES),
    inFlightBytes: positiveInt('inFlightBytes', o.inFlightBytes, DEFAULT_IN_FLIGHT_BYTES),
    retryMinDelayMs,
    retryMaxDelayMs,
    configRetryMaxDelayMs: positiveInt(
      'configRetryMaxDelayMs',
      o.configRetryMaxDelayMs,
      Math.max(DEFAULT_CONFIG_RETRY_MAX_DELAY_MS, retryMinDelayMs),
      0,
    ),
    ordered: o.ordered ?? false,
    logger: (o.logger ?? defaultLogger()).child({ component: 'delivery' }),
    random: o.random ?? Math.random,
  };
}

/**
 * The at-least-once drain loop. See ./index.ts for the design and invariants D1–D5.
 */
export class DeliveryManager {
  private readonly source: DeliverySource;
  private readonly mode: ConnectionMode;
  private readonly o: Resolved;
  private readonly logger: Logger;

  private running = false;
  private urgent = false;
  private pumping: Promise<void> | undefined;
  private readonly pumpAbort = new AbortController();
  /** Aborts publishes and retry waits when stop's deadline passes. */
  private readonly deliveryAbort = new AbortController();
  /** Dispatched batches (by their records array) and their delivery. */
  private readonly inFlight = new Map<WalRecord[], Promise<void>>();
  private inFlightRecords = 0;
  private inFlightBytes = 0;
  private settledWaiters: Array<() => void> = [];
  private stopping: Promise<void> | undefined;

  /**
   * Records read and not yet in a batch: one queue (`'all'`), or one per logstoreKey when
   * ordered; and, when ordered, the keys with a batch in flight.
   */
  private readonly queues = new Map<bigint | 'all', WalRecord[]>();
  private readonly keysInFlight = new Set<bigint | 'all'>();
  private queuedRecords = 0;
  private queuedBytes = 0;

  private readonly counters = {
    deliveredRecords: 0,
    deliveredBytes: 0,
    deliveredBatches: 0,
    attempts: 0,
    retries: 0,
    deadLettered: 0,
    splits: 0,
  };
  private readonly failures: Record<string, number> = {};
  private readonly configLoggedAt = new Map<string, number>();

  constructor(options: DeliveryManagerOptions) {
    this.source = options.source;
    this.mode = options.mode;
    this.o = resolve(options);
    this.logger = this.o.logger;
    // Every in-flight publish and retry wait listens on these: no fixed bound applies.
    setMaxListeners(0, this.pumpAbort.signal, this.deliveryAbort.signal);
  }

  /** Starts the drain loop. */
  start(): void {
    if (this.running || this.stopping !== undefined) return;
    this.running = true;
    this.pumping = this.pump().catch((err: unknown) => {
      this.logger.error({ err }, 'delivery loop failed');
    });
  }

  /** Urgent mode (a graceful stop is coming): twice the in-flight window. */
  setUrgent(flag: boolean): void {
    this.urgent = flag;
    this.wakeSettled();
  }

  stats(): DeliveryStats {
    return {
      ...this.counters,
      failures: { ...this.failures },
      inFlightBatches: this.inFlight.size,
      inFlightRecords: this.inFlightRecords,
      inFlightBytes: this.inFlightBytes,
      endpoints: this.mode.endpoints(),
    };
  }

  /**
   * Drains until nothing is pending or `timeoutMs` passed, then stops reading, aborts what is
   * still in flight (those records stay in the WAL and are delivered after the next start)
   * and closes the mode. Idempotent.
   */
  stop(timeoutMs = 0): Promise<void> {
    this.stopping ??= this.doStop(timeoutMs);
    return this.stopping;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    while (this.running && left() > 0 && (this.source.pendingRecords > 0 || this.inFlight.size > 0)) {
      await sleep(Math.min(20, left()));
    }
    this.running = false;
    this.pumpAbort.abort(new WalshipError(ErrorCodes.CLOSED, 'delivery is stopping'));
    this.wakeSettled();
    await this.pumping;
    if (this.inFlight.size > 0 && left() > 0) {
      await Promise.race([Promise.allSettled([...this.inFlight.values()]), sleep(left())]);
    }
    const abandoned = this.inFlightRecords + this.queuedRecords;
    this.deliveryAbort.abort(new WalshipError(ErrorCodes.CLOSED, 'delivery stopped before these records were acknowledged'));
    // A sink that ignores the abort (a stalled pipe) must not hold the stop past its deadline
    // for long: after a short grace the mode closes anyway; those records stay in the WAL.
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      Promise.allSettled([...this.inFlight.values()]).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_ABORT_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (late) {
      this.logger.warn(
        { inFlightBatches: this.inFlight.size, graceMs: STOP_ABORT_GRACE_MS },
        'deliveries still running after being aborted at stop; closing anyway (their records stay in the WAL)',
      );
    }
    await this.mode.close();
    this.logger.info(
      { ...this.counters, leftInWal: this.source.pendingRecords, abandonedInFlight: abandoned },
      'delivery stopped',
    );
  }

  // ── The pump ───────────────────────────────────────────────────────────────────────

  private windowFull(): boolean {
    const factor = this.urgent ? 2 : 1;
    return (
      this.inFlight.size >= this.o.inFlightBatches * factor ||
      this.inFlightBytes + this.queuedBytes >= this.o.inFlightBytes * factor ||
      this.queuedRecords >= this.o.inFlightBatches * this.o.batchMaxRecords * factor
    );
  }

  private async pump(): Promise<void> {
    const signal = this.pumpAbort.signal;
    while (this.running) {
      // A batch stored before a restart waits for all its members: keep reading for it.
      if (this.windowFull() && !this.waitingForMembers()) {
        await new Promise<void>((r) => this.settledWaiters.push(r));
        continue;
      }
      let records: WalRecord[];
      try {
        // As many records as the window has room for (at least a batch), in one read: fewer
        // round trips to the WAL than a read per batch, and the window bounds them the same (D4).
        const factor = this.urgent ? 2 : 1;
        const roomRecords = this.o.inFlightBatches * this.o.batchMaxRecords * factor - this.queuedRecords;
        const roomBytes = this.o.inFlightBytes * factor - this.inFlightBytes - this.queuedBytes;
        // While a stored batch waits for a member, that member may be settled without any new
        // record (quarantined): look again every MEMBER_WAIT_MS instead of waiting for input.
        const waiting = this.waitingForMembers();
        records = await this.source.nextBatch(
          Math.max(this.o.batchMaxRecords, roomRecords),
          Math.max(this.o.batchMaxBytes, roomBytes),
          waiting ? AbortSignal.any([signal, AbortSignal.timeout(MEMBER_WAIT_MS)]) : signal,
        );
      } catch (err) {
        if (!this.running) return;
        if (!signal.aborted && err instanceof DOMException && err.name === 'TimeoutError') {
          this.dispatchReady();
          continue;
        }
        this.logger.warn({ err: (err as Error).message }, 'reading the WAL failed; retrying in 1 s');
        await sleep(1000, signal).catch(() => {});
        continue;
      }
      if (records.length === 0) return; // the WAL closed
      for (const r of records) {
        const key = this.o.ordered ? r.meta.logstoreKey : 'all';
        const q = this.queues.get(key);
        if (q === undefined) this.queues.set(key, [r]);
        else q.push(r);
        this.queuedRecords++;
        this.queuedBytes += r.bytes;
      }
      this.dispatchReady();
    }
  }

  /** True when a queue's head belongs to a stored batch whose pending members are not all read yet. */
  private waitingForMembers(): boolean {
    for (const q of this.queues.values()) {
      const head = q[0];
      if (head !== undefined && this.cutFixed(q, head, false) === undefined) return true;
    }
    return false;
  }

  /** Cuts and dispatches batches while the window has room (one per key in flight when ordered). */
  private dispatchReady(): void {
    for (const key of [...this.queues.keys()]) {
      while (this.running && !this.keysInFlight.has(key) && this.inFlight.size < this.o.inFlightBatches * (this.urgent ? 2 : 1)) {
        const batch = this.cut(key);
        if (batch === undefined) break;
        if (this.o.ordered) {
          this.keysInFlight.add(key);
          this.dispatch(batch, () => {
            this.keysInFlight.delete(key);
            this.dispatchReady();
          });
          break;
        }
        this.dispatch(batch, () => this.dispatchReady());
      }
    }
  }

  /**
   * The next batch of a queue. A record whose batch was stored before a restart goes out with
   * the same members again (those still pending), so under the same key (D2); otherwise the
   * batch takes what is queued up to the limits, stopping before a stored batch's member.
   */
  private cut(key: bigint | 'all'): WalRecord[] | undefined {
    const q = this.queues.get(key);
    const head = q?.[0];
    if (q === undefined || head === undefined) return undefined;
    let batch = this.cutFixed(q, head, true);
    if (batch === undefined) return undefined; // members still to be read
    if (batch.length === 0) {
      let bytes = 0;
      let n = 0;
      while (n < q.length && n < this.o.batchMaxRecords) {
        const r = q[n] as WalRecord;
        if (n > 0 && (bytes + r.bytes > this.o.batchMaxBytes || this.source.batchOf(r.seq) !== undefined)) break;
        bytes += r.bytes;
        n++;
      }
      batch = q.splice(0, n);
    }
    if (q.length === 0) this.queues.delete(key);
    this.queuedRecords -= batch.length;
    for (const r of batch) this.queuedBytes -= r.bytes;
    return batch;
  }

  /**
   * For a head record of a stored batch: its pending members (taken out of the queue when
   * `take`), or undefined while some are not read yet. An empty array: no stored batch (or
   * one that cannot go as stored, below).
   */
  private cutFixed(q: WalRecord[], head: WalRecord, take: boolean): WalRecord[] | undefined {
    const fixed = this.source.batchOf(head.seq);
    if (fixed === undefined) return [];
    const members = q.filter((r) => fixed.open.has(r.seq));
    if (members.length < fixed.open.size) {
      if (!this.o.ordered) return undefined; // one queue: the others are still to be read
      // Every missing member must be in another key's queue; one that is not is still to be
      // read, or being settled (quarantined, say): wait for it, as one queue would.
      const here = new Set(members.map((r) => r.seq));
      for (const seq of fixed.open) {
        if (!here.has(seq) && ![...this.queues.values()].some((other) => other !== q && other.some((r) => r.seq === seq))) return undefined;
      }
      // Every member was read, but not all are in this queue: a batch stored by an unordered
      // run that spans logstoreKeys, now delivered ordered (one queue per key). Its members go
      // in their keys' batches instead (new keys for them: at most one redelivery past a
      // deduplicating destination), rather than waiting forever for each other.
      return [];
    }
    if (take) {
      const set = new Set(members);
      const rest = q.filter((r) => !set.has(r));
      q.length = 0;
      q.push(...rest);
    }
    return members;
  }

  private dispatch(records: WalRecord[], after?: () => void): void {
    let bytes = 0;
    for (const r of records) bytes += r.bytes;
    this.inFlightRecords += records.length;
    this.inFlightBytes += bytes;
    this.inFlight.set(records, this.settle(records, bytes, after));
  }

  /** Delivers a dispatched batch, then gives its room in the window back. Never rejects. */
  private async settle(records: WalRecord[], bytes: number, after: (() => void) | undefined): Promise<void> {
    try {
      await this.deliver(records);
    } catch (err) {
      this.logger.error({ err }, 'unexpected delivery error; the records stay in the WAL');
    } finally {
      this.inFlight.delete(records);
      this.inFlightRecords -= records.length;
      this.inFlightBytes -= bytes;
      after?.();
      this.wakeSettled();
    }
  }

  private wakeSettled(): void {
    const w = this.settledWaiters;
    this.settledWaiters = [];
    for (const f of w) f();
  }

  // ── One batch ──────────────────────────────────────────────────────────────────────

  /**
   * Delivers a batch until the destination acknowledges it (D1), retrying retryable and
   * configuration failures forever with full-jitter backoff and Retry-After (D3). The batch's
   * composition (and so its key, D2) is fixed here; only a partial publish shrinks it to the
   * unpublished rest. A permanent rejection splits the batch to isolate the record at fault.
   * The first attempt is made directly (the common case costs no retry machinery); p-retry
   * runs the attempts after a failure.
   */
  private async deliver(records: WalRecord[]): Promise<void> {
    let pending = records;
    // With batches of one record (SLS) the key is the record's: nothing to store. Otherwise
    // even a batch of one is stored, or a restart could send it again inside a larger batch.
    if (this.o.batchMaxRecords > 1 && this.source.batchOf((records[0] as WalRecord).seq) === undefined) {
      try {
        // Stored before the first attempt, so the batch keeps its key across a restart (D2).
        await this.source.fixBatch(records.map((r) => r.seq));
      } catch (err) {
        // The WAL failed: these records are handed out again once it reopens.
        this.logger.warn({ err: (err as Error).message }, 'could not store a batch composition; the records stay pending');
        return;
      }
    }
    const signal = this.deliveryAbort.signal;
    let backoff: Backoff | undefined;
    let configBackoff: Backoff | undefined;
    const attempt = async (): Promise<void> => {
      this.counters.attempts++;
      const batch = { key: batchKey(() => this.source.walId, pending), records: pending, ...(this.o.ordered ? { ordered: true } : {}) };
      let rest: readonly unknown[];
      try {
        rest = await this.mode.publish(batch, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        // Anything a sink throws that is not classified is treated as retryable: never dropped.
        throw err instanceof DeliveryError ? err : networkFailure(err, 'publish');
      }
      let unpublished = rest.length === 0 ? undefined : new Set(rest);
      let published = unpublished === undefined ? pending : pending.filter((r) => !unpublished?.has(r));
      if (unpublished !== undefined && published.length + unpublished.size !== pending.length) {
        // The client named records that are not this batch's: acknowledge nothing, retry all (D1).
        published = [];
        unpublished = new Set(pending);
      }
      // Delete from the WAL only what the destination acknowledged (D1).
      if (published.length > 0) await this.acknowledge(published);
      if (unpublished !== undefined) {
        pending = pending.filter((r) => unpublished.has(r));
        throw new DeliveryError(`${pending.length} of ${batch.records.length} records not published`, {
          kind: 'retryable',
          reason: 'partial',
        });
      }
    };
    /** Counts, logs and waits out a failed attempt that will be retried (D3). */
    const failedAttempt = async (error: unknown, attemptNumber: number): Promise<void> => {
      if (!(error instanceof DeliveryError) || error.kind === 'permanent' || signal.aborted) return;
      this.counters.retries++;
      this.failures[error.reason] = (this.failures[error.reason] ?? 0) + 1;
      let wait: number;
      if (error.kind === 'config') {
        configBackoff ??= new Backoff({
          initialMs: Math.max(this.o.retryMinDelayMs, 1),
          maxMs: this.o.configRetryMaxDelayMs,
          jitter: 'full',
          random: this.o.random,
        });
        wait = configBackoff.next();
      } else {
        backoff ??= new Backoff({ initialMs: this.o.retryMinDelayMs, maxMs: this.o.retryMaxDelayMs, jitter: 'full', random: this.o.random });
        wait = backoff.next();
      }
      wait = Math.max(wait, error.retryAfterMs ?? 0);
      this.logFailure(error, pending, attemptNumber, wait);
      await sleep(wait, signal);
    };
    const retryable = (error: unknown): boolean => error instanceof DeliveryError && error.kind !== 'permanent';
    try {
      // The first attempt goes without p-retry: most batches need no other. A failure is
      // handled as p-retry handles it (onFailedAttempt, then shouldRetry), then p-retry
      // takes over with the attempts that follow.
      try {
        signal.throwIfAborted();
        await attempt();
        signal.throwIfAborted();
        return;
      } catch (error) {
        if (signal.aborted || !(error instanceof Error)) throw error;
        await failedAttempt(error, 1);
        if (!retryable(error)) throw error;
      }
      await pRetry(attempt, {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 0,
        maxTimeout: 0,
        signal,
        shouldRetry: ({ error }) => retryable(error),
        onFailedAttempt: ({ error, attemptNumber }) => failedAttempt(error, attemptNumber + 1),
      });
    } catch (err) {
      if (signal.aborted) return; // stopping: the records stay in the WAL for the next start
      if (err instanceof DeliveryError && err.kind === 'permanent') {
        this.failures[err.reason] = (this.failures[err.reason] ?? 0) + 1;
        await this.rejected(pending, err);
        return;
      }
      throw err;
    }
  }

  /** A permanent rejection: split to isolate the record at fault, dead-letter only that one. */
  private async rejected(records: WalRecord[], err: DeliveryError): Promise<void> {
    if (records.length > 1) {
      this.counters.splits++;
      const mid = Math.ceil(records.length / 2);
      this.logger.info({ records: records.length, reason: err.reason }, 'batch rejected: splitting to isolate the record at fault');
      const halves = [records.slice(0, mid), records.slice(mid)];
      if (this.o.batchMaxRecords > 1 && this.source.splitBatch !== undefined) {
        try {
          // Stored first, so that after a restart each half goes out again under its own key.
          await this.source.splitBatch(halves.map((h) => h.map((r) => r.seq)));
        } catch (e) {
          this.logger.warn({ err: (e as Error).message }, 'could not store the halves of a split batch; after a restart they may go out under another key');
        }
      }
      for (const half of halves) await this.deliver(half);
      return;
    }
    const record = records[0] as WalRecord;
    try {
      await this.source.deadLetter(record, `${err.reason}: ${err.message}`);
      this.counters.deadLettered++;
    } catch (e) {
      this.logger.error({ seq: record.seq, err: (e as Error).message }, 'could not dead-letter a rejected record; it stays pending');
    }
  }

  private async acknowledge(records: readonly WalRecord[]): Promise<void> {
    let bytes = 0;
    for (const r of records) bytes += r.bytes;
    this.counters.deliveredRecords += records.length;
    this.counters.deliveredBytes += bytes;
    this.counters.deliveredBatches++;
    try {
      await this.source.ack(records);
      for (const r of records) giveBackGroupBuffer(r.envelope);
    } catch (err) {
      // The WAL failed or closed: these records are delivered again after it reopens.
      this.logger.warn({ err: (err as Error).message, records: records.length }, 'ack not stored; the records will be redelivered');
    }
  }

  private logFailure(error: DeliveryError, records: readonly WalRecord[], attempt: number, waitMs: number): void {
    const fields = {
      reason: error.reason,
      err: error.message,
      attempt,
      retryInMs: waitMs,
      records: records.length,
      firstSeq: records[0]?.seq,
    };
    if (error.kind === 'config') {
      const key = error.reason;
      const now = performance.now();
      const last = this.configLoggedAt.get(key);
      if (last === undefined || now - last >= DEFAULT_CONFIG_ERROR_LOG_INTERVAL_MS) {
        this.configLoggedAt.set(key, now);
        this.logger.error(fields, 'the destination is missing or misconfigured; retrying (records are kept, never dropped)');
      }
    } else if (error.auth) {
      this.logger.warn(fields, 'the destination refused our credentials; retrying in case they rotate');
    } else if (attempt === 1 || attempt % 10 === 0) {
      this.logger.warn(fields, 'delivery attempt failed; retrying');
    } else {
      this.logger.debug(fields, 'delivery attempt failed; retrying');
    }
  }
}
