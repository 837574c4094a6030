import { setTimeout as delay } from 'node:timers/promises';

/**
 * Exponential backoff: `initialMs` doubling (by `factor`) up to `maxMs`. With `jitter: 'full'`
 * each delay is drawn uniformly from [0, current] (AWS's "full jitter"), which spreads the
 * retries of many batches; with `'none'` it is the seed's deterministic waitRetry doubling.
 */
export class Backoff {
  private current: number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: 'full' | 'none';
  private readonly random: () => number;

  constructor(options: {
    readonly initialMs: number;
    readonly maxMs: number;
    readonly factor?: number;
    readonly jitter?: 'full' | 'none';
    readonly random?: () => number;
  }) {
    this.initialMs = options.initialMs;
    this.maxMs = Math.max(options.maxMs, options.initialMs);
    this.factor = options.factor ?? 2;
    this.jitter = options.jitter ?? 'none';
    this.random = options.random ?? Math.random;
    this.current = this.initialMs;
  }

  /** The next delay (ms); each call doubles the bound up to the maximum (from 1 ms when it starts at 0). */
  next(): number {
    const bound = this.current;
    this.current = Math.min(Math.max(this.current, 1) * this.factor, this.maxMs);
    return this.jitter === 'full' ? Math.floor(this.random() * bound) : bound;
  }

  reset(): void {
    this.current = this.initialMs;
  }
}

/**
 * Waits `ms`; rejects with the signal's reason if it aborts first. The timer keeps the
 * process alive: a running delivery is work in progress, and `stop()` aborts every wait.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) {
    signal?.throwIfAborted();
    // Still a turn of the event loop: a retry loop with no delay must not starve it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    signal?.throwIfAborted();
    return;
  }
  // Node's timers take at most 2^31 - 1 ms (≈ 24.8 days) and turn anything longer into 1 ms.
  await delay(Math.min(ms, MAX_TIMER_MS), undefined, { signal });
}

/** The longest delay a Node timer takes. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Whether `p` settles (either way) within `ms`; the timer is cleared as soon as it does, so
 * nothing keeps the process alive after. Clamped to {@link MAX_TIMER_MS}.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(resolve, Math.min(Math.max(ms, 0), MAX_TIMER_MS), false);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

