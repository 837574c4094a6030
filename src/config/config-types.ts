import type { DurableFlusherOptions } from '../flusher/index.ts';
import type { InputConfig, InputGroupOptions } from '../inputs/options.ts';
import type { LogLevel } from './plugins.ts';

/** One input, as `createInput` (src/inputs) takes it: `type` and camelCase options. */
export type { InputConfig } from '../inputs/options.ts';

/** How inputs pack LogGroups (the aggregator section), as the inputs' `groups` option. */
export interface AggregatorConfig {
  /** `aggregator_default` or `aggregator_context`. */
  readonly type: 'aggregator_default' | 'aggregator_context';
  readonly groups: InputGroupOptions;
}

/** One flusher: a DurableFlusher's options (its WAL sub-directory resolved) and its name. */
export interface FlusherConfig extends Omit<DurableFlusherOptions, 'logger'> {
  readonly name: string;
}

/** A JSON config, checked, with units converted, `${ENV}` substituted and defaults applied. */
export interface WalshipConfig {
  /** The file it was loaded from, if any (absolute). */
  readonly source: string | undefined;
  readonly configName: string;
  readonly project: string;
  readonly logstore: string;
  readonly stopTimeoutMs: number;
  /** `log_level`, when the config sets it. */
  readonly logLevel: LogLevel | undefined;
  readonly metrics: { readonly port: number; readonly host: string };
  /** The WAL root (absolute); flusher WALs live in sub-directories. */
  readonly walDir: string;
  readonly inputs: readonly InputConfig[];
  readonly aggregator: AggregatorConfig;
  readonly flushers: readonly FlusherConfig[];
}
