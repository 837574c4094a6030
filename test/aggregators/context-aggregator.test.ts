/**
 * aggregator_context: grouping by source and topic, the source's tags, `__pack_id__` per
 * source (A5), the per-source limits and quick flush (A2, A3), the cap over all sources, and
 * a full queue (A4); invariants in src/aggregators/index.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ContextAggregator, type ContextAggregatorOptions, PACK_ID_TAG_KEY } from '../../src/aggregators/index.ts';
import { ErrorCodes, isWalshipError, QueueFullError } from '../../src/errors.ts';
import { estimateLogGroupSize, estimateLogSize, type Log, type LogGroup } from '../../src/model/index.ts';
import type { PipelineContext } from '../../src/pipeline/context.ts';
import type { LogGroupQueue } from '../../src/pipeline/log-group-queue.ts';

const ctx: PipelineContext = {
  configName: 'cfg',
  project: 'proj',
  logstore: 'store',
  logger: pino({ level: 'silent' }),
  saveCheckpoint: async () => {},
  getCheckpoint: async () => undefined,
};

/** A queue that records what it took and refuses while `full` is set. */
class RecordingQueue implements LogGroupQueue {
  readonly groups: LogGroup[] = [];
  full = false;
  add(lg: LogGroup): void {
    if (this.full) throw new QueueFullError();
    this.groups.push(lg);
  }
  async addWithWait(lg: LogGroup): Promise<void> {
    this.add(lg);
  }
}

/** Log number `i`; with `size`, padded so that `estimateLogSize` is exactly `size`. */
function log(i: number, size?: number): Log {
  const contents = [{ key: 'i', value: String(i) }];
  if (size !== undefined) contents.push({ key: 'p', value: 'x'.repeat(size - estimateLogSize({ time: 0, contents }) - 6) });
  const l: Log = { time: 1_700_000_000, contents };
  if (size !== undefined) assert.equal(estimateLogSize(l), size);
  return l;
}

const ids = (g: LogGroup): number[] => g.logs.map((l) => Number(l.contents[0]!.value));
const packIdOf = (g: LogGroup): string => g.logTags.find((t) => t.key === PACK_ID_TAG_KEY)!.value;
const prefixOf = (g: LogGroup): string => packIdOf(g).split('-')[0]!;
const seqOf = (g: LogGroup): number => Number.parseInt(packIdOf(g).split('-')[1]!, 16);

async function aggregator(options: ContextAggregatorOptions = {}, queue: LogGroupQueue = new RecordingQueue()): Promise<ContextAggregator> {
  const agg = new ContextAggregator({ hostname: 'host', startTime: 0, ...options });
  await agg.init(ctx, queue);
  return agg;
}

describe('aggregator_context: grouping', () => {
  it('keeps each source’s logs in groups of their own, in order, with the group’s source set', async () => {
    const agg = await aggregator();
    for (let i = 0; i < 6; i++) agg.add(log(i), { source: i % 2 === 0 ? '/var/log/a' : '/var/log/b' });
    const groups = agg.flush();
    assert.deepEqual(
      groups.map((g) => [g.source, ids(g)]),
      [
        ['/var/log/a', [0, 2, 4]],
        ['/var/log/b', [1, 3, 5]],
      ],
    );
  });

  it('groups by source and topic, the topic option standing in for a missing one', async () => {
    const agg = await aggregator({ topic: 'default-topic' });
    agg.add(log(0), { source: 'a', topic: 't1' });
    agg.add(log(1), { source: 'a', topic: 't2' });
    agg.add(log(2), { source: 'a' });
    agg.add(log(3), { source: 'a', topic: 't1' });
    agg.add(log(4));
    assert.deepEqual(
      agg.flush().map((g) => [g.source, g.topic, ids(g)]),
      [
        ['a', 't1', [0, 3]],
        ['a', 't2', [1]],
        ['a', 'default-topic', [2]],
        [undefined, 'default-topic', [4]],
      ],
    );
  });

  it('leaves source and topic out of a group that has none, in the model’s canonical shape', async () => {
    const agg = await aggregator({ packId: false });
    agg.add(log(0));
    assert.deepEqual(agg.flush(), [{ logs: [log(0)], logTags: [] }]);
  });
});

describe('aggregator_context: tags', () => {
  it('adds the source’s tags as LogTags, __pack_id__ last', async () => {
    const agg = await aggregator();
    agg.add(log(0), { source: 'a', tags: { host: 'web-1', env: 'prod' } });
    agg.add(log(1), { source: 'b', tags: { host: 'web-2' } });
    const [a, b] = agg.flush();
    assert.deepEqual(a!.logTags.map((t) => t.key), ['host', 'env', PACK_ID_TAG_KEY]);
    assert.deepEqual(a!.logTags.slice(0, 2), [
      { key: 'host', value: 'web-1' },
      { key: 'env', value: 'prod' },
    ]);
    assert.deepEqual(b!.logTags.slice(0, 1), [{ key: 'host', value: 'web-2' }]);
  });

  it('starts a new group when a source’s tags change, and not when the same tags come again', async () => {
    const agg = await aggregator();
    agg.add(log(0), { source: 'a', tags: { v: '1' } });
    agg.add(log(1), { source: 'a', tags: { v: '1' } });
    agg.add(log(2), { source: 'a', tags: { v: '2' } });
    agg.add(log(3), { source: 'a', tags: { v: '2', w: '3' } });
    agg.add(log(4), { source: 'a', tags: { w: '3', v: '2' } });
    const groups = agg.flush();
    assert.deepEqual(groups.map(ids), [[0, 1], [2], [3, 4]]);
    assert.deepEqual(groups.map(seqOf), [1, 2, 3]);
  });

  it('refuses a tag named __pack_id__ or a tag that is not a string, without changing anything', async () => {
    const agg = await aggregator();
    agg.add(log(0), { source: 'a' });
    assert.throws(
      () => agg.add(log(1), { source: 'a', tags: { [PACK_ID_TAG_KEY]: 'X-1' } }),
      (err: unknown) => isWalshipError(err, ErrorCodes.INVALID_LOG_GROUP) && err.details.field === `tags.${PACK_ID_TAG_KEY}`,
    );
    assert.throws(
      () => agg.add(log(1), { source: 'a', tags: { n: 5 as unknown as string } }),
      (err: unknown) => isWalshipError(err, ErrorCodes.INVALID_LOG_GROUP) && err.details.field === 'tags.n',
    );
    assert.deepEqual(agg.flush().map(ids), [[0]]);
  });
});

describe('aggregator_context: __pack_id__ per source (A5)', () => {
  it('numbers each source’s groups 1, 2, 3… in uppercase hex, under a prefix of its own', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxLogsPerGroup: 1, maxGroups: 3 }, queue);
    for (let i = 0; i < 40; i++) agg.add(log(i), { source: i % 2 === 0 ? 'a' : 'b' });
    const groups = [...queue.groups, ...agg.flush()];
    for (const g of groups) assert.match(packIdOf(g), /^[0-9A-F]+-[0-9A-F]+$/);
    for (const source of ['a', 'b']) {
      const mine = groups.filter((g) => g.source === source);
      assert.equal(mine.length, 20);
      assert.deepEqual(mine.map((g) => packIdOf(g).split('-')[1]), Array.from({ length: 20 }, (_, i) => (i + 1).toString(16).toUpperCase()));
      assert.equal(new Set(mine.map(prefixOf)).size, 1);
    }
    assert.notEqual(prefixOf(groups.find((g) => g.source === 'a')!), prefixOf(groups.find((g) => g.source === 'b')!));
  });

  it('counts one sequence over all topics of a source, in the order the groups are emitted', async () => {
    const agg = await aggregator();
    agg.add(log(0), { source: 'a', topic: 't1' });
    agg.add(log(1), { source: 'a', topic: 't2' });
    agg.add(log(2), { source: 'b', topic: 't1' });
    const groups = agg.flush();
    assert.deepEqual(groups.map((g) => [g.source, g.topic, seqOf(g)]), [
      ['a', 't1', 1],
      ['a', 't2', 2],
      ['b', 't1', 1],
    ]);
    assert.equal(prefixOf(groups[0]!), prefixOf(groups[1]!));
    agg.add(log(3), { source: 'a', topic: 't2' });
    assert.equal(seqOf(agg.flush()[0]!), 3);
  });

  it('gives the same prefixes for the same config, host and start time, and new ones after a restart', async () => {
    const first = async (options: ContextAggregatorOptions): Promise<string> => {
      const agg = await aggregator(options);
      agg.add(log(0), { source: 'a' });
      return prefixOf(agg.flush()[0]!);
    };
    assert.equal(await first({}), await first({}));
    assert.notEqual(await first({ startTime: 1 }), await first({}));
    assert.notEqual(await first({ hostname: 'other' }), await first({}));
  });

  it('forgets an idle source’s sequence at a flush; when it returns it starts at 1 under a new prefix', async () => {
    let now = 0;
    const agg = await aggregator({ packIdIdleMs: 1000, clock: () => now });
    agg.add(log(0), { source: 'a' });
    agg.add(log(1), { source: 'b' });
    const [a1] = agg.flush();
    now = 600;
    agg.add(log(2), { source: 'b' }); // b stays active
    agg.flush();
    now = 1000;
    agg.flush(); // a has been idle for 1000 ms: forgotten; b for 400 ms: kept
    agg.add(log(3), { source: 'a' });
    agg.add(log(4), { source: 'b' });
    const [a2, b3] = agg.flush();
    assert.equal(seqOf(a2!), 1);
    assert.notEqual(prefixOf(a2!), prefixOf(a1!));
    assert.equal(seqOf(b3!), 3);
  });
});

describe('aggregator_context: limits and quick flush', () => {
  it('applies the group limits per source and keeps every group within maxBytesPerGroup (A2)', async () => {
    const agg = await aggregator({ maxLogsPerGroup: 3, maxBytesPerGroup: 400, maxGroups: 100 });
    const from = { source: '/var/log/some/file.log', topic: 'topic', tags: { host: 'web-1' } };
    for (let i = 0; i < 10; i++) agg.add(log(i, 80), from);
    for (let i = 10; i < 14; i++) agg.add(log(i), { source: 'other' });
    const groups = agg.flush();
    assert.deepEqual(groups.map(ids), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9], [10, 11, 12], [13]]);
    for (const g of groups) assert.ok(estimateLogGroupSize(g) <= 400, `${estimateLogGroupSize(g)} > 400`);
    const tight = await aggregator({ maxBytesPerGroup: 300, maxGroups: 100 });
    for (let i = 0; i < 6; i++) tight.add(log(i, 100), from);
    const tightGroups = tight.flush();
    assert.ok(tightGroups.every((g) => g.logs.length === 2 && estimateLogGroupSize(g) <= 300));
  });

  it('pushes a source’s oldest group to the queue when it would start one group too many, leaving other sources be (A3)', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxLogsPerGroup: 2, maxGroups: 2 }, queue);
    agg.add(log(100), { source: 'b' });
    for (let i = 0; i < 4; i++) agg.add(log(i), { source: 'a' });
    assert.equal(queue.groups.length, 0);
    agg.add(log(4), { source: 'a' });
    assert.deepEqual(queue.groups.map((g) => [g.source, ids(g), seqOf(g)]), [['a', [0, 1], 1]]);
    assert.deepEqual(agg.flush().map((g) => [g.source, ids(g), seqOf(g)]), [
      ['b', [100], 1],
      ['a', [2, 3], 2],
      ['a', [4], 3],
    ]);
  });

  it('puts a log larger than maxBytesPerGroup alone in its group', async () => {
    const agg = await aggregator({ maxBytesPerGroup: 200, maxGroups: 10 });
    for (const [i, size] of [[0, 20], [1, 900], [2, 20]] as const) agg.add(log(i, size), { source: 'a' });
    assert.deepEqual(agg.flush().map(ids), [[0], [1], [2]]);
  });

  it('pushes everything buffered to the queue before all sources together would pass maxBufferedBytes', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxBytesPerGroup: 1000, maxBufferedBytes: 1000, maxGroups: 10 }, queue);
    for (let i = 0; i < 4; i++) agg.add(log(i, 180), { source: `s${i}` });
    assert.equal(queue.groups.length, 0);
    assert.ok(agg.bufferedBytes <= 1000);
    agg.add(log(4, 180), { source: 's0' });
    assert.deepEqual(queue.groups.map(ids), [[0], [1], [2], [3]]);
    assert.equal(agg.bufferedGroups, 1);
    assert.deepEqual(agg.flush().map((g) => [g.source, ids(g), seqOf(g)]), [['s0', [4], 2]]);
    assert.equal(agg.bufferedBytes, 0);
  });

  it('refuses maxBufferedBytes below maxBytesPerGroup, and other bad options, with WALSHIP_INVALID_OPTIONS', () => {
    const bad: Array<[string, ContextAggregatorOptions]> = [
      ['maxBufferedBytes', { maxBytesPerGroup: 1000, maxBufferedBytes: 999 }],
      ['packIdIdleMs', { packIdIdleMs: 0 }],
      ['clock', { clock: 5 as unknown as () => number }],
      ['maxGroups', { maxGroups: 0 }],
    ];
    for (const [name, options] of bad) {
      assert.throws(
        () => new ContextAggregator(options),
        (err: unknown) => isWalshipError(err, ErrorCodes.INVALID_OPTIONS) && err.message.includes(`\`${name}\``),
        name,
      );
    }
  });
});

describe('aggregator_context: a full queue (A4), flush and reset', () => {
  it('throws the queue’s QueueFullError without taking the log, and flush returns the refused group', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxLogsPerGroup: 1, maxGroups: 1 }, queue);
    agg.add(log(0), { source: 'a' });
    queue.full = true;
    assert.throws(() => agg.add(log(1), { source: 'a' }), QueueFullError);
    agg.add(log(2), { source: 'b' }); // another source is not held up
    queue.full = false;
    agg.add(log(1), { source: 'a' }); // the caller retries the same log
    assert.deepEqual(queue.groups.map((g) => [ids(g), seqOf(g)]), [[[0], 1]]);
    assert.deepEqual(agg.flush().map((g) => [g.source, ids(g), seqOf(g)]), [
      ['a', [1], 2],
      ['b', [2], 1],
    ]);
  });

  it('throws from the push over maxBufferedBytes when the queue is full, keeping what was not pushed', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxBytesPerGroup: 500, maxBufferedBytes: 500 }, queue);
    agg.add(log(0, 150), { source: 'a' });
    agg.add(log(1, 150), { source: 'b' });
    assert.equal(queue.groups.length, 0);
    queue.full = true;
    assert.throws(() => agg.add(log(2, 150), { source: 'c' }), QueueFullError);
    assert.equal(agg.bufferedGroups, 2);
    assert.deepEqual(agg.flush().map(ids), [[0], [1]]);
  });

  it('returns every group from flush and then nothing; reset drops without using up pack ids', async () => {
    const agg = await aggregator();
    agg.add(log(0), { source: 'a' });
    assert.equal(agg.flush().length, 1);
    assert.deepEqual(agg.flush(), []);
    agg.add(log(1), { source: 'a' });
    agg.reset();
    assert.equal(agg.bufferedBytes, 0);
    assert.deepEqual(agg.flush(), []);
    agg.add(log(2), { source: 'a' });
    assert.equal(seqOf(agg.flush()[0]!), 2);
  });

  it('returns the interval option from init and throws WALSHIP_NOT_OPEN from add before init', async () => {
    assert.equal(await new ContextAggregator().init(ctx, new RecordingQueue()), 0);
    assert.equal(await new ContextAggregator({ intervalMs: 1000 }).init(ctx, new RecordingQueue()), 1000);
    assert.throws(() => new ContextAggregator().add(log(0)), (err: unknown) => isWalshipError(err, ErrorCodes.NOT_OPEN));
  });
});
