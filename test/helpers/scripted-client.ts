import { DeliveryError, type DeliveryBatch, type DeliveryRecord, type ProtocolClient } from '../../src/delivery/index.ts';

export type Outcome = 'ok' | DeliveryError | { readonly publish: number };

export interface Attempt {
  readonly at: number;
  readonly key: string;
  readonly seqs: readonly number[];
  readonly client: string;
}

/**
 * An in-process ProtocolClient whose answers a test scripts: connect failures, publish
 * outcomes per attempt, latency. It records every attempt (time, batch key, seqs) and every
 * record it acknowledged, so tests check delivery by what the destination saw.
 */
export class ScriptedClient implements ProtocolClient {
  readonly name: string;
  connected = false;
  /** Connect attempts to fail before one succeeds. */
  failConnects = 0;
  connectAttempts: number[] = [];
  latencyMs = 0;
  /** Decides each publish; default: every batch is acknowledged. */
  outcome: (batch: DeliveryBatch, attempt: number) => Outcome = () => 'ok';
  readonly attempts: Attempt[];
  /** Idempotency keys of records acknowledged, in order (duplicates kept). */
  readonly acked: string[];
  readonly ackedSeqs: number[] = [];
  closed = false;

  constructor(name: string, shared?: { attempts: Attempt[]; acked: string[] }) {
    this.name = name;
    this.attempts = shared?.attempts ?? [];
    this.acked = shared?.acked ?? [];
  }

  async connect(): Promise<void> {
    this.connectAttempts.push(performance.now());
    if (this.failConnects > 0) {
      this.failConnects--;
      throw Object.assign(new Error(`connect ECONNREFUSED ${this.name}`), { code: 'ECONNREFUSED' });
    }
    this.connected = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
  }

  isConnected(): boolean {
    return this.connected;
  }

  async publishEvents(batch: DeliveryBatch, signal?: AbortSignal): Promise<readonly DeliveryRecord[]> {
    const n = this.attempts.filter((a) => a.key === batch.key).length;
    this.attempts.push({ at: performance.now(), key: batch.key, seqs: batch.records.map((r) => r.seq), client: this.name });
    if (this.latencyMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, this.latencyMs);
        signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        });
      });
    }
    const out = this.outcome(batch, n);
    if (out instanceof DeliveryError) {
      if (out.reason === 'econnrefused' || out.reason === 'econnreset') this.connected = false;
      throw out;
    }
    const count = out === 'ok' ? batch.records.length : out.publish;
    for (const r of batch.records.slice(0, count)) {
      this.acked.push(r.idempotencyKey);
      this.ackedSeqs.push(r.seq);
    }
    return batch.records.slice(count);
  }

  async publishEvent(record: DeliveryRecord, key: string, signal?: AbortSignal): Promise<void> {
    const rest = await this.publishEvents({ key, records: [record] }, signal);
    if (rest.length > 0) throw new DeliveryError('not published', { kind: 'retryable', reason: 'partial' });
  }
}

export const retryable = (reason = 'http_503', retryAfterMs?: number) =>
  new DeliveryError(`scripted ${reason}`, { kind: 'retryable', reason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
export const permanent = (reason = 'http_400') => new DeliveryError(`scripted ${reason}`, { kind: 'permanent', reason, statusCode: 400 });
export const misconfigured = (reason = 'no_such_stream') => new DeliveryError(`scripted ${reason}`, { kind: 'config', reason });
export const refused = () => retryable('econnrefused');
