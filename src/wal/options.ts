import { randomBytes } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import {
  DEFAULT_COMPACT_AFTER_BYTES,
  DEFAULT_COMPACT_ON_CLOSE_BUDGET_MS,
  DEFAULT_GROUP_COMMIT_MAX_BYTES,
  DEFAULT_LEVELDB_CACHE_SIZE,
  DEFAULT_LEVELDB_MAX_FILE_SIZE,
  DEFAULT_LEVELDB_WRITE_BUFFER_SIZE,
  DEFAULT_READ_AHEAD_BYTES,
  DEFAULT_READ_AHEAD_RECORDS,
  DEFAULT_WAL_FREE_SPACE_CHECK_MS,
  DEFAULT_WAL_FREE_SPACE_FLOOR,
  DEFAULT_WAL_LOW_WATERMARK,
  DEFAULT_WAL_MAX_BYTES,
  DEFAULT_WAL_RECOVER_DELAY_MS,
  DEFAULT_WAL_RECOVER_MAX_DELAY_MS,
  DEFAULT_WAL_SYNC,
  DEFAULT_WAL_SYNC_INTERVAL_MS,
  DEFAULT_WAL_URGENT_RESERVE,
} from '../config/defaults.ts';
import { ErrorCodes, WalshipError } from '../errors.ts';
import { defaultLogger, type Logger } from '../logging/logger.ts';
import { classicLevelOpener, type StoreOpener, type StoreOptions } from './store.ts';

export type SyncPolicy = 'always' | 'interval' | 'never';

/** Options of {@link WriteAheadLog.open}. Every field but `dir` is optional. */
export interface WalOptions {
  /** The WAL's directory (created with mode 0700). LevelDB lives in `<dir>/db`. */
  readonly dir: string;
  /**
   * Logical bytes the WAL may hold: pending, dead-letter and quarantine records together.
   * @defaultValue 1 GiB ({@link DEFAULT_WAL_MAX_BYTES})
   */
  readonly maxBytes?: number;
  /**
   * Once over the quota, `isOverQuota()` stays true until held bytes fall below this
   * fraction of `maxBytes`.
   * @defaultValue 0.9
   */
  readonly lowWatermark?: number;
  /**
   * In urgent mode (a graceful stop) appends may use this fraction above `maxBytes`.
   * @defaultValue 0.05
   */
  readonly urgentReserve?: number;
  /**
   * The WAL counts as over quota while its filesystem has fewer free bytes than this.
   * @defaultValue 256 MiB
   */
  readonly freeSpaceFloor?: number;
  /**
   * `'always'`: an append resolves after LevelDB fsynced it. `'interval'`: appends are
   * written at once and fsynced at most `syncIntervalMs` later. `'never'`: left to the OS.
   * @defaultValue `'always'`
   */
  readonly sync?: SyncPolicy;
  /** @defaultValue 100 */
  readonly syncIntervalMs?: number;
  /** Read-ahead window in records. @defaultValue 64 */
  readonly readAheadRecords?: number;
  /** Read-ahead window in bytes. @defaultValue 4 MiB */
  readonly readAheadBytes?: number;
  /** Compact the acknowledged range after this many bytes were acknowledged. @defaultValue 64 MiB */
  readonly compactAfterBytes?: number;
  /** Time the compaction on close may take before a warning is logged. @defaultValue 2000 */
  readonly compactOnCloseBudgetMs?: number;
  /** One group-commit write carries at most this many bytes. @defaultValue 16 MiB */
  readonly groupCommitMaxBytes?: number;
  /** LevelDB tuning. @defaultValue 8 MiB write buffer, 8 MiB files, 8 MiB cache, snappy on */
  readonly leveldb?: Partial<StoreOptions>;
  /** First delay before reopening the store after a write error (ms). @defaultValue 1000 */
  readonly recoverDelayMs?: number;
  /** @defaultValue 30000 */
  readonly recoverMaxDelayMs?: number;
  /** Injected side effects (tests). */
  readonly storeOpener?: StoreOpener;
  readonly logger?: Logger;
  readonly clock?: () => number;
  readonly randomId?: () => string;
  /** Free bytes on the filesystem holding `dir`. */
  readonly freeSpace?: (dir: string) => Promise<number>;
  /** @defaultValue 1000 */
  readonly freeSpaceCheckMs?: number;
}

export interface ResolvedWalOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly lowWatermark: number;
  readonly urgentReserve: number;
  readonly freeSpaceFloor: number;
  readonly sync: SyncPolicy;
  readonly syncIntervalMs: number;
  readonly readAheadRecords: number;
  readonly readAheadBytes: number;
  readonly compactAfterBytes: number;
  readonly compactOnCloseBudgetMs: number;
  readonly groupCommitMaxBytes: number;
  readonly leveldb: StoreOptions;
  readonly recoverDelayMs: number;
  readonly recoverMaxDelayMs: number;
  readonly storeOpener: StoreOpener;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly randomId: () => string;
  readonly freeSpace: (dir: string) => Promise<number>;
  readonly freeSpaceCheckMs: number;
}

function invalid(message: string): WalshipError {
  return new WalshipError(ErrorCodes.INVALID_OPTIONS, message);
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export function positiveInt(name: string, v: unknown, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw invalid(`Expected \`${name}\` to be an integer >= ${min}, got ${describe(v)}`);
  }
  return v;
}

function fraction(name: string, v: unknown, fallback: number, lo: number, hi: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw invalid(`Expected \`${name}\` to be a number from ${lo} to ${hi}, got ${describe(v)}`);
  }
  return v;
}

async function statfsFree(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

export function resolveWalOptions(options: WalOptions): ResolvedWalOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('Expected WAL options to be an object');
  }
  if (typeof options.dir !== 'string' || options.dir.length === 0) {
    throw invalid(`Expected \`dir\` to be a non-empty string, got ${describe(options.dir)}`);
  }
  const sync = options.sync ?? DEFAULT_WAL_SYNC;
  if (sync !== 'always' && sync !== 'interval' && sync !== 'never') {
    throw invalid(`Expected \`sync\` to be 'always', 'interval' or 'never', got ${describe(sync)}`);
  }
  const recoverDelayMs = positiveInt('recoverDelayMs', options.recoverDelayMs, DEFAULT_WAL_RECOVER_DELAY_MS);
  const recoverMaxDelayMs = positiveInt(
    'recoverMaxDelayMs',
    options.recoverMaxDelayMs,
    Math.max(DEFAULT_WAL_RECOVER_MAX_DELAY_MS, recoverDelayMs),
  );
  if (recoverMaxDelayMs < recoverDelayMs) {
    throw invalid(
      `Expected \`recoverMaxDelayMs\` (${recoverMaxDelayMs}) to be at least \`recoverDelayMs\` (${recoverDelayMs})`,
    );
  }
  const leveldb = options.leveldb ?? {};
  return {
    dir: options.dir,
    maxBytes: positiveInt('maxBytes', options.maxBytes, DEFAULT_WAL_MAX_BYTES),
    lowWatermark: fraction('lowWatermark', options.lowWatermark, DEFAULT_WAL_LOW_WATERMARK, 0, 1),
    urgentReserve: fraction('urgentReserve', options.urgentReserve, DEFAULT_WAL_URGENT_RESERVE, 0, 1),
    freeSpaceFloor: positiveInt('freeSpaceFloor', options.freeSpaceFloor, DEFAULT_WAL_FREE_SPACE_FLOOR, 0),
    sync,
    syncIntervalMs: positiveInt('syncIntervalMs', options.syncIntervalMs, DEFAULT_WAL_SYNC_INTERVAL_MS),
    readAheadRecords: positiveInt('readAheadRecords', options.readAheadRecords, DEFAULT_READ_AHEAD_RECORDS),
    readAheadBytes: positiveInt('readAheadBytes', options.readAheadBytes, DEFAULT_READ_AHEAD_BYTES),
    compactAfterBytes: positiveInt('compactAfterBytes', options.compactAfterBytes, DEFAULT_COMPACT_AFTER_BYTES),
    compactOnCloseBudgetMs: positiveInt(
      'compactOnCloseBudgetMs',
      options.compactOnCloseBudgetMs,
      DEFAULT_COMPACT_ON_CLOSE_BUDGET_MS,
      0,
    ),
    groupCommitMaxBytes: positiveInt(
      'groupCommitMaxBytes',
      options.groupCommitMaxBytes,
      DEFAULT_GROUP_COMMIT_MAX_BYTES,
    ),
    leveldb: {
      writeBufferSize: positiveInt(
        'leveldb.writeBufferSize',
        leveldb.writeBufferSize,
        DEFAULT_LEVELDB_WRITE_BUFFER_SIZE,
      ),
      maxFileSize: positiveInt('leveldb.maxFileSize', leveldb.maxFileSize, DEFAULT_LEVELDB_MAX_FILE_SIZE),
      cacheSize: positiveInt('leveldb.cacheSize', leveldb.cacheSize, DEFAULT_LEVELDB_CACHE_SIZE, 0),
      compression: leveldb.compression ?? true,
    },
    recoverDelayMs,
    recoverMaxDelayMs,
    storeOpener: options.storeOpener ?? classicLevelOpener,
    logger: options.logger ?? defaultLogger(),
    clock: options.clock ?? Date.now,
    randomId: options.randomId ?? (() => randomBytes(8).toString('hex')),
    freeSpace: options.freeSpace ?? statfsFree,
    freeSpaceCheckMs: positiveInt('freeSpaceCheckMs', options.freeSpaceCheckMs, DEFAULT_WAL_FREE_SPACE_CHECK_MS),
  };
}
