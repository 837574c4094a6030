/**
 * iLogtail's `aggregator_context`: keeps each source's logs together, in order, in groups of
 * their own, tagged with the source's tags and a per-source `__pack_id__`, so that a receiver
 * can put one source's groups (one file, one stream) back in order.
 */
import {
  DEFAULT_CONTEXT_AGGREGATOR_MAX_BUFFERED_BYTES,
  DEFAULT_PACK_ID_IDLE_MS,
} from '../config/defaults.ts';
import { ErrorCodes, WalshipError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { estimateLogSize, type Log, type LogGroup, type LogTag } from '../model/index.ts';
import type { Aggregator, LogSource } from '../pipeline/aggregator.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import type { LogGroupQueue } from '../pipeline/log-group-queue.ts';
import {
  type AggregatorOptions,
  GroupBuffer,
  integerOption,
  invalidOptions,
  notInitialised,
  PACK_ID_TAG_KEY,
  PackIdSequence,
  packIdPrefix,
  resolveAggregatorOptions,
  type ResolvedAggregatorOptions,
} from './default-aggregator.ts';

/** Options of {@link ContextAggregator}. */
export interface ContextAggregatorOptions extends AggregatorOptions {
  /**
   * Estimated bytes buffered over all sources together (logs and group overhead, as
   * `maxBytesPerGroup` counts them). Before a log would pass it, every buffered group is
   * pushed to the queue (iLogtail's `MaxLogGroupPoolSize`), so many
   * sources cannot hold unbounded memory between flushes. An integer >= `maxBytesPerGroup`.
   * @defaultValue {@link DEFAULT_CONTEXT_AGGREGATOR_MAX_BUFFERED_BYTES} (16 MiB)
   */
  readonly maxBufferedBytes?: number;
  /**
   * A source's pack-id sequence is forgotten at a `flush` once the source has started no
   * group for this long (ms); if it comes back it gets a new prefix and starts again at 1.
   * An integer >= 1.
   * @defaultValue {@link DEFAULT_PACK_ID_IDLE_MS} (24 h)
   */
  readonly packIdIdleMs?: number;
  /** The clock used for `packIdIdleMs`. @defaultValue `Date.now` */
  readonly clock?: () => number;
}

/** {@link ContextAggregatorOptions} merged over the defaults and checked. */
export interface ResolvedContextAggregatorOptions extends ResolvedAggregatorOptions {
  readonly maxBufferedBytes: number;
  readonly packIdIdleMs: number;
  readonly clock: () => number;
}

export function resolveContextAggregatorOptions(options: ContextAggregatorOptions): ResolvedContextAggregatorOptions {
  const base = resolveAggregatorOptions(options);
  const maxBufferedBytes = integerOption(
    'maxBufferedBytes',
    options.maxBufferedBytes,
    Math.max(DEFAULT_CONTEXT_AGGREGATOR_MAX_BUFFERED_BYTES, base.maxBytesPerGroup),
    1,
  );
  if (maxBufferedBytes < base.maxBytesPerGroup) {
    throw invalidOptions(
      `Expected \`maxBufferedBytes\` (${maxBufferedBytes}) to be at least \`maxBytesPerGroup\` (${base.maxBytesPerGroup})`,
    );
  }
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') {
    throw invalidOptions(`Expected \`clock\` to be a function, got ${String(clock)}`);
  }
  return {
    ...base,
    maxBufferedBytes,
    packIdIdleMs: integerOption('packIdIdleMs', options.packIdIdleMs, DEFAULT_PACK_ID_IDLE_MS, 1),
    clock,
  };
}

/** A source's pack-id sequence and when it last started a group. */
interface SourceState {
  readonly pack: PackIdSequence | undefined;
  lastUsed: number;
}

/** True when `record` holds exactly the tags of `tags` (order aside). */
function sameTags(record: Readonly<Record<string, string>> | undefined, tags: readonly LogTag[]): boolean {
  if (record === undefined) return tags.length === 0;
  let count = 0;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    count++;
    if (count > tags.length) return false;
  }
  if (count !== tags.length) return false;
  for (const tag of tags) {
    if (!Object.hasOwn(record, tag.key) || record[tag.key] !== tag.value) return false;
  }
  return true;
}

function tagError(field: string, message: string): WalshipError {
  return new WalshipError(ErrorCodes.INVALID_LOG_GROUP, `${field}: ${message}`, { details: { field } });
}

/**
 * iLogtail's `aggregator_context`.
 *
 * - Logs are grouped per (source, topic) of the {@link LogSource} given to `add` (topic
 *   falling back to the `topic` option); each group's `source` and `topic` are set from it.
 * - The source's `tags` become the group's LogTags, then `__pack_id__` comes last. Tags are
 *   those of the group's first log: a log whose tags differ starts a new group.
 * - `__pack_id__` is `<prefix>-<seq>` in uppercase hex (iLogtail's `%X-%X`): `prefix` hashes
 *   configName, hostname, start time and the source (FNV-1a 64); `seq` starts at 1 and counts
 *   the groups emitted for that source, all its topics together, in emission order.
 * - Each (source, topic) holds at most `maxGroups` groups, each within `maxLogsPerGroup` and
 *   `maxBytesPerGroup`, as in the default aggregator; when one more would start, the oldest
 *   is pushed to the queue (quick flush). Over all sources at most `maxBufferedBytes` are
 *   held: before a log would pass it, everything buffered is pushed to the queue.
 * - When the queue refuses, `add` throws its error and does not take the log, exactly as
 *   {@link DefaultAggregator} does: what was not pushed stays buffered for `flush()`.
 */
export class ContextAggregator implements Aggregator {
  readonly options: ResolvedContextAggregatorOptions;
  #queue: LogGroupQueue | undefined;
  #logger: Logger | undefined;
  #configName = '';
  /** Buffers per source, then per topic; Map order is the order `flush` emits them in. */
  readonly #streams = new Map<string | undefined, Map<string | undefined, GroupBuffer>>();
  /** Pack-id state per source (`undefined` and `''` share one: both mean "no source"). */
  readonly #sources = new Map<string, SourceState>();
  /** Pack-id streams created so far: part of each prefix, so a returning source gets a new one. */
  #packStreamsCreated = 0;
  #bufferedBytes = 0;

  constructor(options: ContextAggregatorOptions = {}) {
    this.options = resolveContextAggregatorOptions(options);
  }

  /** Returns `intervalMs` (0: the runner's global default). */
  async init(ctx: PipelineContext, queue: LogGroupQueue): Promise<number> {
    this.#queue = queue;
    this.#configName = ctx.configName;
    this.#logger = ctx.logger.child({ component: 'aggregator_context' });
    return this.options.intervalMs;
  }

  description(): string {
    return 'context aggregator: keeps each source in its own LogGroups, tagged and numbered with __pack_id__';
  }

  /** Estimated bytes buffered over all sources. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Groups buffered over all sources, partial ones included. */
  get bufferedGroups(): number {
    let n = 0;
    for (const topics of this.#streams.values()) for (const buffer of topics.values()) n += buffer.groupCount;
    return n;
  }

  /**
   * Adds `log` from `from` (no source, no tags, the `topic` option when omitted). Throws
   * what `queue.add` throws when a quick flush was needed and refused, and a
   * `WALSHIP_INVALID_LOG_GROUP` error for a tag that is not a string or is `__pack_id__`;
   * the log was then not added.
   */
  add(log: Log, from?: LogSource): void {
    const queue = this.#queue;
    if (queue === undefined) throw notInitialised('aggregator_context');
    const logSize = estimateLogSize(log);
    const source = from?.source;
    const topic = from?.topic ?? this.options.topic;
    const record = from?.tags;
    const buffer = this.#buffer(source, topic);
    const current = buffer.current;
    let opening = buffer.needsNewGroup(logSize) || (current !== undefined && !sameTags(record, current.tags));
    // Checked before anything changes: a bad tag leaves the buffers as they were.
    let tags = opening ? this.#tagsOf(record) : undefined;
    const adding = logSize + (tags === undefined ? 0 : buffer.overheadOf(tags));
    if (this.#bufferedBytes > 0 && this.#bufferedBytes + adding > this.options.maxBufferedBytes) {
      this.#logger?.debug({ bufferedBytes: this.#bufferedBytes }, 'buffer limit reached: pushing every group');
      this.#pushAll(queue);
      opening = true; // every buffer is empty now, this one included
      tags ??= this.#tagsOf(record);
    }
    if (opening) {
      const before = buffer.bytes;
      buffer.openGroup(queue, tags);
      this.#bufferedBytes += buffer.bytes - before;
      this.#sources.get(source ?? '')!.lastUsed = this.options.clock();
    }
    buffer.append(log, logSize);
    this.#bufferedBytes += logSize;
  }

  /**
   * Every buffered group, the partial ones included: source by source, topic by topic, each
   * stream oldest first. Empties the buffers and forgets idle sources' pack ids.
   */
  flush(): LogGroup[] {
    const out: LogGroup[] = [];
    for (const topics of this.#streams.values()) for (const buffer of topics.values()) buffer.drain(out);
    this.#streams.clear();
    this.#bufferedBytes = 0;
    this.#forgetIdleSources();
    return out;
  }

  /** Drops every buffered group (their pack ids are not used up). */
  reset(): void {
    this.#streams.clear();
    this.#bufferedBytes = 0;
  }

  /** The buffer of (source, topic), created (with its source's pack-id state) on first use. */
  #buffer(source: string | undefined, topic: string | undefined): GroupBuffer {
    let topics = this.#streams.get(source);
    if (topics === undefined) {
      topics = new Map();
      this.#streams.set(source, topics);
    }
    let buffer = topics.get(topic);
    if (buffer === undefined) {
      const key = source ?? '';
      let state = this.#sources.get(key);
      if (state === undefined) {
        const { packId, hostname, startTime } = this.options;
        const n = this.#packStreamsCreated++;
        const pack = packId ? new PackIdSequence(packIdPrefix(this.#configName, hostname, startTime, key, n)) : undefined;
        state = { pack, lastUsed: this.options.clock() };
        this.#sources.set(key, state);
      }
      buffer = new GroupBuffer(this.options, topic, source, state.pack);
      topics.set(topic, buffer);
    }
    return buffer;
  }

  /** The LogTags for a source's tags record, checked before anything changes. */
  #tagsOf(record: Readonly<Record<string, string>> | undefined): LogTag[] {
    const tags: LogTag[] = [];
    if (record === undefined) return tags;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      const value: unknown = record[key];
      if (typeof value !== 'string') {
        throw tagError(`tags.${key}`, `expected a string, got ${value === null ? 'null' : typeof value}`);
      }
      if (key === PACK_ID_TAG_KEY && this.options.packId) {
        throw tagError(`tags.${key}`, `expected no tag named ${PACK_ID_TAG_KEY} (the aggregator adds it), got ${JSON.stringify(value)}`);
      }
      tags.push({ key, value });
    }
    return tags;
  }

  /**
   * Pushes every buffered group to the queue, stream by stream, oldest first. Stops at the
   * first refusal and throws it; what was pushed is gone from the buffers, the rest stays.
   */
  #pushAll(queue: LogGroupQueue): void {
    // The (now empty) buffers stay in place until the next flush: `add` holds one of them.
    for (const topics of this.#streams.values()) {
      for (const buffer of topics.values()) {
        while (buffer.groupCount > 0) {
          const before = buffer.bytes;
          buffer.pushOldest(queue); // throws having changed nothing
          this.#bufferedBytes += buffer.bytes - before;
        }
      }
    }
  }

  #forgetIdleSources(): void {
    const now = this.options.clock();
    const idleMs = this.options.packIdIdleMs;
    let forgotten = 0;
    for (const [key, state] of this.#sources) {
      // Called with every buffer empty: no group still needs this sequence.
      if (now - state.lastUsed >= idleMs) {
        this.#sources.delete(key);
        forgotten++;
      }
    }
    if (forgotten > 0) this.#logger?.debug({ forgotten }, 'forgot idle sources’ pack ids');
  }
}
