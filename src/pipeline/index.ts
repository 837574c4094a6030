/**
 * # The iLogtail plugin model
 *
 * Interfaces that keep the seeds' contracts (Flusher, FlusherV1, FlusherV2, Aggregator,
 * LogGroupQueue, PipelineContext) and the runner that drives one pipeline the way iLogtail
 * does: inputs → aggregator → (every flusher, when all are ready). See ./runner.ts.
 */
export type { Aggregator, LogSource } from './aggregator.ts';
export type { PipelineContext } from './context.ts';
export type { Flusher, FlusherV1, FlusherV2, PipelineGroupEvents } from './flusher.ts';
export { BoundedLogGroupQueue, type LogGroupQueue } from './log-group-queue.ts';
export { type PipelineInput, PipelineRunner, type PipelineRunnerOptions, type PipelineRunnerStats } from './runner.ts';
export { createContext } from './create-context.ts';
