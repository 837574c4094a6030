import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { DefaultAggregator } from '../../src/aggregators/index.ts';
import { createFlusher } from '../../src/flusher/index.ts';
import type { Log, LogGroup } from '../../src/model/index.ts';
import {
  type Aggregator,
  createContext,
  type FlusherV1,
  type LogGroupQueue,
  type PipelineInput,
  PipelineRunner,
} from '../../src/pipeline/index.ts';
import { startReceiver } from '../../src/receiver/index.ts';
import { tempDir } from '../helpers/tmpdir.ts';

const logger = pino({ level: 'silent' });
const ctx = () => createContext({ configName: 'cfg', project: 'proj', logstore: 'store', logger });
const log = (n: number): Log => ({ time: 1_700_000_000, contents: [{ key: 'seq', value: String(n) }] });

/** A FlusherV1 that records every call, with a switchable isReady. */
class SpyFlusher implements FlusherV1 {
  readonly calls: string[];
  readonly groups: LogGroup[] = [];
  ready = true;
  constructor(calls: string[] = []) {
    this.calls = calls;
  }
  async init(): Promise<void> {
    this.calls.push('flusher.init');
  }
  description(): string {
    return 'spy';
  }
  isReady(): boolean {
    return this.ready;
  }
  setUrgent(flag: boolean): void {
    this.calls.push(`flusher.setUrgent(${flag})`);
  }
  async flush(_p: string, _l: string, _c: string, groups: readonly LogGroup[]): Promise<void> {
    this.calls.push('flusher.flush');
    this.groups.push(...groups);
  }
  async stop(): Promise<void> {
    this.calls.push('flusher.stop');
  }
}

/** Wraps an aggregator to record flush calls into the shared call log. */
function recording(inner: Aggregator, calls: string[]): Aggregator {
  return {
    init: (c, q: LogGroupQueue) => inner.init(c, q),
    description: () => inner.description(),
    add: (l, s) => inner.add(l, s),
    flush: () => {
      const groups = inner.flush();
      if (groups.length > 0) calls.push('aggregator.flush');
      return groups;
    },
    reset: () => inner.reset(),
  };
}

const seqsOf = (groups: readonly LogGroup[]) => groups.flatMap((g) => g.logs.map((l) => Number(l.contents[0]?.value)));

describe('PipelineRunner (iLogtail semantics)', () => {
  it('delivers every added log end to end: runner → aggregator → durable flusher → receiver', async () => {
    const receiver = await startReceiver({ logger, failRate: 0.2, seed: 7 });
    const flusher = await import('../../src/flusher/index.ts').then(
      ({ DurableFlusher }) =>
        new DurableFlusher({
          dir: tempDir(),
          sink: { type: 'http', url: receiver.url, encoding: 'ndjson', probe: false },
          delivery: { retryMinDelayMs: 5, retryMaxDelayMs: 50 },
          logger,
        }),
    );
    const runner = new PipelineRunner({
      context: ctx(),
      aggregator: new DefaultAggregator({ intervalMs: 20, maxLogsPerGroup: 100 }),
      flushers: [flusher],
    });
    await runner.start();
    for (let i = 0; i < 3000; i++) await runner.add(log(i));
    const deadline = Date.now() + 15_000;
    while (new Set(receiver.logs().map((l) => l.contents.seq)).size < 3000 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await runner.stop();
    const seqs = new Set(receiver.logs().map((l) => Number(l.contents.seq)));
    assert.equal(seqs.size, 3000);
    assert.equal(runner.stats().logsLost, 0);
    assert.equal(receiver.logs().length, 3000, 'the receiver stored each log once (deduplicated by key)');
    await receiver.close();
  });

  it('flushes the aggregator every interval, and 0 means the global default', async () => {
    const flusher = new SpyFlusher();
    const runner = new PipelineRunner({
      context: ctx(),
      aggregator: new DefaultAggregator({ intervalMs: 0 }),
      flushers: [flusher],
      defaultIntervalMs: 40,
    });
    await runner.start();
    await runner.add(log(1));
    await new Promise((r) => setTimeout(r, 15));
    assert.equal(flusher.groups.length, 0, 'nothing is flushed before the interval');
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(seqsOf(flusher.groups), [1]);
    await runner.stop();
  });

  it('holds groups while a flusher is not ready and hands them over in order once it is, dropping none', async () => {
    const a = new SpyFlusher();
    const b = new SpyFlusher();
    b.ready = false;
    const runner = new PipelineRunner({
      context: ctx(),
      aggregator: new DefaultAggregator({ intervalMs: 10, maxLogsPerGroup: 5 }),
      flushers: [a, b],
    });
    await runner.start();
    for (let i = 0; i < 50; i++) await runner.add(log(i));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(a.groups.length, 0, 'a group goes to no flusher until every flusher is ready');
    assert.ok(runner.stats().readyWaits > 0);
    b.ready = true;
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(seqsOf(a.groups), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(seqsOf(b.groups), seqsOf(a.groups));
    await runner.stop();
  });

  it("stops in iLogtail's order: setUrgent → stop inputs → final aggregator flush → flushers stop", async () => {
    const calls: string[] = [];
    const flusher = new SpyFlusher(calls);
    const input: PipelineInput = {
      name: 'spy',
      start: async (emit) => {
        calls.push('input.start');
        await emit(log(1));
      },
      stop: async () => {
        calls.push('input.stop');
      },
    };
    const runner = new PipelineRunner({
      context: ctx(),
      aggregator: recording(new DefaultAggregator({ intervalMs: 60_000 }), calls),
      flushers: [flusher],
      inputs: [input],
    });
    await runner.start();
    await runner.stop();
    assert.deepEqual(calls, [
      'flusher.init',
      'input.start',
      'flusher.setUrgent(true)',
      'input.stop',
      'aggregator.flush',
      'flusher.flush',
      'flusher.stop',
    ]);
    assert.deepEqual(seqsOf(flusher.groups), [1], 'the log still in the aggregator was flushed at stop');
  });

  it('gives up on groups no flusher accepts by the stop deadline, and counts and logs them as lost', async () => {
    const flusher = new SpyFlusher();
    flusher.ready = false;
    const runner = new PipelineRunner({
      context: ctx(),
      aggregator: new DefaultAggregator({ intervalMs: 10 }),
      flushers: [flusher],
      stopTimeoutMs: 100,
    });
    await runner.start();
    for (let i = 0; i < 7; i++) await runner.add(log(i));
    const started = Date.now();
    await runner.stop();
    assert.ok(Date.now() - started < 2000);
    assert.equal(runner.stats().logsLost, 7);
    assert.equal(flusher.groups.length, 0);
  });

  it('rejects add after stop with WALSHIP_CLOSED', async () => {
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator(), flushers: [new SpyFlusher()] });
    await runner.start();
    await runner.stop();
    await assert.rejects(runner.add(log(1)), { code: 'WALSHIP_CLOSED' });
  });

  it('works with createFlusher: a flusher created and initialized outside is initialized once', async () => {
    const receiver = await startReceiver({ logger });
    const flusher = await createFlusher({
      dir: tempDir(),
      sink: { type: 'http', url: receiver.url, probe: false },
      logger,
    });
    const runner = new PipelineRunner({
      context: ctx(),
      aggregator: new DefaultAggregator({ intervalMs: 10 }),
      flushers: [flusher],
    });
    await assert.rejects(runner.start(), /init\(\) was already called/);
    await flusher.stop();
    await receiver.close();
  });
});

describe('PipelineRunner edge cases (each found by a code review; each fails on the code before its fix)', () => {
  const seqs = (gs: readonly LogGroup[]) => gs.flatMap((g) => g.logs.map((l) => Number(l.contents[0]?.value)));

  it('a log an input emits while it stops (its last partial line) still reaches the flushers', async () => {
    const flusher = new SpyFlusher();
    let emit!: (l: Log) => Promise<void>;
    const input: PipelineInput = {
      name: 'tail',
      start: async (e) => {
        emit = e;
      },
      stop: async () => {
        await emit(log(2));
      },
    };
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator({ intervalMs: 60_000 }), flushers: [flusher], inputs: [input] });
    await runner.start();
    await runner.add(log(1));
    await runner.stop();
    assert.equal(runner.stats().logsLost, 0);
    assert.deepEqual(seqs(flusher.groups), [1, 2]);
  });

  it('the ship loop keeps one waitForData waiting, not one more per add (memory stays flat)', async () => {
    // The queue's waiters, counted through the queue the aggregator was given.
    let queue: LogGroupQueue | undefined;
    const aggregator = new DefaultAggregator({ intervalMs: 20 });
    const counting: Aggregator = {
      init: (c, q) => {
        queue = q;
        return aggregator.init(c, q);
      },
      description: () => aggregator.description(),
      add: (l, s) => aggregator.add(l, s),
      flush: () => aggregator.flush(),
      reset: () => aggregator.reset(),
    };
    const r2 = new PipelineRunner({ context: ctx(), aggregator: counting, flushers: [new SpyFlusher()] });
    await r2.start();
    const q = queue as unknown as { waitForData: (...a: unknown[]) => Promise<void> };
    let outstanding = 0;
    const original = q.waitForData.bind(q);
    q.waitForData = (...a: unknown[]) => {
      outstanding++;
      const p = original(...a);
      const done = () => outstanding--;
      p.then(done, done);
      return p;
    };
    for (let i = 0; i < 2000; i++) {
      await r2.add(log(i));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const waiting = outstanding;
    await r2.stop();
    assert.ok(waiting <= 1, `${waiting} waitForData calls outstanding after 2000 adds`);
  });

  it('add refuses a log no flusher would take (time in ms) with WALSHIP_INVALID_LOG_GROUP; the good logs flow', async () => {
    const flusher = new SpyFlusher();
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator({ intervalMs: 60_000 }), flushers: [flusher] });
    await runner.start();
    await runner.add(log(1));
    await assert.rejects(runner.add({ time: Date.now(), contents: [{ key: 'seq', value: '99' }] }), {
      code: 'WALSHIP_INVALID_LOG_GROUP',
      message: /logs\[0\]\.time/,
    });
    await runner.add(log(2));
    await runner.stop();
    assert.deepEqual(seqs(flusher.groups), [1, 2]);
    assert.equal(runner.stats().logsLost, 0);
  });

  it('a group a flusher refuses for good is split: only the refused log is given up (counted), the rest is handed over, later groups flow', async () => {
    /** Refuses for good any group holding seq 3 (as the WAL refuses an invalid group). */
    class PickyFlusher extends SpyFlusher {
      override async flush(p: string, l: string, c: string, groups: readonly LogGroup[]): Promise<void> {
        if (seqs(groups).includes(3)) {
          const { invalidLogGroup } = await import('../../src/model/validate.ts');
          throw invalidLogGroup('logGroup.logs[0]', 'refused');
        }
        return super.flush(p, l, c, groups);
      }
    }
    const flusher = new PickyFlusher();
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator({ intervalMs: 20 }), flushers: [flusher], stopTimeoutMs: 2000 });
    await runner.start();
    for (let i = 1; i <= 5; i++) await runner.add(log(i));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await runner.add(log(6));
    await runner.stop();
    assert.deepEqual(seqs(flusher.groups), [1, 2, 4, 5, 6]);
    assert.equal(runner.stats().logsRejected, 1);
    assert.equal(runner.stats().logsLost, 0);
  });

  it('a maxBytesPerGroup over the 3 MiB cap is refused when the aggregator is made', () => {
    assert.throws(() => new DefaultAggregator({ maxBytesPerGroup: 4 * 1024 * 1024 }), { code: 'WALSHIP_INVALID_OPTIONS', message: /from 1 to 3145728/ });
  });

  it('with two flushers, a group one of them refused once goes again only to that one', async () => {
    class FailsOnce extends SpyFlusher {
      failures = 1;
      override async flush(p: string, l: string, c: string, groups: readonly LogGroup[]): Promise<void> {
        if (this.failures-- > 0) throw new Error('disk full (once)');
        return super.flush(p, l, c, groups);
      }
    }
    const healthy = new SpyFlusher();
    const flaky = new FailsOnce();
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator({ intervalMs: 20 }), flushers: [healthy, flaky] });
    await runner.start();
    await runner.add(log(1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await runner.stop();
    assert.deepEqual(seqs(flaky.groups), [1]);
    assert.deepEqual(seqs(healthy.groups), [1], 'the healthy flusher took the group twice');
  });

  it('an input whose stop rejects does not keep the final flush or the flushers from stopping', async () => {
    const calls: string[] = [];
    const flusher = new SpyFlusher(calls);
    const input: PipelineInput = {
      name: 'bad',
      start: async () => {},
      stop: async () => {
        throw new Error('EBADF on close');
      },
    };
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator({ intervalMs: 60_000 }), flushers: [flusher], inputs: [input] });
    await runner.start();
    await runner.add(log(1));
    // Everything is stopped, then stop rejects with what failed: the caller learns of it.
    await assert.rejects(runner.stop(), /EBADF on close/);
    assert.deepEqual(seqs(flusher.groups), [1]);
    assert.equal(calls.at(-1), 'flusher.stop');
  });

  it('a flusher that throws (instead of rejecting) once: the group is retried, nothing is left unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    class ThrowsOnce extends SpyFlusher {
      n = 1;
      override flush(p: string, l: string, c: string, groups: readonly LogGroup[]): Promise<void> {
        if (this.n-- > 0) throw new Error('EAGAIN (thrown, not rejected)');
        return super.flush(p, l, c, groups);
      }
    }
    const flusher = new ThrowsOnce();
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator({ intervalMs: 20 }), flushers: [flusher], stopTimeoutMs: 1000 });
    await runner.start();
    await runner.add(log(1));
    await new Promise((resolve) => setTimeout(resolve, 400));
    await runner.stop();
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(seqs(flusher.groups), [1]);
    assert.deepEqual(unhandled, []);
  });

  it('a flusher whose stop throws while its flush never settles: stop rejects with the error instead of hanging', async () => {
    class Stuck extends SpyFlusher {
      override flush(): Promise<void> {
        return new Promise(() => {});
      }
      override async stop(): Promise<void> {
        throw new Error('close failed: EIO');
      }
    }
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator({ intervalMs: 20 }), flushers: [new Stuck()], stopTimeoutMs: 100 });
    await runner.start();
    await runner.add(log(1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const outcome = await Promise.race([
      runner.stop().then(
        () => 'resolved',
        (e: Error) => `rejected: ${e.message}`,
      ),
      new Promise((resolve) => setTimeout(resolve, 4000, 'still pending')),
    ]);
    assert.equal(outcome, 'rejected: close failed: EIO');
    assert.equal(runner.stats().logsLost, 1);
  });

  it('stop leaves no timer behind (a process that stopped its runner exits at once)', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator(), flushers: [new SpyFlusher()], stopTimeoutMs: 60_000 });
    await runner.start();
    await runner.add(log(1));
    await runner.stop();
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.equal(after, before);
  });

  it('an input whose stop never settles holds stop for stopTimeoutMs, not forever (found by a review)', async () => {
    const flusher = new SpyFlusher();
    const input: PipelineInput = { name: 'stuck', start: async () => {}, stop: () => new Promise(() => {}) };
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator({ intervalMs: 60_000 }), flushers: [flusher], inputs: [input], stopTimeoutMs: 200 });
    await runner.start();
    await runner.add(log(1));
    const outcome = await Promise.race([runner.stop().then(() => 'stopped'), new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting'))]);
    assert.equal(outcome, 'stopped');
    assert.deepEqual(seqs(flusher.groups), [1]);
  });

  it('an input still adding logs while it stops is waited for past stopTimeoutMs: none of them is refused (found by a review)', async () => {
    const flusher = new SpyFlusher();
    let emit!: (l: Log) => Promise<void>;
    const refused: unknown[] = [];
    const input: PipelineInput = {
      name: 'draining',
      start: async (e) => {
        emit = e;
      },
      // Drains 10 buffered logs, one every 50 ms: longer than stopTimeoutMs (200 ms), never idle for it.
      stop: async () => {
        for (let i = 1; i <= 10; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          await emit(log(i)).catch((err: unknown) => refused.push(err));
        }
      },
    };
    const runner = new PipelineRunner({ context: ctx(), aggregator: new DefaultAggregator({ intervalMs: 60_000 }), flushers: [flusher], inputs: [input], stopTimeoutMs: 200 });
    await runner.start();
    await runner.stop();
    assert.deepEqual(refused, []);
    assert.deepEqual(seqs(flusher.groups), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

