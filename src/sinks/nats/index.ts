/**
 * # sinks/nats: delivering records into NATS JetStream
 *
 * One {@link NatsClient} implements delivery's `ProtocolClient` over one nats.js connection
 * to a pool of servers (a single server or the members of a cluster). Each WAL record (one
 * LogGroup) becomes one JetStream message; the record counts as delivered when the stream's
 * PubAck for it arrives.
 *
 * ## Wire format
 *
 * | part | value |
 * |---|---|
 * | subject | the `subject` template (default `logs.{project}.{logstore}`) with `{project}`, `{logstore}`, `{configName}`, `{logstoreKey}` from the record's metadata; in a value `.` `*` `>`, whitespace and control characters become `_`, an empty value is `_` |
 * | body, `encoding: 'protobuf'` (default) | the LogGroup protobuf (`sls_logs.LogGroup`) exactly as stored in the WAL |
 * | body, `encoding: 'json'` | a JSON array with one object per log: `{time, timeNs?, contents: {k: v}, tags: {k: v}, source?, topic?, category?, project, logstore}` (the HTTP sink's `json` body for one record) |
 * | `Nats-Msg-Id` | the record's idempotency key `<walId>-<seq>` (D2) |
 * | `Content-Type` | `application/x-protobuf` or `application/json` |
 * | `Nats-Expected-Stream` | `stream.name`, when the `stream` option is set |
 *
 * ## Invariants
 *
 * - **N1** (D1) A record is acknowledged only by its JetStream PubAck (`duplicate: true`
 *   included: the stream holds it already). "Written to the socket", a core-NATS publish or a
 *   reply that is not a PubAck never count. `publishEvents` resolves with exactly the records
 *   whose PubAck did not arrive.
 * - **N2** (D2) Every attempt of a record carries the same `Nats-Msg-Id`, its idempotency key.
 *   JetStream drops a message whose Msg-Id it saw within the stream's duplicate window, so a
 *   redelivery (after a timeout, a lost PubAck, a crash of walship or of a server) is stored
 *   once: effectively-once within the window. Across a cluster leader change too: the
 *   replicas rebuild the Msg-Id table from the replicated messages.
 * - **N3** The window is checked: a stream walship creates gets `duplicateWindowMs` (2 h); an
 *   existing stream (named by `stream`, or found from the first PubAck) whose window is
 *   shorter than `retryHorizonMs` (2 h) gets one warning. A record redelivered after the
 *   window (delivery retries without bound) is stored twice: at-least-once still holds.
 * - **N4** (D3) Errors are classified by their nats.js code (./classify-error.ts has the full
 *   table): a message over the server's `max_payload` (checked against `nc.info` before
 *   sending, headers included) or the stream's `max_msg_size` is `permanent` (dead-lettered
 *   alone); "no responders" on the subject (no stream captures it, or a clustered stream is
 *   between leaders) and a subject of another stream are `config` (retried with a capped
 *   backoff and logged loudly, never dead-lettered); timeouts, disconnects and JetStream's
 *   503s are `retryable`; authentication and permission errors are `retryable` with
 *   `auth: true`.
 * - **N5** nats.js reconnects by itself (`reconnect: true`, `maxReconnectAttempts: -1`,
 *   every `reconnectTimeWaitMs`) across all configured servers and the cluster members the
 *   servers announce. While it reconnects, the client reports `isConnected() === false` and
 *   publishes fail at once as `nats_disconnected`, so the connection mode waits for the
 *   reconnect instead of queueing messages behind it. A connection closed for good is
 *   replaced by the next `connect()`.
 * - **N6** Credentials (password, token, NKey seed, creds file, TLS key) never reach a log
 *   line; a server URL's `user:pass@` is removed from the client's name.
 *
 * ## What a cluster outage looks like
 *
 * With a stream of R replicas, a PubAck needs a quorum (R/2+1) of them. Losing a minority
 * (one of three) costs a leader election of a few seconds: publishes time out or find no
 * responders, are retried under the same Msg-Id, and land once. Losing the majority stalls
 * publishing: nothing is acknowledged, the WAL keeps every record (the backlog costs disk,
 * D4), and delivery resumes when a quorum is back.
 */
export { classifyNatsError, JS_ERR } from './classify-error.ts';
export {
  createNatsClient,
  EXPECTED_STREAM_HEADER,
  MSG_ID_HEADER,
  NATS_CONTENT_TYPES,
  NatsClient,
  type NatsClientStats,
} from './nats-client.ts';
export {
  type NatsAuth,
  type NatsEncoding,
  type NatsSinkOptions,
  type NatsSinkTlsOptions,
  type NatsStreamOptions,
  redactServer,
  type ResolvedNatsSinkOptions,
  type ResolvedNatsStreamOptions,
  resolveNatsSinkOptions,
} from './nats-sink-options.ts';
export { isPublishSubject, sanitizeSubjectToken, SUBJECT_PLACEHOLDERS, type SubjectPlaceholder, SubjectTemplate } from './subject-template.ts';
