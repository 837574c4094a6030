/**
 * The `stats` message of the delivery benchmark's receiver worker (`bench/delivery.ts
 * --worker=receiver`), which the sink benchmark also runs as its HTTP destination: what the
 * receiver (or the null sink) counted since the last `mark`, and what it cost.
 */
export interface ReceiverReport {
  readonly stats: {
    readonly requests: number;
    readonly acceptedRequests: number;
    readonly duplicateRequests: number;
    readonly invalidRequests: number;
    readonly logs: number;
    readonly duplicateLogs: number;
    readonly bytes: number;
    readonly faults: Readonly<Record<string, number>>;
  };
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly elu: number;
}
