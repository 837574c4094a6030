import type { Logger } from '../logging/logger.ts';

/**
 * What a plugin sees of its pipeline (iLogtail's `pipeline.Context`): names, a logger, and
 * checkpoints kept durably (in the WAL's LevelDB, committed with the data they cover).
 */
export interface PipelineContext {
  readonly configName: string;
  readonly project: string;
  readonly logstore: string;
  /** A pino child logger for the plugin. */
  readonly logger: Logger;
  /** Stores a checkpoint (an input's offset, ...) durably. */
  saveCheckpoint(key: string, value: Uint8Array | string): Promise<void>;
  getCheckpoint(key: string): Promise<Buffer | undefined>;
}
