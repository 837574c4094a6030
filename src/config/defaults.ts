/**
 * Every default walship uses, in one place (ARCHITECTURE.md "Defaults"). Option interfaces
 * refer to these constants in their `@defaultValue` docs; resolvers merge over them.
 */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

// ── LogGroup model ──────────────────────────────────────────────────────────────────────
/** iLogtail's cap on one LogGroup's estimated size. */
export const DEFAULT_MAX_LOG_GROUP_BYTES = 3 * MiB;
/** iLogtail's cap on logs in one LogGroup. */
export const DEFAULT_MAX_LOGS_PER_GROUP = 1024;

// ── WAL ─────────────────────────────────────────────────────────────────────────────────
/** Logical bytes the WAL may hold (pending + dead-letter + quarantine). */
export const DEFAULT_WAL_MAX_BYTES = 1 * GiB;
/** `isOverQuota()` turns false again below this fraction of `maxBytes`. */
export const DEFAULT_WAL_LOW_WATERMARK = 0.9;
/** In urgent mode (graceful stop) the WAL accepts up to this fraction above the quota. */
export const DEFAULT_WAL_URGENT_RESERVE = 0.05;
/** Below this many free bytes on the WAL's filesystem the WAL counts as over quota. */
export const DEFAULT_WAL_FREE_SPACE_FLOOR = 256 * MiB;
/** How often the free space of the WAL's filesystem is read (ms). */
export const DEFAULT_WAL_FREE_SPACE_CHECK_MS = 1000;
/** `'always'`: fsync before an append resolves. */
export const DEFAULT_WAL_SYNC = 'always' as const;
/** With `sync: 'interval'`, a synced write at most this often (ms). */
export const DEFAULT_WAL_SYNC_INTERVAL_MS = 100;
/** Read-ahead window: records read from disk but not yet handed out. */
export const DEFAULT_READ_AHEAD_RECORDS = 64;
export const DEFAULT_READ_AHEAD_BYTES = 4 * MiB;
/** Compact the acknowledged range after this many bytes were acknowledged. */
export const DEFAULT_COMPACT_AFTER_BYTES = 64 * MiB;
/** Time allowed for the compaction that runs on close (ms). */
export const DEFAULT_COMPACT_ON_CLOSE_BUDGET_MS = 2000;
/** One group-commit write carries at most this many bytes (a larger single record goes alone). */
export const DEFAULT_GROUP_COMMIT_MAX_BYTES = 16 * MiB;
/** LevelDB memtable size. */
export const DEFAULT_LEVELDB_WRITE_BUFFER_SIZE = 8 * MiB;
/** LevelDB table file size. */
export const DEFAULT_LEVELDB_MAX_FILE_SIZE = 8 * MiB;
/** LevelDB block cache. */
export const DEFAULT_LEVELDB_CACHE_SIZE = 8 * MiB;
/** After a write error, try to reopen the store this often (ms), doubling to the max. */
export const DEFAULT_WAL_RECOVER_DELAY_MS = 1000;
export const DEFAULT_WAL_RECOVER_MAX_DELAY_MS = 30_000;

// ── Delivery ────────────────────────────────────────────────────────────────────────────
/** Connection modes: first reconnect delay, doubling up to the max (the seed's waitRetry). */
export const DEFAULT_MODE_WAIT_RETRY_MS = 1000;
export const DEFAULT_MODE_MAX_WAIT_RETRY_MS = 60_000;
/** Connection modes: attempts before a batch is handed back; 0 = never give up. */
export const DEFAULT_MODE_MAX_ATTEMPTS = 0;
/** Connection modes: connect timeout. */
export const DEFAULT_MODE_TIMEOUT_MS = 30_000;
/** Delivery manager: retry delay of a batch, doubling (full jitter) up to the max. */
export const DEFAULT_RETRY_MIN_DELAY_MS = 500;
export const DEFAULT_RETRY_MAX_DELAY_MS = 30_000;
/** Delivery manager: retry delay cap for a missing destination (config error). */
export const DEFAULT_CONFIG_RETRY_MAX_DELAY_MS = 60_000;
/** A misconfiguration is logged at error level at most this often per reason. */
export const DEFAULT_CONFIG_ERROR_LOG_INTERVAL_MS = 30_000;
/** In-flight window: batches and bytes handed to the mode and not yet settled. */
export const DEFAULT_IN_FLIGHT_BATCHES = 16;
export const DEFAULT_IN_FLIGHT_BYTES = 16 * MiB;
/** A delivery batch (json, ndjson): records and bytes. SLS encoding sends one record. */
export const DEFAULT_BATCH_MAX_RECORDS = 8;
export const DEFAULT_BATCH_MAX_BYTES = 4 * MiB;

// ── HTTP sink (src/sinks/http) ──────────────────────────────────────────────────────────
/** Wire encoding of the HTTP sink: a JSON array of logs per batch. */
export const DEFAULT_HTTP_ENCODING = 'json' as const;
/** Compression of SLS (protobuf) requests: a raw LZ4 block, as iLogtail sends by default. */
export const DEFAULT_HTTP_SLS_COMPRESSION = 'lz4' as const;
/** Keep-alive connections per host (the HTTP agent's `maxSockets`). */
export const DEFAULT_HTTP_CONCURRENCY = 4;
/** One HTTP request, connect to last body byte (ms). */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/** Bytes of an error response's body quoted in the DeliveryError message. */
export const HTTP_ERROR_BODY_SNIPPET_BYTES = 200;
/** Bytes of a success response's body read (and discarded) before the socket is dropped instead. */
export const HTTP_MAX_DISCARDED_BODY_BYTES = 128 * KiB;

// ── NATS JetStream sink (src/sinks/nats) ────────────────────────────────────────────────
/** The NATS server the sink connects to when none is configured. */
export const DEFAULT_NATS_SERVER = 'nats://127.0.0.1:4222';
/** Subject a record is published to; placeholders come from the record's metadata. */
export const DEFAULT_NATS_SUBJECT = 'logs.{project}.{logstore}';
/** Message body: the LogGroup protobuf exactly as stored in the WAL. */
export const DEFAULT_NATS_ENCODING = 'protobuf' as const;
/** Time to wait for one JetStream PubAck (ms). */
export const DEFAULT_NATS_TIMEOUT_MS = 10_000;
/** nats.js: delay between reconnect attempts to the servers of the pool (ms). */
export const DEFAULT_NATS_RECONNECT_WAIT_MS = 2000;
/** Records per delivery batch: each is its own message, published concurrently. */
export const DEFAULT_NATS_BATCH_MAX_RECORDS = 32;
/** Replicas of a stream walship creates. */
export const DEFAULT_NATS_STREAM_REPLICAS = 1;
/** Duplicate window (Nats-Msg-Id deduplication) of a stream walship creates (ms). */
export const DEFAULT_NATS_DUPLICATE_WINDOW_MS = 2 * 60 * 60 * 1000;
/**
 * How long after its first attempt a record may still be redelivered (ms), for the
 * duplicate-window check: delivery retries without bound, so this is the horizon within which
 * walship promises effectively-once; a stream whose window is shorter gets a warning.
 */
export const DEFAULT_NATS_RETRY_HORIZON_MS = DEFAULT_NATS_DUPLICATE_WINDOW_MS;

// ── Test / demo HTTP receiver (src/receiver) ───────────────────────────────────────────
/** The receiver listens on loopback only. */
export const DEFAULT_RECEIVER_HOST = '127.0.0.1';
/** Status of a request failed by `failRate`. */
export const DEFAULT_RECEIVER_FAIL_STATUS = 503;
/** Status of a request refused by `rejectWhen`. */
export const DEFAULT_RECEIVER_REJECT_STATUS = 400;
/** `Retry-After` sent with a 429 injected by `retryAfterRate` (seconds). */
export const DEFAULT_RECEIVER_RETRY_AFTER_SECONDS = 1;
/** Largest request body (wire or decompressed) the receiver accepts; larger gets 413. */
export const DEFAULT_RECEIVER_MAX_BODY_BYTES = 64 * MiB;
/** How many recent requests `receiver.requests()` remembers. */
export const DEFAULT_RECEIVER_KEEP_REQUESTS = 1000;

// ── Flusher ─────────────────────────────────────────────────────────────────────────────
/** How long stop() keeps delivering before it closes the WAL (ms). */
export const DEFAULT_STOP_TIMEOUT_MS = 5000;
/** What flush() does while the WAL is full: wait for room. */
export const DEFAULT_WHEN_FULL = 'block' as const;
/** How often a blocked flush (and the pipeline runner) asks again whether there is room (ms). */
export const DEFAULT_WHEN_FULL_POLL_MS = 10;

// ── Aggregators and the LogGroup queue (src/aggregators, src/pipeline/log-group-queue.ts) ──
/** Groups an aggregator buffers per stream before it quick-flushes the oldest (iLogtail's MaxLogGroupCount). */
export const DEFAULT_AGGREGATOR_MAX_GROUPS = 4;
/** Context aggregator: estimated bytes buffered over all sources before all is pushed to the queue. */
export const DEFAULT_CONTEXT_AGGREGATOR_MAX_BUFFERED_BYTES = 16 * MiB;
/** Context aggregator: a source's `__pack_id__` sequence is forgotten after this long without logs (ms). */
export const DEFAULT_PACK_ID_IDLE_MS = 24 * 60 * 60 * 1000;
/** LogGroups a BoundedLogGroupQueue holds. */
export const DEFAULT_LOG_GROUP_QUEUE_CAPACITY = 16;

// ── Pipeline runner ─────────────────────────────────────────────────────────────────────
/** iLogtail's global aggregation interval: what an aggregator's interval of 0 means (ms). */
export const DEFAULT_AGGREGATOR_INTERVAL_MS = 3000;

// ── Redis Streams sink (src/sinks/redis) ────────────────────────────────────────────────
/** Stream key of a record: placeholders `{project}`, `{logstore}`, `{configName}`, `{logstoreKey}`. */
export const DEFAULT_REDIS_KEY_TEMPLATE = 'logs:{project}:{logstore}';
/** One stream entry per log (`'group'`: one entry per LogGroup). */
export const DEFAULT_REDIS_ENTRY_PER = 'log' as const;
/** How a LogGroup is stored in a group entry's `data` field. */
export const DEFAULT_REDIS_GROUP_ENCODING = 'protobuf' as const;
/** Lifetime of a deduplication marker: the Redis sink's effectively-once window (ms). */
export const DEFAULT_REDIS_DEDUP_TTL_MS = 2 * 60 * 60 * 1000;
/** Connect timeout and the time one script call may take (ms). */
export const DEFAULT_REDIS_TIMEOUT_MS = 10_000;
/** ioredis `maxRetriesPerRequest`: small, so a down server fails fast and delivery retries. */
export const DEFAULT_REDIS_MAX_RETRIES_PER_REQUEST = 1;
/** Default Redis port when neither `url` nor `port` names one. */
export const DEFAULT_REDIS_PORT = 6379;
/** Default Redis host when neither `url` nor `host` names one. */
export const DEFAULT_REDIS_HOST = '127.0.0.1';

// ── File sink (src/sinks/file) ──────────────────────────────────────────────────────────
/** Rotate when the next write would take the file past this many bytes; 0 = never rotate. */
export const DEFAULT_FILE_MAX_BYTES = 0;
/** Rotated files kept (`path.1` … `path.N`); older ones are deleted. */
export const DEFAULT_FILE_MAX_FILES = 5;
/** Mode of a file the sink creates. */
export const DEFAULT_FILE_MODE = 0o640;

// ── Stdout sink (src/sinks/stdout) ──────────────────────────────────────────────────────
/** One JSON object per log (`'text'`: one human-readable line per log). */
export const DEFAULT_STDOUT_FORMAT = 'json' as const;

// ── CLI and admin server (src/cli, src/metrics) ─────────────────────────────────────────
/** WAL root of `walship run` when the config's `wal.Dir` is not set. */
export const DEFAULT_CLI_WAL_DIR = './data/wal';
/** The admin server (`/metrics`, `/healthz`, `/status`) listens on loopback only. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
/** Admin port: 0 = a free port, written to the admin file in the WAL root. */
export const DEFAULT_ADMIN_PORT = 0;
/** File in the WAL root naming the running process and its admin URL (removed on clean stop). */
export const ADMIN_FILE_NAME = 'walship.admin.json';
/** How often `walship run` refreshes the WAL gauges of `/metrics` (ms). */
export const DEFAULT_METRICS_REFRESH_MS = 1000;

// ── Inputs (src/inputs) and the pino transport (src/pino) ─────────────────────────────────
/** A line (or a joined multiline record) longer than this is cut to it, and counted. */
export const DEFAULT_INPUT_MAX_LINE_BYTES = 512 * KiB;
/** input_file: how often the glob is re-run and every open file is checked for growth (ms). */
export const DEFAULT_INPUT_FILE_POLL_MS = 1000;
/**
 * input_file: bytes read from one file in one round (one round is one WAL append, so one
 * fsync with `sync: 'always'`). 1 MiB rather than 256 KiB: a quarter of the rounds, fsyncs,
 * LevelDB batches and HTTP requests per byte; bench/e2e.ts measured ~1.5× the records/s and
 * ~25% less CPU for `sync: 'always'` (2 MiB and more bought little and cost RSS).
 * @defaultValue 1 MiB
 */
export const DEFAULT_INPUT_FILE_READ_CHUNK_BYTES = 1 * MiB;
/** input_file: a renamed-away file is closed after it has been at its end this long (ms). */
export const DEFAULT_INPUT_FILE_ROTATED_CLOSE_MS = 5000;
/** input_file: bytes at a file's head hashed into its fingerprint (detects truncation and inode reuse). */
export const DEFAULT_INPUT_FILE_FINGERPRINT_BYTES = 1024;
/** input_file: whether a file found at the very first start is read from its head (else from its end). */
export const DEFAULT_INPUT_FILE_READ_FROM_HEAD = false;
/** Multiline: a pending record is shipped after no new line came for this long (ms). */
export const DEFAULT_INPUT_MULTILINE_FLUSH_MS = 3000;
/** The content key a line is shipped under (iLogtail's `content`). */
export const DEFAULT_INPUT_CONTENT_KEY = 'content';
/** pino transport: logs per durable append at most (a batch is also cut when writes pause). */
export const DEFAULT_PINO_MAX_BATCH_LOGS = 1024;
/** pino transport: how long closing keeps delivering before the WAL is closed (ms); below thread-stream's 10 s end wait. */
export const DEFAULT_PINO_STOP_TIMEOUT_MS = 2000;
