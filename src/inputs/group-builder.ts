/**
 * Packs one round of an input's logs into LogGroups, synchronously, the way
 * `aggregator_default` does (it reuses the aggregators' GroupBuffer): one stream per source
 * (a file's path), at most `maxLogsPerGroup` logs and `maxBytesPerGroup` estimated bytes per
 * group, each group tagged with its source's tags and a `__pack_id__` whose sequence runs on
 * across rounds. An input needs the groups of a round at once, because they go into the same
 * WAL append as the checkpoint that covers their lines (I1 in ./index.ts).
 */
import { hostname } from 'node:os';
import { GroupBuffer, PackIdSequence, packIdPrefix, type ResolvedAggregatorOptions } from '../aggregators/default-aggregator.ts';
import { estimateLogSize, type Log, type LogGroup, type LogTag } from '../model/index.ts';
import type { LogGroupQueue } from '../pipeline/log-group-queue.ts';

export class GroupBuilder {
  readonly #limits: ResolvedAggregatorOptions;
  readonly #configName: string;
  readonly #startTime = Date.now();
  readonly #streams = new Map<string, { buffer: GroupBuffer; tags: readonly LogTag[] }>();
  /** Groups pushed out early by a stream (more than maxGroups in one round), in order. */
  #out: LogGroup[] = [];
  readonly #queue: LogGroupQueue = {
    add: (lg) => {
      this.#out.push(lg);
    },
    addWithWait: async (lg) => {
      this.#out.push(lg);
    },
  };

  constructor(limits: ResolvedAggregatorOptions, configName: string) {
    this.#limits = limits;
    this.#configName = configName;
  }

  /** Adds a log to the stream `source` (created with `tags` on first use). */
  add(log: Log, source = '', tags: readonly LogTag[] = []): void {
    let stream = this.#streams.get(source);
    if (stream === undefined) {
      const pack = this.#limits.packId
        ? new PackIdSequence(packIdPrefix(this.#configName, this.#limits.hostname ?? hostname(), this.#startTime, source))
        : undefined;
      stream = { buffer: new GroupBuffer(this.#limits, this.#limits.topic, undefined, pack), tags };
      this.#streams.set(source, stream);
    }
    const size = estimateLogSize(log);
    if (stream.buffer.needsNewGroup(size)) stream.buffer.openGroup(this.#queue, stream.tags);
    stream.buffer.append(log, size);
  }

  /** Every group of the round, oldest first per stream; empties the builder. */
  build(): LogGroup[] {
    const out = this.#out;
    this.#out = [];
    for (const { buffer } of this.#streams.values()) buffer.drain(out);
    return out;
  }

  /** Forgets a stream (a file that was closed); its pack-id sequence ends. */
  forget(source: string): void {
    this.#streams.delete(source);
  }
}

/** A Log of one line: `time` now, the text under `key`. */
export function lineLog(key: string, text: string, nowMs: number): Log {
  const seconds = Math.floor(nowMs / 1000);
  const ns = (nowMs % 1000) * 1_000_000;
  return ns === 0 ? { time: seconds, contents: [{ key, value: text }] } : { time: seconds, contents: [{ key, value: text }], timeNs: ns };
}
