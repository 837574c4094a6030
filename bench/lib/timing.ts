/**
 * Timing and summary statistics for the benchmarks. Every measurement is a wall-clock
 * interval from `performance.now()`; summaries use the median, which a noisy shared machine
 * moves least.
 */

/** Milliseconds from an arbitrary origin, sub-millisecond resolution. */
export const now = (): number => performance.now();

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` and returns how long it took (ms) beside its value. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ readonly ms: number; readonly value: T }> {
  const started = now();
  const value = await fn();
  return { ms: now() - started, value };
}

/** The q-quantile (0..1) of already sorted numbers, by linear interpolation; NaN if empty. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (at - lo);
}

export function median(values: readonly number[]): number {
  return quantileSorted([...values].sort((a, b) => a - b), 0.5);
}

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: quantileSorted(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Latency percentiles (ms) of a list of samples; the samples are sorted in place. */
export function latencyPercentiles(samples: number[]): { readonly p50: number; readonly p99: number; readonly max: number } {
  samples.sort((a, b) => a - b);
  return {
    p50: quantileSorted(samples, 0.5),
    p99: quantileSorted(samples, 0.99),
    max: samples[samples.length - 1] ?? Number.NaN,
  };
}
