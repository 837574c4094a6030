/**
 * Backoff and sleep (src/delivery/backoff.ts): a first delay of 0 still grows (a retry loop
 * must not spin), and a wait longer than Node's timers allow is not cut to 1 ms.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, MAX_TIMER_MS, settlesWithin, sleep } from '../../src/delivery/backoff.ts';

describe('Backoff', () => {
  it('grows from a first delay of 0 up to the maximum', () => {
    const b = new Backoff({ initialMs: 0, maxMs: 50 });
    assert.deepEqual(Array.from({ length: 8 }, () => b.next()), [0, 2, 4, 8, 16, 32, 50, 50]);
    b.reset();
    assert.equal(b.next(), 0);
  });

  it('doubles from the first delay, with full jitter below the bound', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 });
    assert.deepEqual(Array.from({ length: 5 }, () => b.next()), [100, 200, 400, 800, 1000]);
    const j = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 'full', random: () => 0.5 });
    assert.deepEqual(Array.from({ length: 3 }, () => j.next()), [50, 100, 200]);
  });
});

describe('sleep', () => {
  it('waits (until aborted) when asked for longer than a Node timer can take, instead of 1 ms', async () => {
    const stop = new AbortController();
    let settled = false;
    const waiting = sleep(MAX_TIMER_MS * 10, stop.signal).then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, 'still waiting after 50 ms');
    stop.abort();
    await waiting;
    assert.equal(settled, true);
  });

  it('a wait of 0 still lets the event loop turn (a retry loop with no delay does not starve timers)', async () => {
    let fired = false;
    setTimeout(() => (fired = true), 5);
    const started = performance.now();
    while (!fired && performance.now() - started < 2000) await sleep(0);
    assert.equal(fired, true);
  });
});

describe('settlesWithin', () => {
  it('says whether a promise settled (resolved or rejected) before the time ran out, and leaves no timer', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    assert.equal(await settlesWithin(Promise.resolve(), 60_000), true);
    assert.equal(await settlesWithin(Promise.reject(new Error('x')), 60_000), true);
    assert.equal(await settlesWithin(new Promise(() => {}), 20), false);
    assert.equal(timers(), before);
  });
});
