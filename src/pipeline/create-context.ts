import { defaultLogger, type Logger } from '../logging/logger.ts';
import type { PipelineContext } from './context.ts';

/**
 * A PipelineContext. Checkpoints are kept in memory unless `checkpoints` stores them (the
 * durable flusher's WAL does: `saveCheckpoint` commits with the data, see the flusher).
 */
export function createContext(options: {
  readonly configName: string;
  readonly project?: string;
  readonly logstore?: string;
  readonly logger?: Logger;
  readonly checkpoints?: Pick<PipelineContext, 'saveCheckpoint' | 'getCheckpoint'>;
}): PipelineContext {
  const memory = new Map<string, Buffer>();
  return {
    configName: options.configName,
    project: options.project ?? '',
    logstore: options.logstore ?? options.configName,
    logger: (options.logger ?? defaultLogger()).child({ config: options.configName }),
    saveCheckpoint:
      options.checkpoints?.saveCheckpoint ??
      (async (key, value) => {
        memory.set(key, Buffer.from(value));
      }),
    getCheckpoint: options.checkpoints?.getCheckpoint ?? (async (key) => memory.get(key)),
  };
}
