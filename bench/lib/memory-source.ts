/**
 * The end-to-end benchmark's no-WAL baseline: an in-memory {@link DeliverySource} (what the
 * DeliveryManager drains instead of the WAL) and the input-side adapter that fills it
 * (`appendDurable` / `getCheckpoint` / `isReady`, what an input needs from its flusher). The
 * input, the delivery manager and the HTTP sink are walship's own; only the WAL is bypassed:
 * an append "is durable" as soon as its records are queued in memory, an ack drops them.
 *
 * Not durable, not for use outside the benchmark: it exists so that the cost of durability
 * is measured as a ratio (WAL pipeline / this one) side by side in the same run.
 *
 * Bounded like the WAL's quota: `isReady()` is false while more than `maxBytes` are queued
 * (the input pauses, as it does at the WAL's quota), so a slow receiver costs no unbounded
 * memory. Records are encoded exactly as DurableFlusher.appendDurable encodes them.
 */
import { randomBytes } from 'node:crypto';
import type { DeliverySource } from '../../src/delivery/delivery-manager.ts';
import type { DurableGroup } from '../../src/flusher/durable-flusher.ts';
import type { InputFlusher } from '../../src/inputs/options.ts';
import type { LogGroup } from '../../src/model/types.ts';
import type { FixedBatch, WalRecord } from '../../src/wal/index.ts';

/** How a group becomes its record's bytes (the built `encodeLogGroup`, passed in). */
export type GroupEncoder = (group: LogGroup) => Uint8Array;

export interface MemorySourceStats {
  readonly appended: number;
  readonly acked: number;
  readonly deadLettered: number;
  readonly peakQueuedBytes: number;
}

export class MemorySource implements DeliverySource, InputFlusher {
  readonly walId = randomBytes(8).toString('hex');
  readonly #encode: GroupEncoder;
  readonly #maxBytes: number;
  /** Appended, not yet handed out, oldest first (`#head` is the next one). */
  #queue: WalRecord[] = [];
  #head = 0;
  #nextSeq = 1;
  #pending = 0;
  #pendingBytes = 0;
  #waiter: (() => void) | undefined;
  #closed = false;
  #stats = { appended: 0, acked: 0, deadLettered: 0, peakQueuedBytes: 0 };
  readonly #checkpoints = new Map<string, Buffer>();

  constructor(encode: GroupEncoder, maxBytes: number) {
    this.#encode = encode;
    this.#maxBytes = maxBytes;
  }

  get pendingRecords(): number {
    return this.#pending;
  }

  stats(): MemorySourceStats {
    return { ...this.#stats };
  }

  // ── The input's side ────────────────────────────────────────────────────────────────

  isReady(): boolean {
    return !this.#closed && this.#pendingBytes < this.#maxBytes;
  }

  async appendDurable(groups: readonly DurableGroup[], checkpoints: readonly { key: string; value: string | Buffer }[] = []): Promise<void> {
    for (const g of groups) {
      const payload = Buffer.from(g.payload ?? this.#encode(g.logGroup));
      const seq = this.#nextSeq++;
      const meta = { project: g.project, logstore: g.logstore, configName: g.configName, logstoreKey: g.logstoreKey ?? 0n, enqueuedAt: Date.now() };
      this.#queue.push({ seq, idempotencyKey: `${this.walId}-${seq}`, meta, payload, bytes: payload.length, envelope: payload, generation: 0 });
      this.#pending++;
      this.#pendingBytes += payload.length;
      this.#stats.appended++;
    }
    for (const c of checkpoints) this.#checkpoints.set(c.key, typeof c.value === 'string' ? Buffer.from(c.value) : c.value);
    this.#stats.peakQueuedBytes = Math.max(this.#stats.peakQueuedBytes, this.#pendingBytes);
    this.#wake();
  }

  async getCheckpoint(key: string): Promise<Buffer | undefined> {
    return this.#checkpoints.get(key);
  }

  // ── Delivery's side ─────────────────────────────────────────────────────────────────

  async nextBatch(maxRecords: number, maxBytes: number, signal?: AbortSignal): Promise<WalRecord[]> {
    while (this.#head >= this.#queue.length) {
      if (this.#closed || signal?.aborted) return [];
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', done);
          this.#waiter = undefined;
          resolve();
        };
        this.#waiter = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    const out: WalRecord[] = [];
    let bytes = 0;
    while (this.#head < this.#queue.length && out.length < maxRecords) {
      const r = this.#queue[this.#head] as WalRecord;
      if (out.length > 0 && bytes + r.bytes > maxBytes) break;
      out.push(r);
      bytes += r.bytes;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  async ack(records: readonly WalRecord[]): Promise<void> {
    for (const r of records) this.#settle(r);
    this.#stats.acked += records.length;
  }

  async deadLetter(record: WalRecord, _reason: string): Promise<void> {
    this.#settle(record);
    this.#stats.deadLettered++;
  }

  /** No restarts here: a batch's composition needs no storing. */
  async fixBatch(_seqs: readonly number[]): Promise<void> {}

  batchOf(_seq: number): FixedBatch | undefined {
    return undefined;
  }

  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #settle(r: WalRecord): void {
    this.#pending--;
    this.#pendingBytes -= r.bytes;
  }

  #wake(): void {
    this.#waiter?.();
  }
}
