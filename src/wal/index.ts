/**
 * # The write-ahead log
 *
 * walship's WAL is a durable FIFO of records (one record = one LogGroup plus its metadata) on
 * LevelDB (classic-level). Producers append; one in-order reader hands records to delivery;
 * delivery acknowledges them, which deletes them. Everything the WAL promises is below.
 *
 * ## Layout on disk (format version 2, frozen; version 1 is migrated on open)
 *
 * `<dir>/` (mode 0700) holds the LevelDB store in `<dir>/db/`. Keys are bytes:
 *
 * | key | value |
 * |---|---|
 * | `meta!format` | ASCII decimal format version (`2`) |
 * | `meta!walId` | ASCII random id (16 hex chars), new for every new or repaired WAL (W8) |
 * | `meta!settled` | the settled mark: what left the pending log, see below |
 * | `meta!state` | `open` while a process has the WAL open, `clean` after `close()` |
 * | `meta!sync` | scratch key written with `sync: true` by the `'interval'` policy |
 * | `rec!<seq>` | a pending record's envelope |
 * | `rec!<seq>\x01` | a tail mark: the counters after the batch whose last record is `<seq>` |
 * | `dlq!<seq>` | a dead letter: a sidelined wrapper around the original envelope |
 * | `quar!<seq>` | a quarantined value: a sidelined wrapper around the bytes that failed |
 * | `ckpt!<name>` | an input checkpoint, written in the same batch as the records it covers |
 * | `bat!<firstSeq>` | a delivery batch's composition (`u8 version=1, u32 n, n × u64 seq`), stored before its first attempt so it keeps its members and key across restarts (D2); deleted with its last member ([./batches.ts](./batches.ts)) |
 *
 * `<seq>` is the sequence number as 8 bytes big-endian (LevelDB's order is sequence order);
 * sequence numbers start at 1, are never reused within a walId, and stay below 2^53.
 *
 * **Envelope** (all integers big-endian):
 * `u8 version=1 | u32 crc32c | u8 flags | u64 enqueuedAtMs | i64 logstoreKey |
 *  u16 len + project | u16 len + logstore | u16 len + configName |
 *  [u16 len + idempotencyKey, if flags & 1] | LogGroup protobuf bytes (to the end)`.
 * The CRC32C (Castagnoli) covers every byte after itself. The payload is the LogGroup exactly
 * as appended; sinks send it without re-encoding.
 *
 * **Sidelined wrapper** (dead letters, quarantine):
 * `u8 version=1 | u64 movedAtMs | u16 len + reason | u16 len + idempotencyKey (0 = none) |
 *  original value bytes`.
 *
 * **Counters** live in two marks (./counters.ts), both cumulative so that the latest of each
 * combine exactly (pending = appended − settled):
 * - tail mark, `u8 version=2` then three u64: nextSeq, appendedRecords, appendedBytes. Every
 *   batch that appends writes a new one right after its last record and never rewrites it, so
 *   the tables LevelDB flushes from an append-only backlog do not overlap and move down the
 *   levels whole instead of being rewritten (a single hot counters key, as in format 1,
 *   overlapped every table and cost 2.4× the write throughput on a 1 GiB backlog). A mark is
 *   deleted once the ack floor passes it and a newer one exists.
 * - settled mark, `u8 version=2` then seven u64: ackFloor, settledRecords, settledBytes,
 *   deadLetterRecords, deadLetterBytes, quarantineRecords, quarantineBytes; rewritten by every
 *   batch that acks, dead-letters, quarantines or purges (near the head, where those go).
 * Bytes are logical: key length + value length.
 *
 * ## Invariants
 *
 * - **W1** `append()` resolves only after its batch is written with the configured
 *   durability: `sync: 'always'` passes `sync: true` to LevelDB (fsync before resolving);
 *   `'interval'` writes at once and fsyncs a small key every `syncIntervalMs`; `'never'`
 *   leaves it to the OS. Concurrent appends share one batch (group commit): one writer takes
 *   everything queued, so 16 appenders cost about one fsync per batch, not 16.
 * - **W2** A record is deleted only by `ack()` (its delivery was acknowledged) or moved, in
 *   one atomic batch, to `dlq!` (`deadLetter()`) or `quar!` (it failed its check).
 * - **W3** After a crash at any instant, every record whose append resolved is still in
 *   `rec!`, `dlq!` or `quar!`: LevelDB applies a batch whole or not at all, and the counters
 *   travel in the same batch. Records acked before the crash stay deleted; those handed out
 *   and not acked are handed out again.
 * - **W4** Every batch carries the counter marks it changes, so opening reads three keys and
 *   one reverse seek (the newest tail mark is the last `rec!` key) and never scans. After an
 *   unclean shutdown one bounded seek checks them (a record exists at or above the floor iff
 *   any is pending); only a mismatch costs one recount.
 * - **W5** Every envelope carries a version byte and a CRC32C. A record that fails them is
 *   moved to quarantine with the reason, counted and logged, and reading goes on. A store
 *   that LevelDB reports corrupt gives `WALSHIP_WAL_CORRUPT`; {@link repairWal} runs LevelDB's
 *   repair, quarantines what fails its check and rebuilds the counters.
 * - **W6** The quota counts held logical bytes (pending + dead letters + quarantine). Appends
 *   that would pass it are refused; `isOverQuota()` is true from the quota until held bytes
 *   drop below the low watermark. The acknowledged prefix is compacted after
 *   `compactAfterBytes` and on close, so disk space really comes back.
 * - **W7** LevelDB's LOCK file makes one owner per directory: a second opener, in this or
 *   another process, gets `WALSHIP_LOCKED` at once (the store is opened explicitly).
 * - **W8** Every WAL has a random walId; records' idempotency keys are `<walId>-<seq>` (their store keys are `rec!<seq>`). New and repaired
 *   WALs, and WALs whose counters were rebuilt, get a new walId.
 *
 * ## The ack floor
 *
 * Acks arrive out of order. The reader tracks handed-out records in sequence order; the floor
 * is the lowest one not yet settled (or the read cursor). It is written with the counters of
 * the batch that settles records, and the reader starts there after a restart, seeking to that
 * exact key, so the tombstones of the acknowledged head are never walked.
 *
 * ## Failures it survives
 *
 * - `kill -9` / process crash: LevelDB replays its log; counters are exact (W3, W4).
 * - Write errors (disk full, I/O): sticky, as in LevelDB itself. Pending and later appends
 *   reject with `WALSHIP_DISK_FULL` / `WALSHIP_WAL_IO`; the WAL reopens the store with backoff
 *   and accepts again once the cause is gone. Handed-out records are handed out again.
 * - A flipped byte in a record: quarantined (W5). In a table file: `WALSHIP_WAL_CORRUPT` on the
 *   read or compaction that meets it; in the MANIFEST: on open. Never a crash or a hang.
 */
export {
  type AppendEntry,
  type AppendResult,
  type Checkpoint,
  type RepairReport,
  type SidelinedRecord,
  type WalCheck,
  type WalState,
  type WalStats,
  repairWal,
  WAL_FORMAT_VERSION,
  WriteAheadLog,
} from './wal.ts';
export type { WalRecord } from './reader.ts';
export type { FixedBatch } from './batches.ts';
export type { RecordMeta } from './envelope.ts';
export type { Counters } from './counters.ts';
export { resolveWalOptions, type ResolvedWalOptions, type SyncPolicy, type WalOptions } from './options.ts';
export {
  type BatchOp,
  classicLevelOpener,
  type Store,
  type StoreIterator,
  type StoreIteratorOptions,
  type StoreOpener,
  type StoreOptions,
} from './store.ts';
