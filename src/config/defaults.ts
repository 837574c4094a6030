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
