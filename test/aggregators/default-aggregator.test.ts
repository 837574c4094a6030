/**
 * aggregator_default: the limits (A2, A3), the quick flush, what happens when the queue is
 * full (A4), flush/reset, and `__pack_id__` (A5); invariants in src/aggregators/index.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { DefaultAggregator, PACK_ID_TAG_KEY, packIdPrefix } from '../../src/aggregators/index.ts';
import { ErrorCodes, isWalshipError, QueueFullError } from '../../src/errors.ts';
import { estimateLogGroupSize, estimateLogSize, type Log, type LogGroup } from '../../src/model/index.ts';
import type { PipelineContext } from '../../src/pipeline/context.ts';
import { BoundedLogGroupQueue, type LogGroupQueue } from '../../src/pipeline/log-group-queue.ts';

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
  if (size !== undefined) {
    const pad = size - estimateLogSize({ time: 0, contents }) - 5 - 1;
    assert.ok(pad >= 0, `a log of ${size} bytes is too small`);
    contents.push({ key: 'p', value: 'x'.repeat(pad) });
  }
  const l: Log = { time: 1_700_000_000, contents };
  if (size !== undefined) assert.equal(estimateLogSize(l), size);
  return l;
}

const ids = (g: LogGroup): number[] => g.logs.map((l) => Number(l.contents[0]!.value));
const packIdOf = (g: LogGroup): string | undefined => g.logTags.find((t) => t.key === PACK_ID_TAG_KEY)?.value;

async function aggregator(
  options: ConstructorParameters<typeof DefaultAggregator>[0] = {},
  queue: LogGroupQueue = new RecordingQueue(),
): Promise<DefaultAggregator> {
  const agg = new DefaultAggregator({ hostname: 'host', startTime: 0, ...options });
  await agg.init(ctx, queue);
  return agg;
}

describe('aggregator_default: limits', () => {
  it('packs at most 1024 logs into a group by default', async () => {
    const agg = await aggregator();
    for (let i = 0; i < 1025; i++) agg.add(log(i));
    const groups = agg.flush();
    assert.deepEqual(groups.map((g) => g.logs.length), [1024, 1]);
    assert.deepEqual(groups.flatMap(ids), Array.from({ length: 1025 }, (_, i) => i));
  });

  it('starts a new group at maxLogsPerGroup logs, keeping the logs in order', async () => {
    const agg = await aggregator({ maxLogsPerGroup: 3, maxGroups: 10 });
    for (let i = 0; i < 7; i++) agg.add(log(i));
    assert.deepEqual(agg.flush().map(ids), [[0, 1, 2], [3, 4, 5], [6]]);
  });

  it('starts a new group when the next log would pass maxBytesPerGroup', async () => {
    const agg = await aggregator({ maxBytesPerGroup: 100, packId: false, maxGroups: 10 });
    for (let i = 0; i < 5; i++) agg.add(log(i, 40));
    const groups = agg.flush();
    assert.deepEqual(groups.map(ids), [[0, 1], [2, 3], [4]]);
    for (const g of groups) assert.ok(estimateLogGroupSize(g) <= 100);
  });

  it('keeps every group within maxBytesPerGroup by the group estimate, topic and __pack_id__ included (A2)', async () => {
    const maxBytesPerGroup = 1000;
    const agg = await aggregator({ maxBytesPerGroup, topic: 'a-topic', maxGroups: 100 });
    const sizes = [19, 300, 450, 20, 999 - 200, 64, 64, 64, 500, 25, 400, 120];
    sizes.forEach((size, i) => agg.add(log(i, size)));
    const groups = agg.flush();
    for (const g of groups) {
      assert.ok(estimateLogGroupSize(g) <= maxBytesPerGroup, `${estimateLogGroupSize(g)} > ${maxBytesPerGroup}`);
    }
    assert.deepEqual(groups.flatMap(ids), sizes.map((_, i) => i));
  });

  it('fills a group up to the 3 MiB default, not beyond', async () => {
    const agg = await aggregator({ maxGroups: 10 });
    for (let i = 0; i < 7; i++) agg.add(log(i, 1024 * 1024 - 100));
    const groups = agg.flush();
    assert.deepEqual(groups.map((g) => g.logs.length), [3, 3, 1]);
    for (const g of groups) assert.ok(estimateLogGroupSize(g) <= 3 * 1024 * 1024);
  });

  it('puts a log larger than maxBytesPerGroup alone in its group', async () => {
    const agg = await aggregator({ maxBytesPerGroup: 100, maxGroups: 10 });
    agg.add(log(0, 20));
    agg.add(log(1, 500));
    agg.add(log(2, 20));
    agg.add(log(3, 600));
    agg.add(log(4, 700));
    assert.deepEqual(agg.flush().map(ids), [[0], [1], [2], [3], [4]]);
  });
});

describe('aggregator_default: quick flush', () => {
  it('buffers at most maxGroups groups and pushes the oldest to the queue when one more starts (A3)', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxLogsPerGroup: 2, maxGroups: 4 }, queue);
    for (let i = 0; i < 8; i++) agg.add(log(i));
    assert.equal(agg.bufferedGroups, 4);
    assert.equal(queue.groups.length, 0);
    agg.add(log(8)); // a 5th group would start
    assert.deepEqual(queue.groups.map(ids), [[0, 1]]);
    assert.equal(agg.bufferedGroups, 4);
    for (let i = 9; i < 12; i++) agg.add(log(i));
    assert.deepEqual(queue.groups.map(ids), [[0, 1], [2, 3]]);
    assert.deepEqual(agg.flush().map(ids), [[4, 5], [6, 7], [8, 9], [10, 11]]);
  });

  it('pushes the current group itself when maxGroups is 1', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxLogsPerGroup: 1, maxGroups: 1 }, queue);
    for (let i = 0; i < 3; i++) agg.add(log(i));
    assert.deepEqual(queue.groups.map(ids), [[0], [1]]);
    assert.deepEqual(agg.flush().map(ids), [[2]]);
  });

  it('works with the BoundedLogGroupQueue the runner drains', async () => {
    const queue = new BoundedLogGroupQueue({ capacity: 2 });
    const agg = await aggregator({ maxLogsPerGroup: 1, maxGroups: 1 }, queue);
    for (let i = 0; i < 3; i++) agg.add(log(i));
    assert.throws(() => agg.add(log(3)), QueueFullError);
    assert.deepEqual(queue.take().map(ids), [[0], [1]]);
    agg.add(log(3));
    assert.deepEqual(queue.take().map(ids), [[2]]);
    assert.deepEqual(agg.flush().map(ids), [[3]]);
  });
});

describe('aggregator_default: a full queue (A4)', () => {
  it('throws the queue’s QueueFullError, keeps the group and does not take the log', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxLogsPerGroup: 1, maxGroups: 2 }, queue);
    agg.add(log(0));
    agg.add(log(1));
    queue.full = true;
    assert.throws(() => agg.add(log(2)), (err: unknown) => isWalshipError(err, ErrorCodes.QUEUE_FULL));
    assert.throws(() => agg.add(log(2)), QueueFullError);
    assert.equal(agg.bufferedGroups, 2);
    queue.full = false;
    agg.add(log(2)); // the caller retries the same log
    assert.deepEqual(queue.groups.map(ids), [[0]]);
    assert.deepEqual(agg.flush().map(ids), [[1], [2]]);
  });

  it('returns the group the queue refused from flush, with the pack id it would have had', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxLogsPerGroup: 1, maxGroups: 1 }, queue);
    agg.add(log(0));
    queue.full = true;
    assert.throws(() => agg.add(log(1)), QueueFullError);
    const groups = agg.flush();
    assert.deepEqual(groups.map(ids), [[0]]);
    assert.match(packIdOf(groups[0]!)!, /-1$/);
  });
});

describe('aggregator_default: flush, reset, init', () => {
  it('returns every buffered group from flush, the partial one included, and then nothing', async () => {
    const agg = await aggregator({ maxLogsPerGroup: 2 });
    for (let i = 0; i < 3; i++) agg.add(log(i));
    assert.deepEqual(agg.flush().map(ids), [[0, 1], [2]]);
    assert.equal(agg.bufferedGroups, 0);
    assert.deepEqual(agg.flush(), []);
    agg.add(log(3));
    assert.deepEqual(agg.flush().map(ids), [[3]]);
  });

  it('drops what is buffered on reset without using up pack ids', async () => {
    const agg = await aggregator();
    agg.add(log(0));
    agg.reset();
    assert.deepEqual(agg.flush(), []);
    agg.add(log(1));
    const [g] = agg.flush();
    assert.deepEqual(ids(g!), [1]);
    assert.match(packIdOf(g!)!, /-1$/);
  });

  it('returns the interval option from init, 0 (the global default) unless set', async () => {
    assert.equal(await new DefaultAggregator().init(ctx, new RecordingQueue()), 0);
    assert.equal(await new DefaultAggregator({ intervalMs: 500 }).init(ctx, new RecordingQueue()), 500);
  });

  it('throws WALSHIP_NOT_OPEN from add before init', () => {
    assert.throws(() => new DefaultAggregator().add(log(0)), (err: unknown) => isWalshipError(err, ErrorCodes.NOT_OPEN));
  });

  it('sets the topic option on every group and ignores the source given to add', async () => {
    const agg = await aggregator({ topic: 't', packId: false });
    agg.add(log(0), { source: 'file-a', topic: 'other', tags: { k: 'v' } });
    assert.deepEqual(agg.flush(), [{ logs: [log(0)], topic: 't', logTags: [] }]);
  });

  it('refuses bad options with WALSHIP_INVALID_OPTIONS naming the option', () => {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['maxLogsPerGroup', { maxLogsPerGroup: 0 }],
      ['maxBytesPerGroup', { maxBytesPerGroup: -1 }],
      ['maxGroups', { maxGroups: 1.5 }],
      ['intervalMs', { intervalMs: -1 }],
      ['topic', { topic: 5 }],
      ['packId', { packId: 'yes' }],
      ['hostname', { hostname: 1 }],
      ['startTime', { startTime: Number.NaN }],
    ];
    for (const [name, options] of bad) {
      assert.throws(
        () => new DefaultAggregator(options),
        (err: unknown) => isWalshipError(err, ErrorCodes.INVALID_OPTIONS) && err.message.includes(`\`${name}\``),
        name,
      );
    }
  });
});

describe('aggregator_default: __pack_id__ (A5)', () => {
  it('tags each group <HEX prefix>-<HEX seq>, counting 1, 2, 3… in uppercase hex', async () => {
    const queue = new RecordingQueue();
    const agg = await aggregator({ maxLogsPerGroup: 1, maxGroups: 2 }, queue);
    for (let i = 0; i < 20; i++) agg.add(log(i));
    const groups = [...queue.groups, ...agg.flush()];
    const prefix = packIdPrefix('cfg', 'host', 0);
    assert.match(prefix, /^[0-9A-F]+$/);
    assert.equal(groups.length, 20);
    groups.forEach((g, i) => {
      const value = packIdOf(g)!;
      assert.match(value, /^[0-9A-F]+-[0-9A-F]+$/);
      assert.equal(value, `${prefix}-${(i + 1).toString(16).toUpperCase()}`);
      assert.equal(g.logTags.at(-1)!.key, PACK_ID_TAG_KEY);
    });
    assert.equal(packIdOf(groups[9]!), `${prefix}-A`);
    assert.equal(packIdOf(groups[15]!), `${prefix}-10`);
  });

  it('derives the prefix from configName, hostname and start time', () => {
    const a = packIdPrefix('cfg', 'host', 0);
    assert.equal(packIdPrefix('cfg', 'host', 0), a);
    assert.notEqual(packIdPrefix('cfg', 'host', 1), a);
    assert.notEqual(packIdPrefix('cfg', 'other', 0), a);
    assert.notEqual(packIdPrefix('cfg2', 'host', 0), a);
    // FNV-1a 64 of the empty string, printed as iLogtail's %X prints it.
    assert.equal(packIdPrefix(''), 'CBF29CE484222325');
  });

  it('adds no tag when packId is false', async () => {
    const agg = await aggregator({ packId: false });
    agg.add(log(0));
    assert.deepEqual(agg.flush()[0]!.logTags, []);
  });
});
