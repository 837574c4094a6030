/**
 * The `stats` message of the delivery benchmark's receiver worker (`bench/delivery.ts
 * --worker=receiver`), which the sink benchmark also runs as its HTTP destination: what the
 * receiver (or the null sink) counted since the last `mark`, and what it cost.
 */
import type { ReceiverStats } from '../../src/receiver/index.ts';

export interface ReceiverReport {
  /** The receiver's counters (the null sink reports the same fields, with no faults). */
  readonly stats: Omit<ReceiverStats, 'faults'> & { readonly faults: Readonly<Record<string, number>> };
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly elu: number;
}
