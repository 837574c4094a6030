/**
 * The inputs' config (what `walship run` and the library pass to `createInput`), their
 * context, and the one resolver that merges every option over the defaults and checks it.
 */
import {
  DEFAULT_INPUT_CONTENT_KEY,
  DEFAULT_INPUT_FILE_FINGERPRINT_BYTES,
  DEFAULT_INPUT_FILE_POLL_MS,
  DEFAULT_INPUT_FILE_READ_CHUNK_BYTES,
  DEFAULT_INPUT_FILE_READ_FROM_HEAD,
  DEFAULT_INPUT_FILE_ROTATED_CLOSE_MS,
  DEFAULT_INPUT_MAX_LINE_BYTES,
  DEFAULT_INPUT_MULTILINE_FLUSH_MS,
  DEFAULT_MAX_LOG_GROUP_BYTES,
  KiB,
} from '../config/defaults.ts';
import { integerOption, invalidOptions, resolveAggregatorOptions, type ResolvedAggregatorOptions } from '../aggregators/default-aggregator.ts';
import type { DurableGroup } from '../flusher/durable-flusher.ts';
import type { Logger } from '../logging/logger.ts';
import type { Checkpoint } from '../wal/index.ts';

/** The largest `maxLineBytes`: a log must fit in one LogGroup (3 MiB) with room for its tags. */
export const MAX_LINE_BYTES_LIMIT = DEFAULT_MAX_LOG_GROUP_BYTES - 64 * KiB;

/** Multiline records: iLogtail's `Multiline.StartPattern`. */
export interface MultilineOptions {
  /**
   * A RegExp source; a line matching it (at its start) begins a record, the lines after it
   * that do not match continue it.
   */
  readonly startPattern: string;
  /**
   * A record still being assembled is shipped once no line came for this long (ms).
   * @defaultValue {@link DEFAULT_INPUT_MULTILINE_FLUSH_MS} (3000)
   */
  readonly flushTimeoutMs?: number;
}

/** How the input packs logs into LogGroups (the fields of `aggregator_default` that apply). */
export interface InputGroupOptions {
  /** @defaultValue 1024 */
  readonly maxLogsPerGroup?: number;
  /** Estimated bytes of one LogGroup at most, up to 3 MiB. @defaultValue 3 MiB */
  readonly maxBytesPerGroup?: number;
  /** Topic of every group. @defaultValue none */
  readonly topic?: string;
  /** Tag every group with iLogtail's `__pack_id__`. @defaultValue true */
  readonly packId?: boolean;
}

interface CommonInputConfig {
  /** Join lines into records by a first-line pattern. @defaultValue none (one log per line) */
  readonly multiline?: MultilineOptions;
  /**
   * A line (or a joined record) longer than this many bytes is cut to it; the cut is counted
   * (`stats().linesCut`). At most 3 MiB − 64 KiB.
   * @defaultValue {@link DEFAULT_INPUT_MAX_LINE_BYTES} (512 KiB)
   */
  readonly maxLineBytes?: number;
  /** The content key each record is shipped under. @defaultValue `'content'` */
  readonly contentKey?: string;
  /** LogGroup packing. */
  readonly groups?: InputGroupOptions;
}

/** `input_stdin`: one log per line of the process's standard input. */
export interface StdinInputConfig extends CommonInputConfig {
  readonly type: 'input_stdin';
}

/** `input_file`: tails the files matching `path`. */
export interface FileInputConfig extends CommonInputConfig {
  readonly type: 'input_file';
  /** A file path or a glob (tinyglobby syntax: `*`, `**`, `{a,b}`), absolute or relative to the cwd. */
  readonly path: string;
  /**
   * Whether files found at the input's very first start (no checkpoint yet) are read from
   * their head; otherwise from their end, like `tail -f`. Files that appear later, and every
   * file once a checkpoint exists, are read from the head (or from their checkpoint).
   * @defaultValue {@link DEFAULT_INPUT_FILE_READ_FROM_HEAD} (false)
   */
  readonly readFromHead?: boolean;
  /**
   * How often the glob is re-run and open files are checked (ms); `fs.watch` events on the
   * pattern's base directory wake the input earlier.
   * @defaultValue {@link DEFAULT_INPUT_FILE_POLL_MS} (1000)
   */
  readonly pollMs?: number;
  /**
   * Bytes read from one file per round. A WAL append carries one round, or two when the next
   * was read while the last append was in flight. @defaultValue 1 MiB
   */
  readonly readChunkBytes?: number;
  /**
   * A file renamed away (or deleted) is closed once it has been at its end this long (ms):
   * a writer may still append to it shortly after the rotation.
   * @defaultValue {@link DEFAULT_INPUT_FILE_ROTATED_CLOSE_MS} (5000)
   */
  readonly rotatedCloseMs?: number;
  /** Bytes at a file's head that identify it beside dev+ino. @defaultValue 1024 */
  readonly fingerprintBytes?: number;
}

export type InputConfig = StdinInputConfig | FileInputConfig;

/** What an input needs from the flusher: DurableFlusher has all of it. */
export interface InputFlusher {
  /** False while the WAL is over its quota: the input pauses reading (backpressure). */
  isReady(): boolean;
  /** Appends the groups and checkpoints in one atomic batch; resolves once durable. */
  appendDurable(groups: readonly DurableGroup[], checkpoints?: readonly Checkpoint[]): Promise<void>;
  getCheckpoint(key: string): Promise<Buffer | undefined>;
}

/** What `createInput` is given beside the config. */
export interface InputContext {
  readonly flusher: InputFlusher;
  readonly project: string;
  readonly logstore: string;
  readonly configName: string;
  readonly logger: Logger;
  /** input_stdin reads this. @defaultValue `process.stdin` */
  readonly stdin?: NodeJS.ReadableStream;
}

/** Counters of an input (`stats()`). */
export interface InputStats {
  readonly type: InputConfig['type'];
  /** Logs made durable in the WAL. */
  readonly logs: number;
  /** Bytes read from the source. */
  readonly bytesRead: number;
  /** Lines or records cut at `maxLineBytes`. */
  readonly linesCut: number;
  /** WAL appends that carried logs or a checkpoint. */
  readonly appends: number;
  /** Times reading paused because the WAL was over its quota. */
  readonly pauses: number;
  /** True while paused for the quota. */
  readonly paused: boolean;
  /**
   * input_stdin: logs read but never made durable (the WAL refused them for good, or was still
   * failing when `stop` gave up on them after {@link STDIN_STOP_APPEND_DEADLINE_MS}); each
   * loss is logged at error level. Standard input cannot be read again.
   */
  readonly logsLost?: number;
  /** input_file: files open now. */
  readonly files?: number;
  /** input_file: files found renamed away or deleted. */
  readonly rotations?: number;
  /** input_file: truncations detected (size below the offset, or a changed fingerprint). */
  readonly truncations?: number;
}

/** An input, as `createInput` returns it. */
export interface Input {
  readonly type: InputConfig['type'];
  /** Starts reading; resolves once started (input_file: checkpoints restored, files opened). */
  start(): Promise<void>;
  /**
   * Stops reading and waits for the last append. What was read and not appended is not lost:
   * input_file re-reads it after a restart (from its checkpoint); input_stdin appends it first.
   * Idempotent.
   */
  stop(): Promise<void>;
  stats(): InputStats;
  /** Resolves when the input has ended: input_stdin at end of input (all of it durable), or after `stop`. */
  readonly done: Promise<void>;
}

export interface ResolvedCommonOptions {
  readonly maxLineBytes: number;
  readonly startPattern: string | undefined;
  readonly multilineFlushMs: number;
  readonly contentKey: string;
  readonly groups: ResolvedAggregatorOptions;
}

export interface ResolvedFileInputOptions extends ResolvedCommonOptions {
  readonly path: string;
  readonly readFromHead: boolean;
  readonly pollMs: number;
  readonly readChunkBytes: number;
  readonly rotatedCloseMs: number;
  readonly fingerprintBytes: number;
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

function resolveCommon(config: CommonInputConfig): ResolvedCommonOptions {
  const maxLineBytes = integerOption('maxLineBytes', config.maxLineBytes, DEFAULT_INPUT_MAX_LINE_BYTES, 1);
  if (maxLineBytes > MAX_LINE_BYTES_LIMIT) {
    throw invalidOptions(`Expected \`maxLineBytes\` to be an integer between 1 and ${MAX_LINE_BYTES_LIMIT}, got ${maxLineBytes}`);
  }
  let startPattern: string | undefined;
  let multilineFlushMs = DEFAULT_INPUT_MULTILINE_FLUSH_MS;
  const ml = config.multiline;
  if (ml !== undefined) {
    if (ml === null || typeof ml !== 'object' || typeof ml.startPattern !== 'string' || ml.startPattern === '') {
      throw invalidOptions(`Expected \`multiline\` to be an object with a non-empty string \`startPattern\`, got ${describe(ml)}`);
    }
    try {
      new RegExp(ml.startPattern);
    } catch (err) {
      throw invalidOptions(`Expected \`multiline.startPattern\` to be a valid regular expression, got ${describe(ml.startPattern)}: ${(err as Error).message}`);
    }
    startPattern = ml.startPattern;
    multilineFlushMs = integerOption('multiline.flushTimeoutMs', ml.flushTimeoutMs, DEFAULT_INPUT_MULTILINE_FLUSH_MS, 1);
  }
  const contentKey = config.contentKey ?? DEFAULT_INPUT_CONTENT_KEY;
  if (typeof contentKey !== 'string' || contentKey === '') {
    throw invalidOptions(`Expected \`contentKey\` to be a non-empty string, got ${describe(contentKey)}`);
  }
  const g = config.groups ?? {};
  if (g === null || typeof g !== 'object') throw invalidOptions(`Expected \`groups\` to be an object, got ${describe(g)}`);
  const groups = resolveAggregatorOptions({
    ...(g.maxLogsPerGroup === undefined ? {} : { maxLogsPerGroup: g.maxLogsPerGroup }),
    ...(g.maxBytesPerGroup === undefined ? {} : { maxBytesPerGroup: g.maxBytesPerGroup }),
    ...(g.topic === undefined ? {} : { topic: g.topic }),
    ...(g.packId === undefined ? {} : { packId: g.packId }),
  });
  if (groups.maxBytesPerGroup > DEFAULT_MAX_LOG_GROUP_BYTES) {
    throw invalidOptions(`Expected \`groups.maxBytesPerGroup\` to be at most ${DEFAULT_MAX_LOG_GROUP_BYTES}, got ${groups.maxBytesPerGroup}`);
  }
  return { maxLineBytes, startPattern, multilineFlushMs, contentKey, groups };
}

/** Options of input_stdin over the defaults, checked. */
export function resolveStdinInputOptions(config: StdinInputConfig): ResolvedCommonOptions {
  return resolveCommon(config);
}

/** Options of input_file over the defaults, checked. */
export function resolveFileInputOptions(config: FileInputConfig): ResolvedFileInputOptions {
  if (typeof config.path !== 'string' || config.path === '') {
    throw invalidOptions(`Expected \`path\` to be a non-empty string (a file or a glob), got ${describe(config.path)}`);
  }
  const readFromHead = config.readFromHead ?? DEFAULT_INPUT_FILE_READ_FROM_HEAD;
  if (typeof readFromHead !== 'boolean') {
    throw invalidOptions(`Expected \`readFromHead\` to be a boolean, got ${describe(readFromHead)}`);
  }
  return {
    ...resolveCommon(config),
    path: config.path,
    readFromHead,
    pollMs: integerOption('pollMs', config.pollMs, DEFAULT_INPUT_FILE_POLL_MS, 1),
    readChunkBytes: integerOption('readChunkBytes', config.readChunkBytes, DEFAULT_INPUT_FILE_READ_CHUNK_BYTES, 1),
    rotatedCloseMs: integerOption('rotatedCloseMs', config.rotatedCloseMs, DEFAULT_INPUT_FILE_ROTATED_CLOSE_MS, 0),
    fingerprintBytes: integerOption('fingerprintBytes', config.fingerprintBytes, DEFAULT_INPUT_FILE_FINGERPRINT_BYTES, 1),
  };
}

/** How long input_stdin's `stop` keeps retrying an append the WAL refuses (disk full, I/O, quota). */
export const STDIN_STOP_APPEND_DEADLINE_MS = 5000;
