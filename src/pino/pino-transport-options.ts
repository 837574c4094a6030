/**
 * Options of the pino transport (`pino.transport({ target: 'walship/pino', options })`).
 * They cross into pino's worker thread by structured clone: plain data only, no functions
 * and no logger.
 */
import {
  DEFAULT_INPUT_MAX_LINE_BYTES,
  DEFAULT_MAX_LOG_GROUP_BYTES,
  DEFAULT_PINO_MAX_BATCH_LOGS,
  DEFAULT_PINO_STOP_TIMEOUT_MS,
  KiB,
} from '../config/defaults.ts';
import { ErrorCodes, WalshipError } from '../errors.ts';
import type { DurableFlusherOptions } from '../flusher/index.ts';
import type { SinkConfig } from '../sinks/registry.ts';

export interface PinoTransportOptions {
  /** The WAL directory (owned by this transport: one process, one transport per directory). */
  readonly dir: string;
  /** Where logs go: any walship sink config, e.g. `{ type: 'http', url, encoding: 'ndjson' }`. */
  readonly sink: SinkConfig;
  /** The project records carry (SLS: the project in the host name). @defaultValue `''` */
  readonly project?: string;
  /** The logstore records carry. @defaultValue `'pino'` */
  readonly logstore?: string;
  /** The config name records carry (and the `__pack_id__` prefix). @defaultValue `'pino'` */
  readonly configName?: string;
  /** Topic of every LogGroup. @defaultValue none */
  readonly topic?: string;
  /**
   * Logs per durable append at most; a batch is also cut whenever pino's writes pause, so a
   * quiet logger's lines are durable at once.
   * @defaultValue {@link DEFAULT_PINO_MAX_BATCH_LOGS} (1024)
   */
  readonly maxBatchLogs?: number;
  /**
   * A line whose fields take more bytes than this has its longest values cut until it fits
   * (counted in the stream's `linesCut`, logged at warn level): one huge log (a request body
   * logged whole) would otherwise be over the 3 MiB LogGroup cap and refused. At most
   * {@link MAX_PINO_LINE_BYTES}.
   * @defaultValue {@link DEFAULT_INPUT_MAX_LINE_BYTES} (512 KiB, as input_file's `MaxLineBytes`)
   */
  readonly maxLineBytes?: number;
  /**
   * How long closing the transport keeps delivering before it closes the WAL (ms). What is not
   * delivered by then stays in the WAL for the next start. Keep it well under 10 s: pino waits
   * at most 10 s for its worker at process exit.
   * @defaultValue {@link DEFAULT_PINO_STOP_TIMEOUT_MS} (2000)
   */
  readonly stopTimeoutMs?: number;
  /** The connection mode (`single`, `failover`, `loadbalance`). @defaultValue the sink's */
  readonly mode?: DurableFlusherOptions['mode'];
  readonly modeOptions?: DurableFlusherOptions['modeOptions'];
  /** WAL options (maxBytes, sync, ...). @defaultValue the WAL's (1 GiB, fsync always) */
  readonly wal?: DurableFlusherOptions['wal'];
  readonly delivery?: DurableFlusherOptions['delivery'];
  /** What appends do over the quota; 'block' pushes back on pino. @defaultValue 'block' */
  readonly whenFull?: DurableFlusherOptions['whenFull'];
}

export interface ResolvedPinoTransportOptions {
  readonly flusher: Omit<DurableFlusherOptions, 'logger'>;
  readonly project: string;
  readonly logstore: string;
  readonly configName: string;
  readonly topic: string | undefined;
  readonly maxBatchLogs: number;
  readonly maxLineBytes: number;
}

/** The largest `maxLineBytes`: one log of that size, alone in its group, stays under the 3 MiB cap. */
export const MAX_PINO_LINE_BYTES = DEFAULT_MAX_LOG_GROUP_BYTES - 64 * KiB;

function invalid(message: string): WalshipError {
  return new WalshipError(ErrorCodes.INVALID_OPTIONS, message);
}

function optionalString(name: string, v: unknown, fallback: string | undefined): string | undefined {
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw invalid(`Expected \`${name}\` to be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Merges over the defaults and checks. Unknown keys (pino adds its own) are ignored. */
export function resolvePinoTransportOptions(options: PinoTransportOptions): ResolvedPinoTransportOptions {
  if (options === null || typeof options !== 'object') {
    throw invalid(`Expected the walship/pino \`options\` to be an object with \`dir\` and \`sink\`, got ${JSON.stringify(options)}`);
  }
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw invalid(`Expected \`dir\` to be a non-empty string, got ${JSON.stringify(options.dir)}`);
  }
  if (options.sink === null || typeof options.sink !== 'object' || typeof options.sink.type !== 'string') {
    throw invalid(`Expected \`sink\` to be an object with a string \`type\`, got ${JSON.stringify(options.sink)}`);
  }
  const maxBatchLogs = options.maxBatchLogs ?? DEFAULT_PINO_MAX_BATCH_LOGS;
  if (!Number.isSafeInteger(maxBatchLogs) || maxBatchLogs < 1) {
    throw invalid(`Expected \`maxBatchLogs\` to be an integer >= 1, got ${JSON.stringify(maxBatchLogs)}`);
  }
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_INPUT_MAX_LINE_BYTES;
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1 || maxLineBytes > MAX_PINO_LINE_BYTES) {
    throw invalid(`Expected \`maxLineBytes\` to be an integer from 1 to ${MAX_PINO_LINE_BYTES}, got ${JSON.stringify(maxLineBytes)}`);
  }
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_PINO_STOP_TIMEOUT_MS;
  if (!Number.isSafeInteger(stopTimeoutMs) || stopTimeoutMs < 0) {
    throw invalid(`Expected \`stopTimeoutMs\` to be an integer >= 0, got ${JSON.stringify(stopTimeoutMs)}`);
  }
  return {
    flusher: {
      dir: options.dir,
      sink: options.sink,
      stopTimeoutMs,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      ...(options.modeOptions === undefined ? {} : { modeOptions: options.modeOptions }),
      ...(options.wal === undefined ? {} : { wal: options.wal }),
      ...(options.delivery === undefined ? {} : { delivery: options.delivery }),
      ...(options.whenFull === undefined ? {} : { whenFull: options.whenFull }),
    },
    project: optionalString('project', options.project, '') as string,
    logstore: optionalString('logstore', options.logstore, 'pino') as string,
    configName: optionalString('configName', options.configName, 'pino') as string,
    topic: optionalString('topic', options.topic, undefined),
    maxBatchLogs,
    maxLineBytes,
  };
}
