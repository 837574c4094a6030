/**
 * # receiver: a real HTTP(S) receiver for tests, the demo and the crash harness
 *
 * `startReceiver(options)` listens on 127.0.0.1 (a free port by default) and accepts what the
 * HTTP sink (`src/sinks/http`) sends:
 *
 * - `POST …/logstores/{logstore}/shards/lb` with `Content-Type: application/x-protobuf`: one
 *   `sls_logs.LogGroup`, decompressed per `x-log-compresstype` (`lz4`: a raw LZ4 block;
 *   `deflate`: zlib; absent or `none`) and checked against `x-log-bodyrawsize`;
 * - `POST` to any other path: a JSON array (`application/json`) or NDJSON lines
 *   (`application/x-ndjson`) of `{time, timeNs?, contents, tags, source?, topic?, category?,
 *   project, logstore}`;
 * - `Content-Encoding: gzip` on any of them. `HEAD` of any path answers 200 (the sink's
 *   connect probe); `GET /stats` answers the counters as JSON.
 *
 * ## Guarantees
 *
 * - **R1** A 2xx is sent only after the request's logs are stored (in memory, and appended to
 *   `out` when set): what the sender saw acknowledged, the receiver has.
 * - **R2** Deduplication on `X-Walship-Idempotency-Key`: a key whose request was stored is
 *   answered 200 again and counted as a duplicate (its logs as duplicate logs), never stored
 *   twice. A duplicate that arrives while its original is being stored waits for it. The
 *   window is the receiver's memory (its lifetime); requests without a key are never
 *   deduplicated.
 * - **R3** A faulted request (fail, reset, 429, reject, dropped by an outage) is neither
 *   counted as accepted nor stored; `latencyMs` only delays (the request is still stored,
 *   even if its client gave up meanwhile, as a real server would).
 * - **R4** Fault decisions come from a PRNG seeded by `seed`, four draws per POST in a fixed
 *   order, so the same seed and the same request order replay the same faults.
 * - **R5** `outage(ms)` closes the listening socket and every connection at once (clients get
 *   ECONNREFUSED), drops requests in progress, and listens again on the same port after `ms`.
 *
 * ## The fast path
 *
 * With `keepLogs: false`, no `out` and no `rejectWhen`, nothing needs the logs themselves, so
 * a request's logs are counted instead of built (`countRequest` in ./decode-request.ts): the
 * `Logs` entries of an SLS LogGroup from its top-level framing, the object lines of NDJSON,
 * the elements of a JSON array (parsed and checked, not copied). Counters, deduplication and
 * faults are the same as on the full path (R1–R5); a body whose framing the counter is not
 * sure of is decoded fully, so it is refused or counted as before. The one difference: an SLS
 * log's or an NDJSON line's own fields are not checked (a log without `Time` still counts).
 */
export { Receiver, startReceiver } from './receiver.ts';
export type { ReceivedRequest, ReceiverFaultCounts, ReceiverStats, RequestOutcome } from './receiver.ts';
export {
  type ReceiverFaults,
  type ReceiverOptions,
  type ResolvedReceiverFaults,
  resolveReceiverOptions,
} from './receiver-options.ts';
export type { ReceivedEncoding, ReceivedLog } from './received-log.ts';
