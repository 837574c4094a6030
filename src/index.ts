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
export {
  type ConnectionMode,
  type ConnectionModeName,
  type ConnectionModeOptions,
  DeliveryError,
  type DeliveryBatch,
  type DeliveryFailureKind,
  DeliveryManager,
  type DeliveryManagerOptions,
  type DeliveryRecord,
  type DeliveryStats,
  FailOverConnectionMode,
  LoadBalancerMode,
  makeClients,
  type ProtocolClient,
  SingleConnectionMode,
} from './delivery/index.ts';
export { createHttpClient, HttpClient, type HttpEncoding, type HttpSinkOptions } from './sinks/http/index.ts';
export { createRedisClient, RedisClient, type RedisSinkOptions } from './sinks/redis/index.ts';
export { createFileClient, FileClient, type FileSinkOptions } from './sinks/file/index.ts';
export { createStdoutClient, StdoutClient, type StdoutFormat, type StdoutSinkOptions } from './sinks/stdout/index.ts';
export { type Receiver, type ReceiverOptions, startReceiver } from './receiver/index.ts';
export {
  type Aggregator,
  BoundedLogGroupQueue,
  createContext,
  type Flusher,
  type FlusherV1,
  type FlusherV2,
  type LogGroupQueue,
  type LogSource,
  type PipelineContext,
  type PipelineGroupEvents,
  type PipelineInput,
  PipelineRunner,
  type PipelineRunnerOptions,
} from './pipeline/index.ts';
export { ContextAggregator, DefaultAggregator } from './aggregators/index.ts';
export { createFlusher, DurableFlusher, type DurableFlusherOptions, type DurableGroup, type WhenFull } from './flusher/index.ts';
export {
  createInput,
  type FileInputConfig,
  type Input,
  type InputConfig,
  type InputContext,
  type InputStats,
  type StdinInputConfig,
} from './inputs/index.ts';
export { registerSink, type SinkConfig, type SinkPlan } from './sinks/registry.ts';
export { type ConfigProblem, loadConfig, parseConfig, type WalshipConfig } from './config/index.ts';
