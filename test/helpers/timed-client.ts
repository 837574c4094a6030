/**
 * A ProtocolClient wrapper that records every connect and publish of the client it wraps
 * (start and end times from performance.now(), outcome, DeliveryError reason, Retry-After,
 * batch key and seqs). Delivery tests read the timings of attempts from this log: connect
 * attempts that never reach a receiver (refused) only show here.
 */
import {
  DeliveryError,
  type DeliveryBatch,
  type DeliveryRecord,
  type ProtocolClient,
} from '../../src/delivery/index.ts';

export interface ClientEvent {
  readonly kind: 'connect' | 'publish';
  /** The label given to the wrapper (e.g. `r0`), not the URL. */
  readonly host: string;
  /** The wrapped client's name (one per load-balancing worker). */
  readonly worker: string;
  readonly start: number;
  end: number;
  ok: boolean;
  /** DeliveryError reason of a failure (`econnrefused`, `timeout`, `http_503`, ...). */
  reason?: string;
  kind2?: string;
  retryAfterMs?: number;
  key?: string;
  seqs?: number[];
  /** Seqs a resolved publish left unpublished (a partial publish). */
  rest?: number[];
}

export class TimedClient implements ProtocolClient {
  readonly name: string;
  readonly label: string;
  readonly inner: ProtocolClient;
  readonly log: ClientEvent[];

  constructor(inner: ProtocolClient, label: string, log: ClientEvent[]) {
    this.inner = inner;
    this.label = label;
    this.name = inner.name;
    this.log = log;
  }

  async connect(timeoutMs: number): Promise<void> {
    const e: ClientEvent = { kind: 'connect', host: this.label, worker: this.name, start: performance.now(), end: 0, ok: false };
    this.log.push(e);
    try {
      await this.inner.connect(timeoutMs);
      e.ok = true;
    } catch (err) {
      this.fill(e, err);
      throw err;
    } finally {
      e.end = performance.now();
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  isConnected(): boolean {
    return this.inner.isConnected();
  }

  async publishEvents(batch: DeliveryBatch, signal?: AbortSignal): Promise<readonly DeliveryRecord[]> {
    const e: ClientEvent = {
      kind: 'publish',
      host: this.label,
      worker: this.name,
      start: performance.now(),
      end: 0,
      ok: false,
      key: batch.key,
      seqs: batch.records.map((r) => r.seq),
    };
    this.log.push(e);
    try {
      const rest = await this.inner.publishEvents(batch, signal);
      e.ok = rest.length === 0;
      if (rest.length > 0) e.rest = rest.map((r) => r.seq);
      return rest;
    } catch (err) {
      this.fill(e, err);
      throw err;
    } finally {
      e.end = performance.now();
    }
  }

  publishEvent(record: DeliveryRecord, key: string, signal?: AbortSignal): Promise<void> {
    return this.inner.publishEvent(record, key, signal);
  }

  private fill(e: ClientEvent, err: unknown): void {
    if (err instanceof DeliveryError) {
      e.reason = err.reason;
      e.kind2 = err.kind;
      if (err.retryAfterMs !== undefined) e.retryAfterMs = err.retryAfterMs;
    } else {
      e.reason = (err as Error)?.name ?? 'error';
    }
  }
}

/** Gaps (ms) between the starts of consecutive events. */
export function gaps(events: readonly ClientEvent[]): number[] {
  return events.slice(1).map((e, i) => e.start - (events[i] as ClientEvent).start);
}
