/**
 * The sink side of delivery, after libbeat's `outputs/mode.ProtocolClient`: a connection to
 * one host that publishes records and says which were not published.
 */
import type { RecordMeta } from '../wal/index.ts';

/** One record as delivery sees it: a LogGroup from the WAL with its metadata and key. */
export interface DeliveryRecord {
  readonly seq: number;
  /** `<walId>-<seq>` (D2): the same on every attempt. */
  readonly idempotencyKey: string;
  readonly meta: RecordMeta;
  /**
   * The LogGroup protobuf bytes, exactly as stored in the WAL. **Valid until the record is
   * acknowledged**: once `publishEvents` has reported it published, its memory may be reused
   * for a new LogGroup (input_file's group buffers are, ../model/headroom.ts). A client that
   * needs the bytes later (an internal queue that sends after it resolved, say) copies them.
   */
  readonly payload: Buffer;
  /** Logical bytes in the WAL (what windows count). */
  readonly bytes: number;
}

/**
 * A batch handed to a client: whole records whose composition is fixed at the first attempt,
 * so its key is stable (D2): `<walId>-<firstSeq>-<lastSeq>`, or the record key for one record.
 */
export interface DeliveryBatch {
  readonly key: string;
  readonly records: readonly DeliveryRecord[];
  /**
   * The records are of one logstoreKey and must be stored in this order (D5, `ordered: true`):
   * a client that could publish them concurrently publishes them one after another instead,
   * and reports as unpublished everything from the first failure on (a suffix).
   */
  readonly ordered?: boolean;
}

export interface ProtocolClient {
  /** A name for logs and metrics, e.g. `http://127.0.0.1:4318`. */
  readonly name: string;
  /** Connects (or checks reachability); rejects with a retryable DeliveryError on failure. */
  connect(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
  isConnected(): boolean;
  /**
   * Publishes the batch. Resolves with the records not yet published (empty when all were
   * acknowledged by the destination: D1). Rejects with a {@link DeliveryError} that says
   * whether trying again can help. Nothing may read a published record's `payload` after
   * this resolves (see {@link DeliveryRecord.payload}).
   */
  publishEvents(batch: DeliveryBatch, signal?: AbortSignal): Promise<readonly DeliveryRecord[]>;
  /** Publishes one record; rejects like `publishEvents`. */
  publishEvent(record: DeliveryRecord, key: string, signal?: AbortSignal): Promise<void>;
}

export type ProtocolClientFactory<H = string> = (host: H, index: number) => ProtocolClient;

export function batchKey(walIdOf: (r: DeliveryRecord) => string, records: readonly DeliveryRecord[]): string {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined) throw new TypeError('Expected a non-empty batch');
  if (records.length === 1) return first.idempotencyKey;
  return `${walIdOf(first)}-${first.seq}-${last.seq}`;
}
