import type { Log, LogGroup } from '../model/index.ts';
import type { PipelineContext } from './context.ts';
import type { LogGroupQueue } from './log-group-queue.ts';

/**
 * iLogtail's `pipeline.Aggregator`: packs Logs into LogGroups. The runner guarantees that
 * `add`, `flush` and `reset` are never called concurrently.
 */
export interface Aggregator {
  /**
   * Acquires resources. Returns the flush interval in ms; 0 means the global default
   * (3000 ms). `queue` takes groups that are ready before the next `flush` (a quick flush).
   */
  init(ctx: PipelineContext, queue: LogGroupQueue): Promise<number>;
  description(): string;
  /** Adds one log (with the source's tags, for context-aware aggregators). */
  add(log: Log, source?: LogSource): void;
  /** Returns the groups aggregated since the last flush. */
  flush(): LogGroup[];
  /** Drops what is aggregated. */
  reset(): void;
}

/** Where a log came from (a file path, a stream name) and the tags that go with it. */
export interface LogSource {
  readonly source?: string;
  readonly topic?: string;
  readonly tags?: Readonly<Record<string, string>>;
}
