/**
 * iLogtail's `aggregator_default` ("defaultone"): packs every log into one stream of LogGroups
 * and hands full groups to the pipeline early (a quick flush) so that a burst of large logs
 * does not wait for the next periodic `flush`.
 *
 * This file also holds the building blocks the context aggregator reuses (iLogtail, too, uses
 * defaultone as the base of its other aggregators): option checks, the `__pack_id__`
 * sequence, and {@link GroupBuffer}, one stream's bounded list of groups. See
 * `./index.ts` for the invariants both aggregators keep.
 */
import { hostname as osHostname } from 'node:os';
import {
  DEFAULT_AGGREGATOR_MAX_GROUPS,
  DEFAULT_MAX_LOG_GROUP_BYTES,
  DEFAULT_MAX_LOGS_PER_GROUP,
} from '../config/defaults.ts';
import { ErrorCodes, WalshipError } from '../errors.ts';
import { estimateLogSize, type Log, type LogGroup, type LogTag } from '../model/index.ts';
import { FIELD_OVERHEAD_BYTES } from '../model/size.ts';
import type { Aggregator, LogSource } from '../pipeline/aggregator.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import type { LogGroupQueue } from '../pipeline/log-group-queue.ts';

// ── Options ───────────────────────────────────────────────────────────────────────────────

/** Options both aggregators share (`aggregator_default`'s fields, camelCase). */
export interface AggregatorOptions {
  /**
   * Logs in one LogGroup at most (iLogtail's `MaxLogCount`); an integer >= 1.
   * @defaultValue {@link DEFAULT_MAX_LOGS_PER_GROUP} (1024)
   */
  readonly maxLogsPerGroup?: number;
  /**
   * Estimated bytes of one LogGroup at most, counted as `estimateLogGroupSize` counts them:
   * the logs plus the group's topic, source and tags, `__pack_id__` included (its sequence at
   * its longest). A log that is larger on its own goes alone in its group, which is then
   * larger than this: the aggregator neither splits nor drops a log. An integer from 1 to 3 MiB.
   * @defaultValue {@link DEFAULT_MAX_LOG_GROUP_BYTES} (3 MiB, iLogtail's `MaxLogGroupSize`)
   */
  readonly maxBytesPerGroup?: number;
  /**
   * Groups buffered per stream (the partial current one included). When one more would
   * start, the oldest is quick-flushed through `queue.add` (iLogtail's `MaxLogGroupCount`);
   * an integer >= 1.
   * @defaultValue {@link DEFAULT_AGGREGATOR_MAX_GROUPS} (4)
   */
  readonly maxGroups?: number;
  /**
   * What `init` returns: the flush interval in ms; 0 lets the runner use its global default
   * (3000 ms). An integer >= 0.
   * @defaultValue 0
   */
  readonly intervalMs?: number;
  /** Topic of every group (iLogtail's `Topic`). @defaultValue none */
  readonly topic?: string;
  /**
   * Adds a `__pack_id__` tag `<prefix>-<seq>` (uppercase hex) to each group, iLogtail's
   * `PackFlag`: the sequence starts at 1 and counts the groups emitted, so a receiver can
   * order them and see a gap.
   * @defaultValue true
   */
  readonly packId?: boolean;
  /** Part of the pack-id prefix. @defaultValue `os.hostname()` */
  readonly hostname?: string;
  /** Part of the pack-id prefix: ms since the epoch. @defaultValue `Date.now()` at construction */
  readonly startTime?: number;
}

/** {@link AggregatorOptions} merged over the defaults and checked. */
export interface ResolvedAggregatorOptions {
  readonly maxLogsPerGroup: number;
  readonly maxBytesPerGroup: number;
  readonly maxGroups: number;
  readonly intervalMs: number;
  readonly topic: string | undefined;
  readonly packId: boolean;
  readonly hostname: string;
  readonly startTime: number;
}

/** A `WALSHIP_INVALID_OPTIONS` error. @internal */
export function invalidOptions(message: string): WalshipError {
  return new WalshipError(ErrorCodes.INVALID_OPTIONS, message);
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** `v` if it is an integer >= `min`, `fallback` if undefined; else WALSHIP_INVALID_OPTIONS. @internal */
export function integerOption(name: string, v: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw invalidOptions(`Expected \`${name}\` to be an integer ${range}, got ${describe(v)}`);
  }
  return v;
}

/** Merges `options` over the defaults and checks every field. @internal */
export function resolveAggregatorOptions(options: AggregatorOptions): ResolvedAggregatorOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('Expected aggregator options to be an object');
  }
  const { topic, packId, hostname, startTime } = options;
  if (topic !== undefined && typeof topic !== 'string') {
    throw invalidOptions(`Expected \`topic\` to be a string, got ${describe(topic)}`);
  }
  if (packId !== undefined && typeof packId !== 'boolean') {
    throw invalidOptions(`Expected \`packId\` to be a boolean, got ${describe(packId)}`);
  }
  if (hostname !== undefined && typeof hostname !== 'string') {
    throw invalidOptions(`Expected \`hostname\` to be a string, got ${describe(hostname)}`);
  }
  if (startTime !== undefined && (typeof startTime !== 'number' || !Number.isFinite(startTime))) {
    throw invalidOptions(`Expected \`startTime\` to be a finite number (ms), got ${describe(startTime)}`);
  }
  return {
    maxLogsPerGroup: integerOption('maxLogsPerGroup', options.maxLogsPerGroup, DEFAULT_MAX_LOGS_PER_GROUP, 1),
    // A larger group would be refused by every flusher (the 3 MiB cap of validateLogGroup).
    maxBytesPerGroup: integerOption('maxBytesPerGroup', options.maxBytesPerGroup, DEFAULT_MAX_LOG_GROUP_BYTES, 1, DEFAULT_MAX_LOG_GROUP_BYTES),
    maxGroups: integerOption('maxGroups', options.maxGroups, DEFAULT_AGGREGATOR_MAX_GROUPS, 1),
    intervalMs: integerOption('intervalMs', options.intervalMs, 0, 0),
    topic,
    packId: packId ?? true,
    hostname: hostname ?? osHostname(),
    startTime: startTime ?? Date.now(),
  };
}

// ── __pack_id__ ───────────────────────────────────────────────────────────────────────────

/** The tag iLogtail puts on every group so that a receiver can order one source's groups. */
export const PACK_ID_TAG_KEY = '__pack_id__';
/** Hex digits of the largest sequence (2^53 − 1), used to reserve room for the tag. */
const MAX_SEQ_HEX_DIGITS = Number.MAX_SAFE_INTEGER.toString(16).length;

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const U64_MASK = (1n << 64n) - 1n;

/**
 * A pack-id prefix: the 64-bit FNV-1a hash of `parts` (UTF-8, NUL-separated) in uppercase
 * hex without padding, as iLogtail's `NewPackIDPrefix` prints it (`%X`).
 */
export function packIdPrefix(...parts: readonly (string | number)[]): string {
  let h = FNV64_OFFSET;
  for (const byte of Buffer.from(parts.join('\u0000'), 'utf8')) {
    h = ((h ^ BigInt(byte)) * FNV64_PRIME) & U64_MASK;
  }
  return h.toString(16).toUpperCase();
}

/**
 * One `__pack_id__` stream: a prefix and the sequence of the next group emitted (from 1).
 * The sequence advances only when a group is really handed over (the queue took it, or
 * `flush` returned it), so the numbers a receiver sees have no gaps and follow emission order.
 */
export class PackIdSequence {
  readonly prefix: string;
  /** The sequence the next emitted group gets. */
  next = 1;
  /** Estimated bytes the tag may take: `5 + |key| + |prefix-seq|` with the longest seq. */
  readonly reserveBytes: number;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.reserveBytes = FIELD_OVERHEAD_BYTES + PACK_ID_TAG_KEY.length + prefix.length + 1 + MAX_SEQ_HEX_DIGITS;
  }

  /** The tag for sequence `seq`: `<prefix>-<seq in uppercase hex>` (iLogtail's `%X-%X`). */
  tag(seq: number): LogTag {
    return { key: PACK_ID_TAG_KEY, value: `${this.prefix}-${seq.toString(16).toUpperCase()}` };
  }
}

// ── GroupBuffer ───────────────────────────────────────────────────────────────────────────

/** A group being filled: its logs, tags and estimated size (logs + fixed overhead). */
export interface PendingGroup {
  readonly logs: Log[];
  readonly tags: readonly LogTag[];
  bytes: number;
}

const EMPTY_TAGS: readonly LogTag[] = Object.freeze([]);

function stringFieldBytes(s: string | undefined): number {
  return s === undefined ? 0 : FIELD_OVERHEAD_BYTES + Buffer.byteLength(s, 'utf8');
}

/**
 * One stream's groups, oldest first; the last is the one being filled. Holds at most
 * `maxGroups`: opening one more first pushes the oldest through `queue.add`. Every method
 * either completes or throws having changed nothing. @internal
 */
export class GroupBuffer {
  readonly topic: string | undefined;
  readonly source: string | undefined;
  readonly pack: PackIdSequence | undefined;
  readonly #limits: ResolvedAggregatorOptions;
  readonly #groups: PendingGroup[] = [];
  /** Estimated bytes of topic, source and `__pack_id__`: the same for every group. */
  readonly #fixedBytes: number;
  #bytes = 0;

  constructor(
    limits: ResolvedAggregatorOptions,
    topic: string | undefined,
    source: string | undefined,
    pack: PackIdSequence | undefined,
  ) {
    this.#limits = limits;
    this.topic = topic;
    this.source = source;
    this.pack = pack;
    this.#fixedBytes = stringFieldBytes(topic) + stringFieldBytes(source) + (pack?.reserveBytes ?? 0);
  }

  /** Groups buffered, the partial current one included. */
  get groupCount(): number {
    return this.#groups.length;
  }

  /** Estimated bytes buffered (logs and group overhead). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The group being filled, if any. */
  get current(): PendingGroup | undefined {
    return this.#groups[this.#groups.length - 1];
  }

  /**
   * Whether a log of `logSize` estimated bytes needs a new group: there is none, or the
   * current one is at `maxLogsPerGroup`, or the log does not fit in its bytes. An empty group
   * takes any log, so a log larger than `maxBytesPerGroup` goes alone in its group.
   */
  needsNewGroup(logSize: number): boolean {
    const current = this.current;
    if (current === undefined) return true;
    if (current.logs.length === 0) return false;
    return current.logs.length >= this.#limits.maxLogsPerGroup || current.bytes + logSize > this.#limits.maxBytesPerGroup;
  }

  /**
   * Starts a new current group with `tags`. When `maxGroups` are buffered, the oldest is first
   * handed to `queue.add` (the quick flush); if that throws, nothing changed and the error
   * propagates (the caller must not add the log).
   */
  openGroup(queue: LogGroupQueue, tags: readonly LogTag[] = EMPTY_TAGS): void {
    if (this.#groups.length >= this.#limits.maxGroups) this.pushOldest(queue);
    const bytes = this.overheadOf(tags);
    this.#groups.push({ logs: [], tags, bytes });
    this.#bytes += bytes;
  }

  /** Estimated bytes of an empty group with `tags`: topic, source, tags and `__pack_id__`. */
  overheadOf(tags: readonly LogTag[]): number {
    let bytes = this.#fixedBytes;
    for (const tag of tags) {
      bytes += FIELD_OVERHEAD_BYTES + Buffer.byteLength(tag.key, 'utf8') + Buffer.byteLength(tag.value, 'utf8');
    }
    return bytes;
  }

  /** Appends a log to the current group (call `openGroup` first when `needsNewGroup`). */
  append(log: Log, logSize: number): void {
    const current = this.current!;
    current.logs.push(log);
    current.bytes += logSize;
    this.#bytes += logSize;
  }

  /**
   * Hands the oldest group to `queue.add`; on success it leaves the buffer and its pack id is
   * used up. On a throw nothing changed (the next attempt builds the same pack id).
   */
  pushOldest(queue: LogGroupQueue): void {
    const oldest = this.#groups[0];
    if (oldest === undefined) return;
    queue.add(this.#build(oldest));
    // Only now is the group handed over: advance the sequence, forget the group.
    this.#groups.shift();
    this.#bytes -= oldest.bytes;
    if (this.pack !== undefined) this.pack.next++;
  }

  /** Returns every non-empty buffered group, oldest first, with its pack id, and empties. */
  drain(out: LogGroup[] = []): LogGroup[] {
    for (const group of this.#groups) {
      if (group.logs.length === 0) continue;
      out.push(this.#build(group));
      if (this.pack !== undefined) this.pack.next++;
    }
    this.clear();
    return out;
  }

  /** Drops every buffered group. */
  clear(): void {
    this.#groups.length = 0;
    this.#bytes = 0;
  }

  /** The LogGroup for `group`, in the model's canonical shape, tagged with the next pack id. */
  #build(group: PendingGroup): LogGroup {
    const logTags = group.tags.slice();
    if (this.pack !== undefined) logTags.push(this.pack.tag(this.pack.next));
    const lg: { logs: Log[]; logTags: LogTag[]; topic?: string; source?: string } = { logs: group.logs, logTags };
    if (this.topic !== undefined) lg.topic = this.topic;
    if (this.source !== undefined) lg.source = this.source;
    return lg;
  }
}

// ── The aggregator ────────────────────────────────────────────────────────────────────────

/** Options of {@link DefaultAggregator}: those of every aggregator. */
export type DefaultAggregatorOptions = AggregatorOptions;

/** The error for a call before `init`. @internal */
export function notInitialised(name: string): WalshipError {
  return new WalshipError(ErrorCodes.NOT_OPEN, `${name}: add() was called before init()`);
}

/**
 * iLogtail's `aggregator_default`: one stream of LogGroups of at most `maxLogsPerGroup` logs
 * and `maxBytesPerGroup` estimated bytes, at most `maxGroups` of them buffered; the oldest
 * goes to the queue early when one more would start. The `source` given to `add` is ignored
 * (use the context aggregator to keep sources apart).
 *
 * **When the queue is full** `add` throws what `queue.add` threw (a `QueueFullError`) and
 * does not take the log: the group stays buffered, nothing is dropped. The caller keeps the
 * log and adds it again once the queue has room, or calls `flush()`, which returns every
 * buffered group, the one the queue refused included. This is iLogtail's contract (`Add`
 * returns the queue's error; the plugin runner retries the same log).
 */
export class DefaultAggregator implements Aggregator {
  readonly options: ResolvedAggregatorOptions;
  #queue: LogGroupQueue | undefined;
  #buffer: GroupBuffer | undefined;

  constructor(options: DefaultAggregatorOptions = {}) {
    this.options = resolveAggregatorOptions(options);
  }

  /** Returns `intervalMs` (0: the runner's global default). */
  async init(ctx: PipelineContext, queue: LogGroupQueue): Promise<number> {
    const { packId, hostname, startTime, topic } = this.options;
    const pack = packId ? new PackIdSequence(packIdPrefix(ctx.configName, hostname, startTime)) : undefined;
    this.#queue = queue;
    this.#buffer = new GroupBuffer(this.options, topic, undefined, pack);
    return this.options.intervalMs;
  }

  description(): string {
    return 'default aggregator: packs logs into LogGroups of at most maxLogsPerGroup logs and maxBytesPerGroup bytes';
  }

  /**
   * Adds `log` to the current group. Throws what `queue.add` throws when a quick flush was
   * needed and refused; the log was then not added (see the class doc).
   */
  add(log: Log, _source?: LogSource): void {
    const buffer = this.#buffer;
    if (buffer === undefined) throw notInitialised('aggregator_default');
    const logSize = estimateLogSize(log);
    if (buffer.needsNewGroup(logSize)) buffer.openGroup(this.#queue!);
    buffer.append(log, logSize);
  }

  /** Every buffered group, the partial current one included, oldest first; empties the buffer. */
  flush(): LogGroup[] {
    return this.#buffer?.drain() ?? [];
  }

  /** Drops every buffered group (their pack ids are not used up). */
  reset(): void {
    this.#buffer?.clear();
  }

  /** Groups buffered now, the partial current one included. */
  get bufferedGroups(): number {
    return this.#buffer?.groupCount ?? 0;
  }
}
