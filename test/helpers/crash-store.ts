/**
 * A process crash, in process: a store opener whose stores all "die" at once on `crash()`.
 *
 * Each write batch takes `writeDelayMs` of "disk time" before it reaches LevelDB (as an
 * fsync takes time): a crash during that time loses the batch, as a crash during a write
 * would. A write whose promise resolved is on disk; one still pending at the crash is not.
 *
 * From the crash on, every store this opener made (and any it makes later, e.g. a WAL's
 * recovery reopening its store) refuses every operation, and the underlying LevelDB is
 * closed so that its lock is released and a new WAL can open the same directory. What
 * LevelDB had written before the crash stays (its log file is replayed on the next open), as
 * after a `kill -9` of the process: this models a process crash, not a power loss. The
 * objects of the crashed "process" (WAL, delivery, runner) live on as zombies whose every
 * write fails; a test stops them and ignores what they say.
 */
import { type BatchOp, classicLevelOpener, type Store, type StoreIterator, type StoreOpener } from '../../src/wal/index.ts';

function crashed(): Error {
  return Object.assign(new Error('IO error: the process crashed (test)'), { code: 'LEVEL_IO_ERROR' });
}

const deadIterator: StoreIterator = {
  nextv: () => Promise.reject(crashed()),
  close: () => Promise.resolve(),
};

export class CrashableOpener {
  readonly writeDelayMs: number;
  #dead = false;
  readonly #inner: Store[] = [];
  /** Batches LevelDB completed (before the crash). */
  batches = 0;
  /** Batches the crash cut during their disk time. */
  cut = 0;
  /** Batches in their disk time now. */
  writing = 0;

  constructor(options: { writeDelayMs?: number } = {}) {
    this.writeDelayMs = options.writeDelayMs ?? 0;
  }

  get dead(): boolean {
    return this.#dead;
  }

  readonly opener: StoreOpener = (location, options) => {
    const inner = classicLevelOpener(location, options);
    const alive = <T>(f: () => Promise<T>): Promise<T> => (this.#dead ? Promise.reject(crashed()) : f());
    return {
      location,
      open: () =>
        alive(async () => {
          await inner.open();
          this.#inner.push(inner);
          // Opened just as the crash came: it dies with the rest.
          if (this.#dead) await inner.close().catch(() => undefined);
        }),
      close: () => (this.#dead ? Promise.resolve() : inner.close()),
      get: (key: Buffer) => alive(() => inner.get(key)),
      batch: (ops: BatchOp[], opts: { sync: boolean }) =>
        alive(async () => {
          if (this.writeDelayMs > 0) {
            this.writing++;
            await new Promise((resolve) => setTimeout(resolve, this.writeDelayMs)).finally(() => this.writing--);
            if (this.#dead) {
              this.cut++;
              throw crashed();
            }
          }
          await inner.batch(ops, opts);
          this.batches++;
        }),
      iterator: (opts) => {
        if (this.#dead) return deadIterator;
        const it = inner.iterator(opts);
        return {
          nextv: (size: number) => alive(() => it.nextv(size)),
          close: () => it.close().catch(() => undefined),
        };
      },
      compactRange: (start: Buffer, end: Buffer) => alive(() => inner.compactRange(start, end)),
    };
  };

  /** The crash: from now on every operation fails; LevelDB is closed (its lock released). */
  async crash(): Promise<void> {
    this.#dead = true;
    await Promise.all(this.#inner.map((s) => s.close().catch(() => undefined)));
  }
}
