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
export const DEFAULT_READ_AHEAD_BYTES = 16 * MiB;
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
export const DEFAULT_IN_FLIGHT_BYTES = 32 * MiB;
/** A delivery batch (json, ndjson): records and bytes. SLS encoding sends one record. */
export const DEFAULT_BATCH_MAX_RECORDS = 8;
export const DEFAULT_BATCH_MAX_BYTES = 4 * MiB;

// ── HTTP sink (src/sinks/http) ──────────────────────────────────────────────────────────
/** Wire encoding of the HTTP sink: a JSON array of logs per batch. */
export const DEFAULT_HTTP_ENCODING = 'json' as const;
/** Compression of SLS (protobuf) requests: a raw LZ4 block, as iLogtail sends by default. */
export const DEFAULT_HTTP_SLS_COMPRESSION = 'lz4' as const;
/** Keep-alive connections per host (undici Pool `connections`). */
export const DEFAULT_HTTP_CONCURRENCY = 4;
/** One HTTP request, connect to last body byte (ms). */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/** Bytes of an error response's body quoted in the DeliveryError message. */
export const HTTP_ERROR_BODY_SNIPPET_BYTES = 200;
/** Bytes of a success response's body read (and discarded) before the socket is dropped instead. */
export const HTTP_MAX_DISCARDED_BODY_BYTES = 128 * KiB;

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
