/**
 * The store the WAL writes to: the few methods of classic-level it uses, behind an interface
 * so that tests can inject failures (disk full, I/O errors) and spy on write options (W1)
 * through the opener, the way the rest of walship injects its side effects.
 */
import { basename, dirname } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ErrorCodes, WalshipError } from '../errors.ts';

export type BatchOp =
  | { readonly type: 'put'; readonly key: Buffer; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Buffer };

export interface StoreIteratorOptions {
  readonly gte?: Buffer;
  readonly gt?: Buffer;
  readonly lt?: Buffer;
  readonly lte?: Buffer;
  readonly reverse?: boolean;
  readonly limit?: number;
  readonly keys?: boolean;
  readonly values?: boolean;
  readonly fillCache?: boolean;
}

export interface StoreIterator {
  nextv(size: number): Promise<Array<[Buffer, Buffer]>>;
  close(): Promise<void>;
}

export interface Store {
  readonly location: string;
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: Buffer): Promise<Buffer | undefined>;
  batch(ops: BatchOp[], options: { sync: boolean }): Promise<void>;
  iterator(options: StoreIteratorOptions): StoreIterator;
  compactRange(start: Buffer, end: Buffer): Promise<void>;
}

/** LevelDB tuning passed through to classic-level. */
export interface StoreOptions {
  readonly writeBufferSize: number;
  readonly maxFileSize: number;
  readonly cacheSize: number;
  readonly compression: boolean;
}

/** Makes a store for a location; the WAL calls `open()` on it explicitly (W7). */
export type StoreOpener = (location: string, options: StoreOptions) => Store;

export const classicLevelOpener: StoreOpener = (location, options) => {
  const db = new ClassicLevel<Buffer, Buffer>(location, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  return {
    location,
    open: () =>
      db.open({
        createIfMissing: true,
        errorIfExists: false,
        // Opened explicitly so that a lock or corruption error surfaces here and not on the
        // first read (LevelDB's deferred open would hide it).
        passive: false,
        writeBufferSize: options.writeBufferSize,
        maxFileSize: options.maxFileSize,
        cacheSize: options.cacheSize,
        compression: options.compression,
      }),
    close: () => db.close(),
    get: (key) => db.get(key),
    batch: (ops, opts) => (db.batch as (o: BatchOp[], w: { sync: boolean }) => Promise<void>).call(db, ops, opts),
    iterator: (opts) => db.iterator(opts) as unknown as StoreIterator,
    compactRange: (start, end) => db.compactRange(start, end),
  };
};

/** Runs LevelDB's repair on a location (rebuilds the MANIFEST from the table files). */
export async function repairStore(location: string): Promise<void> {
  await ClassicLevel.repair(location);
}

function rootCause(err: unknown): { code?: string; message: string } {
  let e = err as { code?: string; message?: string; cause?: unknown } | undefined;
  // classic-level wraps open errors in LEVEL_DATABASE_NOT_OPEN with the real one as cause.
  while (e?.cause !== undefined && e.code === 'LEVEL_DATABASE_NOT_OPEN') {
    e = e.cause as typeof e;
  }
  const message = String(e?.message ?? err);
  // Some LevelDB errors (a corruption found at open) come with an empty message: show the code.
  return { code: e?.code, message: message !== '' ? message : (e?.code ?? 'no detail from LevelDB') };
}

export function isDiskFull(err: unknown): boolean {
  const { code, message } = rootCause(err);
  return code === 'ENOSPC' || /no space left|ENOSPC/i.test(message);
}

export function isCorruption(err: unknown): boolean {
  const { code, message } = rootCause(err);
  return code === 'LEVEL_CORRUPTION' || /^Corruption:/i.test(message);
}

/**
 * Maps a LevelDB error to walship's codes. `what` says what was being done
 * ("open", "append", "read", "compaction") and goes into the message.
 */
/** The WAL directory (what `walship wal repair` takes) of its LevelDB location (`<dir>/db`). */
export function walDirOf(location: string): string {
  return basename(location) === 'db' ? dirname(location) : location;
}

export function mapStoreError(err: unknown, what: string, location: string): WalshipError {
  if (err instanceof WalshipError) return err;
  const { code, message } = rootCause(err);
  if (code === 'LEVEL_LOCKED' || /lock .*already held|Resource temporarily unavailable/i.test(message)) {
    return new WalshipError(
      ErrorCodes.LOCKED,
      `the WAL at ${location} is in use by another process or instance (${message})`,
      { cause: err, details: { location } },
    );
  }
  // A CURRENT that names a missing MANIFEST (or a missing CURRENT with table files) is damage
  // LevelDB reports as an I/O error at open; repair rebuilds it.
  const missingDescriptor = what.startsWith('open') && /(MANIFEST|CURRENT)[^:]*: No such file/i.test(message);
  if (isCorruption(err) || missingDescriptor) {
    return new WalshipError(
      ErrorCodes.WAL_CORRUPT,
      `the WAL at ${location} is corrupt (${what}: ${message}); run \`walship wal repair ${walDirOf(location)}\` (or repairWal()) to recover what is readable`,
      { cause: err, details: { location, operation: what } },
    );
  }
  if (isDiskFull(err)) {
    return new WalshipError(
      ErrorCodes.DISK_FULL,
      `the disk holding the WAL at ${location} is full (${what}: ${message}); the WAL stopped accepting and resumes once space is freed`,
      { cause: err, details: { location, operation: what } },
    );
  }
  return new WalshipError(
    ErrorCodes.WAL_IO,
    `I/O error in the WAL at ${location} (${what}: ${message}); the WAL stopped accepting and will reopen the store`,
    { cause: err, details: { location, operation: what } },
  );
}
