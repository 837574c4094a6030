/**
 * walship's public API: the only module a program imports. See README.md.
 */
export { ErrorCodes, type ErrorCode, isWalshipError, QueueFullError, WalshipError } from './errors.ts';
export * from './model/index.ts';
export {
  type AppendEntry,
  type AppendResult,
  type Checkpoint,
  type RecordMeta,
  type RepairReport,
  repairWal,
  type SidelinedRecord,
  type SyncPolicy,
  type WalCheck,
  type WalOptions,
  type WalRecord,
  type WalState,
  type WalStats,
  WriteAheadLog,
} from './wal/index.ts';
