/**
 * # The durable flusher
 *
 * iLogtail's Flusher (V1 `flush`, V2 `export`) in front of walship's WAL and delivery
 * manager: a pipeline hands LogGroups over; they are durable when `flush` resolves; they are
 * delivered at least once, in the background, to the configured sink.
 *
 * ```
 * runner ──isReady?──► DurableFlusher.flush ──append (fsync)──► WAL ──► DeliveryManager ──► sink
 * ```
 *
 * ## Guarantees
 *
 * - **F1** `flush` resolves only when every group it was given is durable in the WAL (W1);
 *   the groups of one call are appended in one atomic batch. A bad group rejects the whole
 *   call with `WALSHIP_INVALID_LOG_GROUP` before anything is written.
 * - **F2** `isReady` is false from the WAL's quota (or its free-space floor) until it drains
 *   below the low watermark. After `setUrgent(true)` the emergency reserve (5% above the
 *   quota) counts as room, so a graceful stop takes what is still coming.
 * - **F3** Over the quota, `flush` waits for room (`whenFull: 'block'`, the default) or
 *   rejects with `WALSHIP_QUOTA_EXCEEDED` (`'reject'`). It never drops data.
 * - **F4** `stop` stops accepting (later calls reject with `WALSHIP_CLOSED`), lets accepted
 *   flushes land, delivers until `stopTimeoutMs`, then closes the WAL, which compacts what was
 *   acknowledged. What was not delivered stays in the WAL and is delivered after the next
 *   `init`. `stop` is idempotent.
 * - **F5** `appendDurable(groups, checkpoints)` (the inputs' path) writes the groups and an
 *   input's checkpoints in one atomic WAL batch and resolves once both are durable; it waits
 *   for room like `flush` (F3). `getCheckpoint(key)` reads one back.
 */
export { createFlusher } from './create-flusher.ts';
export { DurableFlusher, type DurableFlusherOptions, type DurableGroup, type WhenFull } from './durable-flusher.ts';
export { fanOut, type FanOutOptions } from './fan-out.ts';
