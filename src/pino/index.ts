/**
 * # pino: ship any pino logger's logs durably through walship
 *
 * ```js
 * import { pino } from 'pino';
 * const logger = pino(pino.transport({
 *   target: 'walship/pino',
 *   options: { dir: './data/pino-wal', sink: { type: 'http', url: 'https://logs.example/ingest', encoding: 'ndjson' } },
 * }));
 * ```
 *
 * pino runs the transport (./transport.ts) in a worker thread. Each JSON line becomes a Log
 * (./pino-log.ts), lines are packed into LogGroups and appended to the WAL in small batches,
 * fsynced (`sync: 'always'`), and delivered at least once in the background.
 *
 * ```
 * logger.info() ─► pino's ring buffer (4 MiB, shared memory) ─► worker: WalshipPinoStream
 *     ─► appendDurable (fsync) ─► WAL ─► delivery ─► sink
 * ```
 *
 * ## What survives a `kill -9` of the program
 *
 * - **P1** Every line the transport made durable (its append to the WAL resolved) survives
 *   and is delivered after the next start of a transport or a flusher on the same `dir`
 *   (W3). `logger.flush(cb)` calls back only after every line logged before it is durable:
 *   a program that needs a line to survive a crash calls `flush` and waits for the callback.
 * - **P2** Lines still in pino's ring buffer, or in the stream's buffer while an append is in
 *   progress (a batch: at most `maxBatchLogs` plus what arrives during one fsync), may be
 *   lost: they were never durable. The window is one fsync long under load, about zero for an
 *   idle logger.
 * - **P3** A line is durable once; a delivery interrupted by the kill is retried with the
 *   same idempotency key, so a deduplicating sink sees it once (D2).
 * - **P4** Closing (pino ends the stream at normal process exit, or `logger.flush` then
 *   `transport.end()`) ships a last line without a newline, delivers for up to
 *   `stopTimeoutMs` (2 s by default; pino waits at most 10 s), and closes the WAL. What was
 *   not delivered stays in the WAL for the next run.
 *
 * Backpressure: while the WAL is over its quota (`whenFull: 'block'`), appends wait; the
 * stream's buffer fills, the worker stops draining pino's ring buffer, and then pino itself
 * buffers in the program's memory (pino's behaviour for a slow transport). Nothing is dropped
 * by walship.
 */
export { default, WalshipPinoStream } from './transport.ts';
export type { PinoTransportOptions } from './pino-transport-options.ts';
export { resolvePinoTransportOptions } from './pino-transport-options.ts';
export { pinoLineToLog, MAX_FLATTEN_DEPTH } from './pino-log.ts';
