/**
 * Sinks by name. A sink type turns its config into ProtocolClients (one per host and worker)
 * and says how delivery should batch for it. The library uses short names (`http`); the JSON
 * config's iLogtail names (`flusher_http`) map onto them in the config loader.
 */
import type { ProtocolClient } from '../delivery/index.ts';
import { ErrorCodes, WalshipError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';

/** A sink's config: `type` picks the sink, the rest is the sink's own options. */
export interface SinkConfig {
  readonly type: string;
  readonly [option: string]: unknown;
}

export interface SinkPlan {
  /** One client per host (and per worker for load balancing). */
  readonly clients: ProtocolClient[];
  /** Records per delivery batch this sink wants (1 for one-record-per-request protocols). */
  readonly batchMaxRecords?: number;
  /** The connection mode to use when the config names none. */
  readonly defaultMode: 'single' | 'failover' | 'loadbalance';
}

export type SinkFactory = (config: SinkConfig, logger: Logger) => SinkPlan;

const registry = new Map<string, SinkFactory>();

/** Registers a sink type (e.g. `http`). A second registration of a name replaces the first. */
export function registerSink(type: string, factory: SinkFactory): void {
  registry.set(type, factory);
}

export function sinkTypes(): string[] {
  return [...registry.keys()].sort();
}

/** `flusher_http` (iLogtail's plugin name, used by the JSON config) is the sink `http`. */
export function sinkTypeName(type: string): string {
  return type.startsWith('flusher_') ? type.slice('flusher_'.length) : type;
}

export function planSink(config: SinkConfig, logger: Logger): SinkPlan {
  if (config === null || typeof config !== 'object' || typeof config.type !== 'string') {
    throw new WalshipError(ErrorCodes.INVALID_OPTIONS, `Expected \`sink\` to be an object with a string \`type\`, got ${JSON.stringify(config)}`);
  }
  const factory = registry.get(sinkTypeName(config.type));
  if (factory === undefined) {
    throw new WalshipError(
      ErrorCodes.INVALID_OPTIONS,
      `Expected \`sink.type\` to be one of ${sinkTypes().map((t) => `'${t}'`).join(', ')}, got '${config.type}'`,
    );
  }
  return factory(config, logger);
}
