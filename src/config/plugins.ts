/**
 * The plugin tables of the JSON config: every section and plugin type with its fields. To
 * support a new field or type, add a row here (and, for a sink, a `check` in ./validate.ts if
 * its own resolver should run at validation time). The README's configuration reference is
 * written from these tables.
 */
import {
  DEFAULT_BATCH_MAX_BYTES,
  DEFAULT_BATCH_MAX_RECORDS,
  DEFAULT_COMPACT_AFTER_BYTES,
  DEFAULT_COMPACT_ON_CLOSE_BUDGET_MS,
  DEFAULT_CONFIG_RETRY_MAX_DELAY_MS,
  DEFAULT_HTTP_CONCURRENCY,
  DEFAULT_HTTP_TIMEOUT_MS,
  DEFAULT_IN_FLIGHT_BATCHES,
  DEFAULT_INPUT_CONTENT_KEY,
  DEFAULT_INPUT_FILE_FINGERPRINT_BYTES,
  DEFAULT_INPUT_FILE_POLL_MS,
  DEFAULT_INPUT_FILE_READ_CHUNK_BYTES,
  DEFAULT_INPUT_FILE_READ_FROM_HEAD,
  DEFAULT_INPUT_FILE_ROTATED_CLOSE_MS,
  DEFAULT_INPUT_MAX_LINE_BYTES,
  DEFAULT_INPUT_MULTILINE_FLUSH_MS,
  DEFAULT_IN_FLIGHT_BYTES,
  DEFAULT_MAX_LOG_GROUP_BYTES,
  DEFAULT_MAX_LOGS_PER_GROUP,
  DEFAULT_MODE_MAX_ATTEMPTS,
  DEFAULT_MODE_MAX_WAIT_RETRY_MS,
  DEFAULT_MODE_TIMEOUT_MS,
  DEFAULT_MODE_WAIT_RETRY_MS,
  DEFAULT_READ_AHEAD_BYTES,
  DEFAULT_READ_AHEAD_RECORDS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  DEFAULT_RETRY_MIN_DELAY_MS,
  DEFAULT_STOP_TIMEOUT_MS,
  DEFAULT_WAL_FREE_SPACE_FLOOR,
  DEFAULT_WAL_LOW_WATERMARK,
  DEFAULT_WAL_MAX_BYTES,
  DEFAULT_WAL_SYNC_INTERVAL_MS,
  DEFAULT_WAL_URGENT_RESERVE,
} from './defaults.ts';
import { MAX_LINE_BYTES_LIMIT } from '../inputs/options.ts';
import type { FieldKind, FieldSpec, FieldTable } from './schema.ts';
import { formatBytes, formatDuration } from './units.ts';

const str: FieldKind = { kind: 'string', nonEmpty: true };
const bool: FieldKind = { kind: 'bool' };
const size = (min = 0, max?: number): FieldKind => (max === undefined ? { kind: 'size', min } : { kind: 'size', min, max });
const duration = (min = 0): FieldKind => ({ kind: 'duration', min });
const int = (min: number, max?: number): FieldKind => (max === undefined ? { kind: 'int', min } : { kind: 'int', min, max });
const oneOf = (...values: string[]): FieldKind => ({ kind: 'enum', values });
const httpUrl: FieldKind = { kind: 'url', schemes: ['http', 'https'] };
const b = (n: number): string => formatBytes(n);
const ms = (n: number): string => formatDuration(n);

/** Log levels (pino's). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** What `run` logs at when neither `log_level` nor `--log-level` says. */
export const DEFAULT_CLI_LOG_LEVEL: LogLevel = 'info';

// ── wal ───────────────────────────────────────────────────────────────────────────────

/** WAL fields a flusher may override in its own `Wal` object (everything but `Dir`). */
export const WAL_TUNING_FIELDS: FieldTable = {
  MaxBytes: { kind: size(1), default: b(DEFAULT_WAL_MAX_BYTES), doc: 'Quota of each flusher\'s WAL: logical bytes held (pending + dead letters + quarantine).' },
  LowWatermark: { kind: { kind: 'number', min: 0, max: 1 }, default: String(DEFAULT_WAL_LOW_WATERMARK), doc: 'After hitting the quota, accept again below this fraction of MaxBytes.' },
  UrgentReserve: { kind: { kind: 'number', min: 0, max: 1 }, default: String(DEFAULT_WAL_URGENT_RESERVE), doc: 'Fraction above MaxBytes usable during a graceful stop.' },
  FreeSpaceFloor: { kind: size(0), default: b(DEFAULT_WAL_FREE_SPACE_FLOOR), doc: 'Below this many free bytes on the filesystem the WAL counts as full.' },
  Sync: { kind: oneOf('always', 'interval', 'never'), default: '"always"', doc: '`always`: fsync before an append resolves; `interval`: fsync every SyncIntervalMs; `never`: left to the OS.' },
  SyncIntervalMs: { kind: duration(1), default: ms(DEFAULT_WAL_SYNC_INTERVAL_MS), doc: 'With Sync `interval`, how often to fsync.' },
  ReadAheadRecords: { kind: int(1), default: String(DEFAULT_READ_AHEAD_RECORDS), doc: 'Read-ahead window in records.' },
  ReadAheadBytes: { kind: size(1), default: b(DEFAULT_READ_AHEAD_BYTES), doc: 'Read-ahead window in bytes.' },
  CompactAfterBytes: { kind: size(1), default: b(DEFAULT_COMPACT_AFTER_BYTES), doc: 'Compact the acknowledged range after this many bytes were acknowledged.' },
  CompactOnCloseBudgetMs: { kind: duration(0), default: ms(DEFAULT_COMPACT_ON_CLOSE_BUDGET_MS), doc: 'Time the compaction on close may take before a warning.' },
};

export const WAL_FIELDS: FieldTable = {
  Dir: { kind: str, default: '"./data/wal"', doc: 'WAL root directory (relative to the working directory); each flusher has its own sub-directory `<Dir>/<flusher Name>`.' },
  ...WAL_TUNING_FIELDS,
};

export const METRICS_FIELDS: FieldTable = {
  Port: { kind: int(0, 65535), default: '0 (a free port, written to the admin file)', doc: 'Port of the admin server (`/metrics`, `/healthz`, `/status`). `--metrics-port` overrides it.' },
  Host: { kind: str, default: '"127.0.0.1"', doc: 'Address the admin server listens on.' },
};

export const GLOBAL_FIELDS: FieldTable = {
  ConfigName: { kind: str, default: 'the config file name without extension', doc: 'The pipeline\'s name (logs, `configName` of every record).' },
  Project: { kind: { kind: 'string' }, default: '""', doc: 'SLS project of every record.' },
  Logstore: { kind: str, default: 'ConfigName', doc: 'SLS logstore of every record.' },
  StopTimeoutMs: { kind: duration(0), default: ms(DEFAULT_STOP_TIMEOUT_MS), doc: 'How long a graceful stop keeps handing over and delivering before it closes (per flusher unless it sets its own).' },
};

// ── inputs ────────────────────────────────────────────────────────────────────────────

const MULTILINE: FieldKind = {
  kind: 'object',
  fields: {
    StartPattern: { kind: { kind: 'regex' }, required: true, doc: 'A line matching this regular expression (at its start) begins a new log; the lines after it that do not match join it.' },
    FlushTimeoutMs: { kind: duration(1), default: ms(DEFAULT_INPUT_MULTILINE_FLUSH_MS), doc: 'A log still being joined is shipped once no line came for this long.' },
  },
};

export interface PluginType {
  readonly doc: string;
  readonly fields: FieldTable;
}

const COMMON_INPUT_FIELDS: FieldTable = {
  Multiline: { kind: MULTILINE, default: 'none (one line, one log)', doc: 'Joins continuation lines (stack traces) into one log.' },
  MaxLineBytes: { kind: size(1, MAX_LINE_BYTES_LIMIT), default: b(DEFAULT_INPUT_MAX_LINE_BYTES), doc: `A longer line (or joined log) is cut to this (at most ${b(MAX_LINE_BYTES_LIMIT)}).` },
  ContentKey: { kind: str, default: `"${DEFAULT_INPUT_CONTENT_KEY}"`, doc: 'The key each line is shipped under.' },
};

export const INPUT_TYPES: Readonly<Record<string, PluginType>> = {
  input_stdin: {
    doc: 'Reads lines from standard input; at its end everything read is made durable.',
    fields: COMMON_INPUT_FIELDS,
  },
  input_file: {
    doc: 'Tails files (a path or a glob), with its read offsets checkpointed in the WAL together with the lines they cover.',
    fields: {
      Path: { kind: str, required: true, doc: 'A file path or a glob (`/var/log/app/*.log`), relative to the working directory.' },
      ...COMMON_INPUT_FIELDS,
      ReadFromHead: { kind: bool, default: String(DEFAULT_INPUT_FILE_READ_FROM_HEAD), doc: 'At the very first start, read existing files from their head instead of their end.' },
      PollMs: { kind: duration(1), default: ms(DEFAULT_INPUT_FILE_POLL_MS), doc: 'How often the glob is re-run and open files are checked.' },
      ReadChunkBytes: { kind: size(1), default: b(DEFAULT_INPUT_FILE_READ_CHUNK_BYTES), doc: 'Bytes read from one file per round; a WAL append carries one round, or two when the next was read while the last append was in flight.' },
      RotatedCloseMs: { kind: duration(0), default: ms(DEFAULT_INPUT_FILE_ROTATED_CLOSE_MS), doc: 'A rotated-away file is closed after being at its end this long.' },
      FingerprintBytes: { kind: int(1), default: String(DEFAULT_INPUT_FILE_FINGERPRINT_BYTES), doc: 'Bytes at a file\'s head that identify it beside dev+ino.' },
    },
  },
};

// ── aggregators ───────────────────────────────────────────────────────────────────────

/**
 * `walship run`'s inputs pack their own LogGroups (one stream per source, as
 * aggregator_context does; ./../inputs/group-builder.ts), so that a group and the checkpoint
 * covering its lines go into one WAL append. The aggregator section sets how they pack.
 */
const AGGREGATOR_FIELDS: FieldTable = {
  MaxLogsPerGroup: { kind: int(1), default: String(DEFAULT_MAX_LOGS_PER_GROUP), doc: 'Logs in one LogGroup at most.' },
  MaxBytesPerGroup: { kind: size(1, DEFAULT_MAX_LOG_GROUP_BYTES), default: b(DEFAULT_MAX_LOG_GROUP_BYTES), doc: 'Estimated bytes of one LogGroup at most.' },
  Topic: { kind: { kind: 'string' }, default: 'none', doc: 'Topic of every group.' },
  PackId: { kind: bool, default: 'true', doc: 'Tag each group with `__pack_id__` (`<prefix>-<seq>` per source).' },
};

export const AGGREGATOR_TYPES: Readonly<Record<string, PluginType>> = {
  aggregator_default: { doc: 'Packs each source\'s logs in arrival order.', fields: AGGREGATOR_FIELDS },
  aggregator_context: { doc: 'The same for `walship run`: inputs already keep one stream (and `__pack_id__` sequence) per source.', fields: AGGREGATOR_FIELDS },
};

// ── flushers ──────────────────────────────────────────────────────────────────────────

/** Where a flusher-level field goes in DurableFlusherOptions. */
export type FlusherFieldTarget = 'flusher' | 'mode' | 'modeOptions' | 'delivery' | 'wal';

export interface FlusherFieldSpec extends FieldSpec {
  readonly target: FlusherFieldTarget;
}

/** Fields every flusher type has: they configure the WAL, delivery and the connection mode. */
export const FLUSHER_COMMON_FIELDS: Readonly<Record<string, FlusherFieldSpec>> = {
  Name: { target: 'flusher', kind: { kind: 'string', nonEmpty: true }, default: '`<type>-<index>` (`http-0`)', doc: 'Names the flusher in logs, metrics and its WAL sub-directory. Keep it stable: a new name is a new (empty) WAL.' },
  Mode: { target: 'mode', option: 'mode', kind: oneOf('single', 'failover', 'loadbalance'), default: '`single` for one host, `loadbalance` for several', doc: 'Connection mode over the hosts.' },
  MaxAttempts: { target: 'modeOptions', kind: int(0), default: String(DEFAULT_MODE_MAX_ATTEMPTS), doc: 'Connects (single, failover) or hosts (loadbalance) tried per publish before the batch goes back to the retry loop; 0 = keep trying.' },
  WaitRetryMs: { target: 'modeOptions', kind: duration(1), default: ms(DEFAULT_MODE_WAIT_RETRY_MS), doc: 'First reconnect delay, doubling up to MaxWaitRetryMs.' },
  MaxWaitRetryMs: { target: 'modeOptions', kind: duration(1), default: ms(DEFAULT_MODE_MAX_WAIT_RETRY_MS), doc: 'Largest reconnect delay.' },
  ConnectTimeoutMs: { target: 'modeOptions', option: 'timeoutMs', kind: duration(1), default: ms(DEFAULT_MODE_TIMEOUT_MS), doc: 'Connect timeout.' },
  BatchMaxRecords: { target: 'delivery', kind: int(1), default: `${DEFAULT_BATCH_MAX_RECORDS} (1 for SLS encoding)`, doc: 'Records (LogGroups) per delivery batch.' },
  BatchMaxBytes: { target: 'delivery', kind: size(1), default: b(DEFAULT_BATCH_MAX_BYTES), doc: 'Bytes per delivery batch.' },
  InFlightBatches: { target: 'delivery', kind: int(1), default: String(DEFAULT_IN_FLIGHT_BATCHES), doc: 'Batches sent and not yet settled.' },
  InFlightBytes: { target: 'delivery', kind: size(1), default: b(DEFAULT_IN_FLIGHT_BYTES), doc: 'Bytes of those batches.' },
  RetryMinDelayMs: { target: 'delivery', kind: duration(0), default: ms(DEFAULT_RETRY_MIN_DELAY_MS), doc: 'First retry delay of a failed batch (full jitter), doubling.' },
  RetryMaxDelayMs: { target: 'delivery', kind: duration(0), default: ms(DEFAULT_RETRY_MAX_DELAY_MS), doc: 'Largest retry delay.' },
  ConfigRetryMaxDelayMs: { target: 'delivery', kind: duration(0), default: ms(DEFAULT_CONFIG_RETRY_MAX_DELAY_MS), doc: 'Largest retry delay while the destination is missing.' },
  Ordered: { target: 'delivery', kind: bool, default: 'false', doc: 'Deliver each logstoreKey\'s records in WAL order.' },
  WhenFull: { target: 'flusher', kind: oneOf('block', 'reject'), default: '"block"', doc: 'At the WAL quota: wait for room (inputs pause) or refuse.' },
  StopTimeoutMs: { target: 'flusher', kind: duration(0), default: 'global.StopTimeoutMs', doc: 'How long stop keeps delivering before it closes the WAL.' },
  Wal: { target: 'wal', kind: { kind: 'object', fields: WAL_TUNING_FIELDS }, default: 'the `wal` section', doc: 'Overrides of the `wal` section for this flusher\'s WAL.' },
};

const TLS: FieldKind = {
  kind: 'object',
  fields: {
    CA: { kind: { kind: 'strings' }, option: 'ca', doc: 'Trusted CA certificates (PEM).' },
    Cert: { kind: str, doc: 'Client certificate (PEM).' },
    Key: { kind: str, secret: true, doc: 'Client private key (PEM).' },
    RejectUnauthorized: { kind: bool, default: 'true', doc: 'Verify the server certificate.' },
    ServerName: { kind: str, option: 'servername', doc: 'Name checked against the certificate.' },
  },
};

/**
 * Sink fields per flusher type (the part after `flusher_` is the sink's registry name). The
 * JSON name maps to the sink option by lowering its first letter unless `option` says.
 */
export const FLUSHER_TYPES: Readonly<Record<string, PluginType>> = {
  flusher_http: {
    doc: 'HTTP POST: SLS protobuf (`sls`), a JSON array (`json`) or NDJSON (`ndjson`) per batch.',
    fields: {
      RemoteURL: { kind: httpUrl, option: 'url', doc: 'The URL posted to (for `sls`, the base URL). Either RemoteURL or Hosts.' },
      Hosts: { kind: { kind: 'array', of: httpUrl, minItems: 1 }, doc: 'Several URLs, for `failover` or `loadbalance`.' },
      Encoding: { kind: oneOf('sls', 'json', 'ndjson'), default: '"json"', doc: 'Wire encoding.' },
      Compression: { kind: oneOf('lz4', 'deflate', 'none'), default: '"lz4" (sls only)', doc: '`x-log-compresstype` of SLS requests.' },
      Gzip: { kind: bool, default: 'false', doc: 'Gzip json/ndjson bodies.' },
      Concurrency: { kind: int(1), default: String(DEFAULT_HTTP_CONCURRENCY), doc: 'Keep-alive connections per host.' },
      TimeoutMs: { kind: duration(1), default: ms(DEFAULT_HTTP_TIMEOUT_MS), doc: 'One request, connect to last byte.' },
      Headers: { kind: { kind: 'map', of: { kind: 'string' } }, secret: true, default: 'none', doc: 'Extra request headers (values never logged; use `${ENV}` for tokens).' },
      Tls: { kind: TLS, default: 'Node\'s defaults', doc: 'TLS for https URLs.' },
      Probe: { kind: bool, default: 'true', doc: 'Connect sends a HEAD to the URL.' },
    },
  },
  flusher_nats: {
    doc: 'NATS JetStream: one message per record with `Nats-Msg-Id` = its idempotency key, acked by the PubAck.',
    fields: {
      Hosts: { kind: { kind: 'array', of: str, minItems: 1 }, option: 'servers', default: '["nats://127.0.0.1:4222"]', doc: 'NATS servers (`nats://host:4222`); one connection fails over between them.' },
      Subject: { kind: str, doc: 'Subject published to; may use `{project}`, `{logstore}`, `{configName}` placeholders.' },
      Encoding: { kind: oneOf('protobuf', 'json'), default: '"protobuf"', doc: 'Message body: the LogGroup protobuf, or JSON.' },
      Stream: {
        kind: {
          kind: 'either',
          of: [
            str,
            {
              kind: 'object',
              fields: {
                Name: { kind: str, required: true, doc: 'Stream name.' },
                Subjects: { kind: { kind: 'array', of: str, minItems: 1 }, doc: 'Subjects the stream binds.' },
                Replicas: { kind: int(1), doc: 'Replicas.' },
                DuplicateWindowMs: { kind: duration(1), default: '2h', doc: 'JetStream deduplication window: the effectively-once window.' },
                Create: { kind: bool, doc: 'Create the stream when missing.' },
              },
            },
          ],
        },
        doc: 'The JetStream stream: a name, or `{Name, Subjects, Replicas, DuplicateWindowMs, Create}`.',
      },
      RetryHorizonMs: { kind: duration(0), doc: 'See the NATS sink.' },
      TimeoutMs: { kind: duration(1), doc: 'PubAck timeout.' },
      ReconnectTimeWaitMs: { kind: duration(1), doc: 'Delay between reconnect attempts.' },
      User: { kind: str, doc: 'User name.' },
      Password: { kind: str, secret: true, option: 'pass', doc: 'Password (use `${ENV}`).' },
      Token: { kind: str, secret: true, doc: 'Auth token (use `${ENV}`).' },
      NkeySeed: { kind: str, secret: true, doc: 'NKey seed (use `${ENV}`).' },
      CredsFile: { kind: str, doc: 'A `.creds` file.' },
      Tls: { kind: TLS, doc: 'TLS (PEM text or file paths).' },
    },
  },
  flusher_redis: {
    doc: 'Redis Streams: XADD per log (or per group), deduplicated by idempotency key within DedupTtlMs.',
    fields: {
      URL: { kind: { kind: 'url', schemes: ['redis', 'rediss'] }, option: 'url', doc: '`redis://[user:pass@]host:port/db` (or `rediss://`).' },
      Host: { kind: str, default: '"127.0.0.1"', doc: 'Host, when no URL.' },
      Port: { kind: int(1, 65535), default: '6379', doc: 'Port, when no URL.' },
      DB: { kind: int(0), option: 'db', default: '0', doc: 'Database number.' },
      Username: { kind: str, doc: 'ACL user.' },
      Password: { kind: str, secret: true, doc: 'Password (use `${ENV}`).' },
      KeyTemplate: { kind: str, default: '"logs:{project}:{logstore}"', doc: 'Stream key template.' },
      EntryPer: { kind: oneOf('log', 'group'), default: '"log"', doc: 'One stream entry per log or per LogGroup.' },
      Encoding: { kind: oneOf('protobuf', 'json'), default: '"protobuf"', doc: 'How a group entry stores its LogGroup.' },
      MaxLen: { kind: int(0), doc: 'Approximate MAXLEN trimming of the stream.' },
      DedupTtlMs: { kind: duration(0), option: 'dedupTtl', default: '2h', doc: 'Lifetime of a deduplication marker (0 = off): the effectively-once window.' },
      TimeoutMs: { kind: duration(1), default: '10s', doc: 'Connect and command timeout.' },
      Tls: { kind: TLS, doc: 'TLS.' },
    },
  },
  flusher_file: {
    doc: 'Appends NDJSON to a local file, acked after fsync; size-based rotation.',
    fields: {
      Path: { kind: str, required: true, doc: 'The file (relative to the working directory).' },
      MaxBytes: { kind: size(0), default: '0 (never rotate)', doc: 'Rotate before the file passes this size.' },
      MaxFiles: { kind: int(1), default: '5', doc: 'Rotated files kept (`path.1` … `path.N`).' },
      Mode: { kind: int(0, 0o7777), default: '0o640 (416)', doc: 'Mode of a created file (a number: 416 = 0o640).' },
    },
  },
  flusher_stdout: {
    doc: 'Writes each log to standard output (or stderr): a JSON line or a text line.',
    fields: {
      Format: { kind: oneOf('json', 'text'), default: '"json"', doc: 'One JSON object or one readable line per log.' },
      Target: { kind: oneOf('stdout', 'stderr'), default: '"stdout"', doc: 'Which stream.' },
    },
  },
};

export type { FieldSpec };
