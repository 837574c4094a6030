import { registerSink, type SinkConfig } from '../registry.ts';
import { createRedisClient } from './redis-client.ts';
import type { RedisSinkOptions } from './redis-sink-options.ts';

/**
 * `{ type: 'redis', url | host/port, keyTemplate, entryPer, ... }`: one RedisClient, in mode
 * `single` (records are appended one script call each; batching only groups them per call of
 * `publishEvents`).
 */
registerSink('redis', (config: SinkConfig, logger) => {
  const { type: _type, ...rest } = config;
  return {
    clients: [createRedisClient({ ...(rest as RedisSinkOptions), logger })],
    defaultMode: 'single',
  };
});
