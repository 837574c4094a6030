import { DEFAULT_NATS_BATCH_MAX_RECORDS } from '../../config/defaults.ts';
import { registerSink, type SinkConfig } from '../registry.ts';
import { createNatsClient } from './nats-client.ts';
import type { NatsSinkOptions } from './nats-sink-options.ts';

/**
 * `{ type: 'nats', servers: 'nats://host:4222' | [url, ...], subject, stream, ... }` (and
 * `flusher_nats`): **one** NatsClient over all the servers. The servers of a NATS cluster are
 * one destination, not several: nats.js keeps one connection and moves it to another server
 * when one goes away, and JetStream replicates the stream, so the default mode is `single`.
 * (Several clients in `loadbalance` would only add connections to the same stream.)
 *
 * Batches of up to 32 records ({@link DEFAULT_NATS_BATCH_MAX_RECORDS}): each record is its
 * own message with its own Msg-Id, published concurrently, so a batch is only the unit of
 * pipelining; the delivery manager's in-flight window (16 batches) then allows 512 PubAcks
 * outstanding, and one stored batch composition covers 32 records.
 */
registerSink('nats', (config: SinkConfig, logger) => {
  const { type: _type, ...rest } = config;
  return {
    clients: [createNatsClient({ ...(rest as NatsSinkOptions), logger })],
    batchMaxRecords: DEFAULT_NATS_BATCH_MAX_RECORDS,
    defaultMode: 'single',
  };
});
