/**
 * BoundedLogGroupQueue: iLogtail's LogGroupQueue contract (`add` fails at once when full,
 * `addWithWait` waits at most `ms`) and the invariants Q1–Q5 of src/pipeline/log-group-queue.ts.
 * Every wait runs on a fake clock: no test sleeps.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LOG_GROUP_QUEUE_CAPACITY } from '../../src/config/defaults.ts';
import { ErrorCodes, isWalshipError, QueueFullError } from '../../src/errors.ts';
import type { LogGroup } from '../../src/model/index.ts';
import { BoundedLogGroupQueue, type Timers } from '../../src/pipeline/log-group-queue.ts';

/** A manual clock: timers fire only when `advance` passes their deadline. */
class FakeClock implements Timers {
  now = 0;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.now + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in deadline order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= target && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.now = next[1].at;
      next[1].callback();
    }
    this.now = target;
  }
}

/** Watches a promise so a test can ask whether it settled yet. */
function track(p: Promise<unknown>): { state: 'pending' | 'fulfilled' | 'rejected'; error?: unknown } {
  const t: { state: 'pending' | 'fulfilled' | 'rejected'; error?: unknown } = { state: 'pending' };
  p.then(
    () => {
      t.state = 'fulfilled';
    },
    (error: unknown) => {
      t.state = 'rejected';
      t.error = error;
    },
  );
  return t;
}

/** Lets every settled promise run its callbacks. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function group(name: string): LogGroup {
  return { logs: [{ time: 1, contents: [{ key: 'name', value: name }] }], logTags: [] };
}

const names = (groups: readonly LogGroup[]): string[] => groups.map((g) => g.logs[0]!.contents[0]!.value);

function fullQueue(capacity: number, clock = new FakeClock()): BoundedLogGroupQueue {
  const q = new BoundedLogGroupQueue({ capacity, timers: clock });
  for (let i = 0; i < capacity; i++) q.add(group(`held-${i}`));
  return q;
}

describe('BoundedLogGroupQueue: add', () => {
  it('holds 16 groups unless told otherwise', () => {
    assert.equal(new BoundedLogGroupQueue().capacity, DEFAULT_LOG_GROUP_QUEUE_CAPACITY);
    assert.equal(DEFAULT_LOG_GROUP_QUEUE_CAPACITY, 16);
  });

  it('accepts groups up to its capacity and then throws QueueFullError at once (Q1)', () => {
    const q = new BoundedLogGroupQueue({ capacity: 3 });
    for (const name of ['a', 'b', 'c']) q.add(group(name));
    assert.equal(q.size, 3);
    assert.throws(
      () => q.add(group('d')),
      (err: unknown) => err instanceof QueueFullError && isWalshipError(err, ErrorCodes.QUEUE_FULL),
    );
    assert.equal(q.size, 3);
  });

  it('hands groups out oldest first, at most `max` at a time, and frees their room (Q2)', () => {
    const q = new BoundedLogGroupQueue({ capacity: 3 });
    for (const name of ['a', 'b', 'c']) q.add(group(name));
    assert.deepEqual(names(q.take(2)), ['a', 'b']);
    q.add(group('d'));
    assert.deepEqual(names(q.take()), ['c', 'd']);
    assert.deepEqual(q.take(), []);
    assert.equal(q.size, 0);
  });

  it('refuses a capacity that is not an integer >= 1 with WALSHIP_INVALID_OPTIONS', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN, '4']) {
      assert.throws(
        () => new BoundedLogGroupQueue({ capacity: capacity as number }),
        (err: unknown) => isWalshipError(err, ErrorCodes.INVALID_OPTIONS) && err.message.includes('`capacity`'),
      );
    }
  });

  it('refuses a `max` for take that is not an integer >= 1 with a TypeError', () => {
    const q = new BoundedLogGroupQueue();
    for (const max of [0, 1.5, Number.NaN]) assert.throws(() => q.take(max), TypeError);
  });
});

describe('BoundedLogGroupQueue: addWithWait on a fake clock', () => {
  it('accepts at once when there is room', async () => {
    const clock = new FakeClock();
    const q = new BoundedLogGroupQueue({ capacity: 1, timers: clock });
    await q.addWithWait(group('a'), 1000);
    assert.equal(q.size, 1);
    assert.equal(clock.pending, 0);
  });

  it('waits at most `ms` for room and then rejects with QueueFullError, leaving the group out (Q4)', async () => {
    const clock = new FakeClock();
    const q = fullQueue(2, clock);
    const t = track(q.addWithWait(group('late'), 500));
    clock.advance(499);
    await settle();
    assert.equal(t.state, 'pending');
    clock.advance(1);
    await settle();
    assert.equal(t.state, 'rejected');
    assert.ok(t.error instanceof QueueFullError);
    assert.equal(q.waiting, 0);
    assert.deepEqual(names(q.take()), ['held-0', 'held-1']);
  });

  it('rejects at once when the queue is full and `ms` is 0', async () => {
    const clock = new FakeClock();
    const q = fullQueue(1, clock);
    await assert.rejects(q.addWithWait(group('x'), 0), QueueFullError);
    assert.equal(clock.pending, 0);
  });

  it('succeeds when room appears before the deadline, and cancels its timer', async () => {
    const clock = new FakeClock();
    const q = fullQueue(1, clock);
    const t = track(q.addWithWait(group('waiter'), 1000));
    clock.advance(999);
    assert.deepEqual(names(q.take()), ['held-0']);
    await settle();
    assert.equal(t.state, 'fulfilled');
    assert.equal(clock.pending, 0);
    // The group was accepted before take() returned (Q3).
    assert.deepEqual(names(q.take()), ['waiter']);
    clock.advance(10_000);
    await settle();
    assert.equal(t.state, 'fulfilled');
  });

  it('wakes waiting producers first come, first served, as room appears (Q3)', async () => {
    const clock = new FakeClock();
    const q = fullQueue(2, clock);
    const order: string[] = [];
    const waits = ['w1', 'w2', 'w3'].map((name) => q.addWithWait(group(name), 1000).then(() => order.push(name)));
    assert.equal(q.waiting, 3);
    assert.deepEqual(names(q.take(1)), ['held-0']);
    await settle();
    assert.deepEqual(order, ['w1']);
    assert.deepEqual(names(q.take(2)), ['held-1', 'w1']);
    await Promise.all(waits);
    assert.deepEqual(order, ['w1', 'w2', 'w3']);
    assert.deepEqual(names(q.take()), ['w2', 'w3']);
  });

  it('lets no later add overtake a waiting producer', async () => {
    const clock = new FakeClock();
    const q = fullQueue(1, clock);
    const t = track(q.addWithWait(group('waiter'), 1000));
    assert.throws(() => q.add(group('late')), QueueFullError);
    q.take();
    assert.throws(() => q.add(group('later')), QueueFullError);
    await settle();
    assert.equal(t.state, 'fulfilled');
    assert.deepEqual(names(q.take()), ['waiter']);
  });

  it('times each waiter out on its own deadline, leaving the others waiting', async () => {
    const clock = new FakeClock();
    const q = fullQueue(1, clock);
    const short = track(q.addWithWait(group('short'), 100));
    const long = track(q.addWithWait(group('long'), 300));
    clock.advance(100);
    await settle();
    assert.equal(short.state, 'rejected');
    assert.equal(long.state, 'pending');
    q.take();
    await settle();
    assert.equal(long.state, 'fulfilled');
    assert.deepEqual(names(q.take()), ['long']);
  });

  it('refuses a negative or non-numeric `ms` with a TypeError', async () => {
    const q = new BoundedLogGroupQueue();
    await assert.rejects(q.addWithWait(group('a'), -1), TypeError);
    await assert.rejects(q.addWithWait(group('a'), Number.NaN), TypeError);
    assert.equal(q.size, 0);
  });
});

describe('BoundedLogGroupQueue: the consumer side and close', () => {
  it('resolves waitForData when a group arrives, and at once when one is held', async () => {
    const q = new BoundedLogGroupQueue();
    const t = track(q.waitForData());
    await settle();
    assert.equal(t.state, 'pending');
    q.add(group('a'));
    await settle();
    assert.equal(t.state, 'fulfilled');
    await q.waitForData();
  });

  it('rejects waitForData with the signal’s reason when it aborts', async () => {
    const q = new BoundedLogGroupQueue();
    const ac = new AbortController();
    const p = q.waitForData(ac.signal);
    ac.abort(new Error('stopping'));
    await assert.rejects(p, /stopping/);
    await assert.rejects(q.waitForData(ac.signal), /stopping/);
  });

  it('resolves waitForRoom when take frees room', async () => {
    const q = fullQueue(1);
    const t = track(q.waitForRoom());
    await settle();
    assert.equal(t.state, 'pending');
    q.take();
    await settle();
    assert.equal(t.state, 'fulfilled');
  });

  it('rejects pending addWithWait calls with WALSHIP_CLOSED on close and keeps accepted groups (Q5)', async () => {
    const clock = new FakeClock();
    const q = fullQueue(1, clock);
    const waiting = q.addWithWait(group('waiter'), 1000);
    q.close();
    await assert.rejects(waiting, (err: unknown) => isWalshipError(err, ErrorCodes.CLOSED));
    assert.equal(clock.pending, 0);
    assert.equal(q.closed, true);
    assert.deepEqual(names(q.take()), ['held-0']);
  });

  it('throws WALSHIP_CLOSED from add, and rejects addWithWait, after close', async () => {
    const q = new BoundedLogGroupQueue();
    q.close();
    q.close(); // idempotent
    assert.throws(() => q.add(group('a')), (err: unknown) => isWalshipError(err, ErrorCodes.CLOSED));
    await assert.rejects(q.addWithWait(group('a'), 10), (err: unknown) => isWalshipError(err, ErrorCodes.CLOSED));
    assert.equal(q.size, 0);
  });

  it('wakes a consumer waiting for data when the queue closes', async () => {
    const q = new BoundedLogGroupQueue();
    const t = track(q.waitForData());
    q.close();
    await settle();
    assert.equal(t.state, 'fulfilled');
    await q.waitForData();
  });
});
