import { type BatchOp, classicLevelOpener, type Store, type StoreIteratorOptions, type StoreOpener } from '../../src/wal/index.ts';

export interface BatchCall {
  readonly ops: readonly BatchOp[];
  readonly sync: boolean;
}

/**
 * A store opener that wraps the real classic-level store: records every batch (its ops and
 * its sync flag) and every iterator, and fails writes on demand (disk full, I/O errors).
 */
export class SpyOpener {
  readonly batches: BatchCall[] = [];
  readonly iterators: StoreIteratorOptions[] = [];
  /** While set, every batch rejects with this error before reaching LevelDB. */
  failWrites: Error | undefined;
  /** Called with each batch before it is written; may throw to fail it. */
  beforeBatch: ((ops: BatchOp[]) => void) | undefined;
  /** The next batch waits this long before it is written (a slow disk), once. */
  delayNextBatchMs = 0;
  /** Changes what iterators read (a flipped byte on disk). */
  mapValue: ((key: Buffer, value: Buffer) => Buffer) | undefined;
  /** While set, compactions reject with this error. */
  failCompactions: Error | undefined;
  opens = 0;

  readonly opener: StoreOpener = (location, options) => {
    const inner: Store = classicLevelOpener(location, options);
    return {
      location,
      open: async () => {
        this.opens++;
        await inner.open();
      },
      close: () => inner.close(),
      get: (key) => inner.get(key),
      batch: async (ops, opts) => {
        if (this.delayNextBatchMs > 0) {
          const ms = this.delayNextBatchMs;
          this.delayNextBatchMs = 0;
          await new Promise((r) => setTimeout(r, ms));
        }
        if (this.failWrites !== undefined) throw this.failWrites;
        this.beforeBatch?.(ops);
        this.batches.push({ ops: [...ops], sync: opts.sync });
        await inner.batch(ops, opts);
      },
      iterator: (opts) => {
        this.iterators.push(opts);
        const it = inner.iterator(opts);
        const map = this.mapValue;
        if (map === undefined) return it;
        return {
          nextv: async (n: number) => (await it.nextv(n)).map(([k, v]) => [k, map(k, v)] as [Buffer, Buffer]),
          close: () => it.close(),
        };
      },
      compactRange: (start, end) => (this.failCompactions !== undefined ? Promise.reject(this.failCompactions) : inner.compactRange(start, end)),
    };
  };

  /** Batches that put at least one record (a 12-byte `rec!` key; tail marks are 13 bytes). */
  appendBatches(): BatchCall[] {
    return this.batches.filter((b) =>
      b.ops.some((op) => op.type === 'put' && op.key.length === 12 && op.key.toString('latin1').startsWith('rec!')),
    );
  }
}

/** An error shaped like the one LevelDB gives when the disk is full. */
export function diskFullError(): Error {
  return Object.assign(new Error('IO error: /tmp/x/000012.log: No space left on device'), { code: 'LEVEL_IO_ERROR' });
}

export function ioError(): Error {
  return Object.assign(new Error('IO error: /tmp/x/000012.log: Input/output error'), { code: 'LEVEL_IO_ERROR' });
}

/** A `mapValue` that flips the last byte of record `seq` as it is read (its checksum fails). */
export function flipLastByteOfRecord(seq: number): (key: Buffer, value: Buffer) => Buffer {
  return (key, value) =>
    key.length === 12 && key.toString('latin1', 0, 4) === 'rec!' && key.readUInt32BE(8) === seq
      ? Buffer.concat([value.subarray(0, -1), Buffer.from([(value.at(-1) as number) ^ 0xff])])
      : value;
}
