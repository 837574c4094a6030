/**
 * # Delivery: from the WAL to a destination, at least once
 *
 * The {@link DeliveryManager} reads the WAL in order, cuts records into batches, hands them
 * to a {@link ConnectionMode}, and settles each record in the WAL only on the destination's
 * answer: ack → deleted; permanent rejection → dead-letter space; anything else → retried.
 *
 * ```
 * WAL.nextBatch ─► batch (fixed composition, key) ─► mode.publish ─► ProtocolClient ─► sink
 *      ▲                                                   │
 *      └── ack / deadLetter ◄── p-retry (full jitter, Retry-After) ◄── DeliveryError
 * ```
 *
 * ## Invariants
 *
 * - **D1** At-least-once: a record is acked in the WAL only after the destination's own
 *   acknowledgement (a 2xx, a PubAck, a Redis reply, a completed fsync) — never after
 *   "written to the socket". On a partial publish only the published records are acked.
 * - **D2** Every attempt of a batch carries the same idempotency key: `<walId>-<seq>` for a
 *   batch of one record, `<walId>-<firstSeq>-<lastSeq>` otherwise. A batch's composition is
 *   fixed when it is cut; only a partial publish (the rest) or a split (halves) makes new,
 *   equally deterministic batches.
 * - **D3** Retryable failures (network, timeouts, 408, 429, 5xx, 401/403 with a warning) back
 *   off exponentially with full jitter from `retryMinDelayMs` to `retryMaxDelayMs`, and wait
 *   at least a `Retry-After`; attempts are unbounded. A permanent failure splits a
 *   multi-record batch in halves until the record at fault is alone, and only that record is
 *   dead-lettered. A missing destination (`config`) is retried with a capped backoff and
 *   logged at error level (at most every 30 s per reason), never dead-lettered.
 * - **D4** Memory is bounded: the WAL's read-ahead window plus the in-flight window
 *   (`inFlightBatches`, `inFlightBytes`; doubled in urgent mode). A backlog costs disk only.
 * - **D5** With `ordered: true`, records with the same logstoreKey have at most one batch in
 *   flight, so they are delivered in WAL order; a record that keeps failing blocks its key,
 *   a dead-lettered one lets the next pass.
 *
 * ## Who retries what
 *
 * The connection modes own connecting: a disconnected client is reconnected with the seed's
 * backoff (`waitRetryMs` doubling to `maxWaitRetryMs`); `maxAttempts` (0 = never) bounds the
 * connects (single, failover) or hosts (load balance) tried for one publish before the batch
 * is handed back. The manager owns retrying a batch. Where libbeat drops a batch after
 * `maxAttempts`, walship does not: the batch is retried, and its records never leave the WAL
 * without an ack or a dead-letter entry with its reason, a counter and a log line.
 *
 * ## Stopping
 *
 * `stop(timeoutMs)` keeps delivering until nothing is pending or the deadline, then stops
 * reading, aborts what is still in flight (its records stay in the WAL, delivered after the
 * next start, with the same keys) and closes the mode.
 */
export { Backoff, sleep } from './backoff.ts';
export {
  type ConnectionMode,
  type ConnectionModeName,
  type ConnectionModeOptions,
  type EndpointState,
  makeClients,
  resolveConnectionModeOptions,
} from './connection-mode.ts';
export {
  classifyHttpStatus,
  DeliveryError,
  type DeliveryErrorOptions,
  type DeliveryFailureKind,
  networkFailure,
  parseRetryAfter,
} from './delivery-error.ts';
export {
  DeliveryManager,
  type DeliveryManagerOptions,
  type DeliverySource,
  type DeliveryStats,
} from './delivery-manager.ts';
export { FailOverConnectionMode } from './modes/failover.ts';
export { LoadBalancerMode } from './modes/load-balance.ts';
export { SingleConnectionMode } from './modes/single.ts';
export {
  batchKey,
  type DeliveryBatch,
  type DeliveryRecord,
  type ProtocolClient,
  type ProtocolClientFactory,
} from './protocol-client.ts';
