/** The encodings the receiver accepts (the HTTP sink's three). */
export type ReceivedEncoding = 'sls' | 'json' | 'ndjson';

/** One log as the receiver stored it, whatever encoding it came in. */
export interface ReceivedLog {
  readonly time: number;
  readonly timeNs?: number;
  /** A repeated key keeps its last value. */
  readonly contents: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly source?: string;
  readonly topic?: string;
  readonly category?: string;
  /** SLS only (json/ndjson do not carry it). */
  readonly machineUUID?: string;
  /** json/ndjson only (SLS carries the project in the host name). */
  readonly project?: string;
  /** From the path (SLS) or the log's `logstore` field (json/ndjson; `''` when absent). */
  readonly logstore: string;
  /** `X-Walship-Idempotency-Key` of the request that delivered it, when it had one. */
  readonly idempotencyKey?: string;
  readonly encoding: ReceivedEncoding;
}
