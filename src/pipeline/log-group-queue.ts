/**
 * iLogtail's `LogGroupQueue`: the channel through which an aggregator hands over a LogGroup
 * before the next periodic `flush` (a "quick flush"), and {@link BoundedLogGroupQueue}, the
 * bounded FIFO the pipeline runner drains.
 *
 * ## Contract (the seed's, in TypeScript)
 *
 * - `add(lg)` takes the group at once or throws {@link QueueFullError} at once; it never waits.
 * - `addWithWait(lg, ms)` waits at most `ms` for room, then rejects with `QueueFullError`.
 *   A full queue generally means the flusher is blocked (network down, WAL over quota).
 *
 * ## Invariants of BoundedLogGroupQueue
 *
 * - **Q1** It never holds more than `capacity` groups.
 * - **Q2** Groups leave through `take()` in the order they were accepted.
 * - **Q3** Waiting producers are served first come, first served: room freed by `take()` goes
 *   straight to the oldest pending `addWithWait` (its group is accepted before `take()`
 *   returns), so a later `add` can never overtake a waiter. There is never room while a
 *   producer waits.
 * - **Q4** `addWithWait` settles exactly once: accepted, timed out (`QueueFullError`), or
 *   closed (`WalshipError` `WALSHIP_CLOSED`). A group whose promise rejected is not in the
 *   queue.
 * - **Q5** `close()` refuses new groups (`add` throws, `addWithWait` rejects with
 *   `WALSHIP_CLOSED`) but keeps what was accepted: the consumer drains it with `take()`.
 *
 * Timers are injected ({@link Timers}) so tests drive the waits with a fake clock.
 */
import { DEFAULT_LOG_GROUP_QUEUE_CAPACITY } from '../config/defaults.ts';
import { ErrorCodes, QueueFullError, WalshipError } from '../errors.ts';
import type { LogGroup } from '../model/index.ts';

/** iLogtail's `pipeline.LogGroupQueue`. */
export interface LogGroupQueue {
  /** Accepts `lg`, or throws {@link QueueFullError} at once when the queue is full. */
  add(lg: LogGroup): void;
  /**
   * Accepts `lg`, waiting at most `ms` for room; rejects with {@link QueueFullError} when no
   * room appeared in time. iLogtail: "do not use this method if you are unsure".
   */
  addWithWait(lg: LogGroup, ms: number): Promise<void>;
}

/** The timer functions the queue uses; the real ones unless a test injects a fake clock. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** `globalThis.setTimeout` / `clearTimeout`. */
export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Options of {@link BoundedLogGroupQueue}. */
export interface BoundedLogGroupQueueOptions {
  /**
   * Groups the queue holds at most; an integer >= 1.
   * @defaultValue {@link DEFAULT_LOG_GROUP_QUEUE_CAPACITY} (16)
   */
  readonly capacity?: number;
  /** @defaultValue {@link realTimers} */
  readonly timers?: Timers;
}

interface RoomWaiter {
  readonly lg: LogGroup;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  /** The timeout's handle; `undefined` for an unbounded wait. */
  timer: unknown;
}

interface SignalWaiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

function closedError(): WalshipError {
  return new WalshipError(ErrorCodes.CLOSED, 'the LogGroup queue is closed');
}

/**
 * A bounded FIFO of LogGroups: producers (aggregators) `add`/`addWithWait`, one consumer (the
 * pipeline runner) `waitForData` and `take`. Single-threaded JavaScript needs no locks; the
 * invariants Q1–Q5 are in the module doc.
 */
export class BoundedLogGroupQueue implements LogGroupQueue {
  readonly capacity: number;
  readonly #timers: Timers;
  readonly #items: LogGroup[] = [];
  /** Pending `addWithWait` calls, oldest first (Q3). */
  readonly #roomWaiters: RoomWaiter[] = [];
  /** Pending `waitForData` calls. */
  #dataWaiters: SignalWaiter[] = [];
  /** Pending `waitForRoom` calls. */
  #spaceWaiters: SignalWaiter[] = [];
  #closed = false;

  constructor(options: BoundedLogGroupQueueOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('Expected queue options to be an object');
    }
    const capacity = options.capacity ?? DEFAULT_LOG_GROUP_QUEUE_CAPACITY;
    if (typeof capacity !== 'number' || !Number.isSafeInteger(capacity) || capacity < 1) {
      throw new WalshipError(
        ErrorCodes.INVALID_OPTIONS,
        `Expected \`capacity\` to be an integer >= 1, got ${String(capacity)}`,
      );
    }
    this.capacity = capacity;
    this.#timers = options.timers ?? realTimers;
  }

  /** Groups held now. */
  get size(): number {
    return this.#items.length;
  }

  /** Producers waiting in `addWithWait`. */
  get waiting(): number {
    return this.#roomWaiters.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  add(lg: LogGroup): void {
    if (this.#closed) throw closedError();
    // Q3: with waiters pending there is no room by construction; checking size suffices.
    if (this.#items.length >= this.capacity) throw new QueueFullError();
    this.#accept(lg);
  }

  addWithWait(lg: LogGroup, ms: number): Promise<void> {
    if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
      return Promise.reject(new TypeError(`Expected \`ms\` to be a number >= 0, got ${String(ms)}`));
    }
    if (this.#closed) return Promise.reject(closedError());
    if (this.#items.length < this.capacity) {
      this.#accept(lg);
      return Promise.resolve();
    }
    if (ms === 0) return Promise.reject(new QueueFullError());
    return new Promise<void>((resolve, reject) => {
      const waiter: RoomWaiter = { lg, resolve, reject, timer: undefined };
      if (ms !== Infinity) {
        waiter.timer = this.#timers.setTimeout(() => {
          const i = this.#roomWaiters.indexOf(waiter);
          if (i === -1) return; // already served or closed (Q4)
          this.#roomWaiters.splice(i, 1);
          reject(new QueueFullError(`the LogGroup queue stayed full for ${ms} ms`));
        }, ms);
      }
      this.#roomWaiters.push(waiter);
    });
  }

  /**
   * The consumer side: removes and returns up to `max` of the oldest groups (all by default),
   * then hands the room freed to waiting producers, oldest first (Q3).
   */
  take(max = Infinity): LogGroup[] {
    if (typeof max !== 'number' || !(max >= 1) || (max !== Infinity && !Number.isSafeInteger(max))) {
      throw new TypeError(`Expected \`max\` to be an integer >= 1, got ${String(max)}`);
    }
    const taken = this.#items.splice(0, Math.min(max, this.#items.length));
    if (taken.length === 0) return taken;
    while (this.#roomWaiters.length > 0 && this.#items.length < this.capacity) {
      const waiter = this.#roomWaiters.shift()!;
      if (waiter.timer !== undefined) this.#timers.clearTimeout(waiter.timer);
      this.#accept(waiter.lg);
      waiter.resolve();
    }
    if (this.#items.length < this.capacity) this.#settle('space');
    return taken;
  }

  /**
   * Resolves once the queue holds a group (at once if it does) or is closed; rejects with
   * `signal.reason` if `signal` aborts first.
   */
  waitForData(signal?: AbortSignal): Promise<void> {
    if (this.#items.length > 0 || this.#closed) return Promise.resolve();
    return this.#wait('data', signal);
  }

  /**
   * Resolves once the queue has room (at once if it has) or is closed; rejects with
   * `signal.reason` if `signal` aborts first. Room is not reserved: a caller that then `add`s
   * may still meet a full queue and must be ready to wait again.
   */
  waitForRoom(signal?: AbortSignal): Promise<void> {
    if (this.#items.length < this.capacity || this.#closed) return Promise.resolve();
    return this.#wait('space', signal);
  }

  /**
   * Refuses new groups from now on (Q5): pending `addWithWait` calls reject with
   * `WALSHIP_CLOSED`, pending `waitForData`/`waitForRoom` resolve. Accepted groups stay for
   * `take()`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiters = this.#roomWaiters.splice(0);
    for (const waiter of waiters) {
      if (waiter.timer !== undefined) this.#timers.clearTimeout(waiter.timer);
      waiter.reject(closedError());
    }
    this.#settle('data');
    this.#settle('space');
  }

  #accept(lg: LogGroup): void {
    this.#items.push(lg);
    this.#settle('data');
  }

  #wait(kind: 'data' | 'space', signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: SignalWaiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const list = kind === 'data' ? this.#dataWaiters : this.#spaceWaiters;
          const i = list.indexOf(waiter);
          if (i !== -1) list.splice(i, 1);
          reject(signal!.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      (kind === 'data' ? this.#dataWaiters : this.#spaceWaiters).push(waiter);
    });
  }

  #settle(kind: 'data' | 'space'): void {
    const list = kind === 'data' ? this.#dataWaiters : this.#spaceWaiters;
    if (list.length === 0) return;
    if (kind === 'data') this.#dataWaiters = [];
    else this.#spaceWaiters = [];
    for (const waiter of list) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
  }
}
