import type { LogGroup } from '../model/index.ts';
import type { PipelineContext } from './context.ts';

/**
 * iLogtail's `pipeline.Flusher`, as async TypeScript. The contract of the seed holds:
 * `isReady` is asked before data is handed over; after `setUrgent(true)` it should accept
 * what it can so that the pipeline stops gracefully; `stop` exports what is cached and
 * releases every resource.
 */
export interface Flusher {
  /** Acquires resources (opens the WAL, starts delivery). */
  init(ctx: PipelineContext): Promise<void>;
  /** One sentence about the flusher. */
  description(): string;
  /** Whether the flusher accepts more data for this project/logstore/key now. */
  isReady(project: string, logstore: string, logstoreKey: bigint): boolean;
  /**
   * The flusher will be stopped soon; `flag` says the process exits after that. There may be
   * more data to flush after this call: it arrives through `isReady`/`flush`.
   */
  setUrgent(flag: boolean): void;
  /** Exports what is cached and releases every resource. Idempotent. */
  stop(): Promise<void>;
}

/** iLogtail's `FlusherV1`. */
export interface FlusherV1 extends Flusher {
  /**
   * Hands LogGroups over. Expected to succeed since `isReady` was asked first; rejects only
   * when the data could not be accepted (for walship: could not be made durable).
   */
  flush(project: string, logstore: string, configName: string, logGroups: readonly LogGroup[]): Promise<void>;
}

/** One group of pipeline events (iLogtail's `models.PipelineGroupEvents`), walship-shaped. */
export interface PipelineGroupEvents {
  /** Group-level tags (become LogTags). */
  readonly group: { readonly tags?: Readonly<Record<string, string>>; readonly metadata?: Readonly<Record<string, string>> };
  readonly events: ReadonlyArray<{
    /** Event time, nanoseconds since the epoch. */
    readonly timestampNs: bigint;
    readonly contents: Readonly<Record<string, string>>;
  }>;
}

/** iLogtail's `FlusherV2`. */
export interface FlusherV2 extends Flusher {
  export(groups: readonly PipelineGroupEvents[], ctx: PipelineContext): Promise<void>;
}
