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
