/**
 * Every failure nats.js can report on a JetStream publish, mapped to a {@link DeliveryError}
 * kind (D3). nats.js throws `NatsError`s whose `code` is an `ErrorCode` string; a JetStream
 * API error (a PubAck carrying `error`) also has `api_error: {code, err_code, description}`.
 *
 * | what nats.js reports | kind | reason |
 * |---|---|---|
 * | `503` without `api_error` (no responders: nothing listens on the subject: no stream captures it, JetStream is off, or a clustered stream is between leaders) | config | `nats_no_stream` |
 * | `MAX_PAYLOAD_EXCEEDED` (message over the server's `max_payload`) | permanent | `nats_max_payload` |
 * | PubAck error 10054 (over the stream's `max_msg_size`) | permanent | `nats_max_msg_size` |
 * | PubAck error 10060 (the subject belongs to another stream than `stream.name`) | config | `nats_wrong_stream` |
 * | `JESTREAM_INVALID_ACK` (something that is not JetStream answered on the subject) | config | `nats_invalid_ack` |
 * | `BAD_SUBJECT`, `BAD_HEADER`, `BAD_PAYLOAD`, `INVALID_PAYLOAD` (this message can never be sent) | permanent | `nats_bad_message` |
 * | other PubAck errors with a 4xx code (e.g. a stream limit with discard `new`) | retryable | `nats_api_<code>_<err_code>` |
 * | PubAck `503` (JetStream temporarily unavailable, no quorum) and other 5xx | retryable | `nats_api_503_<err_code>` |
 * | `TIMEOUT` (no PubAck in `timeoutMs`: a lost leader, a slow replica, a dead connection) | retryable | `timeout` |
 * | `DISCONNECT`, `CONNECTION_CLOSED`, `CONNECTION_DRAINING`, `CONNECTION_REFUSED`, `CONNECTION_TIMEOUT`, `STALE_CONNECTION`, `CANCELLED`, `REQUEST_ERROR` | retryable | `nats_` + lower-cased code |
 * | `AUTHORIZATION_VIOLATION`, `AUTHENTICATION_EXPIRED`, `AUTHENTICATION_TIMEOUT`, `ACCOUNT_EXPIRED`, `BAD_AUTHENTICATION`, `BAD_CREDS`, `PERMISSIONS_VIOLATION` | retryable, `auth: true` (credentials rotate; logged as a warning) | `nats_` + lower-cased code |
 * | `TLS`, `NATS_PROTOCOL_ERR`, `SERVER_OPT_NA`, any other NatsError | retryable | `nats_` + lower-cased code |
 * | an error from Node itself (a certificate the CA does not sign: `DEPTH_ZERO_SELF_SIGNED_CERT`, `ECONNRESET`, ...) | retryable | its lower-cased code |
 *
 * A 4xx PubAck error is retryable unless listed as permanent above: most of them describe the
 * stream's state (full, sealed, a wrong expectation) rather than the message.
 */
import { DeliveryError } from '../../delivery/delivery-error.ts';

/** The shape of a nats.js `NatsError` this module reads. */
interface NatsErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly api_error?: { readonly code?: number; readonly err_code?: number; readonly description?: string };
}

/** JetStream `err_code`s with a meaning of their own here (nats-server `errors.json`). */
export const JS_ERR = {
  /** JSStreamMessageExceedsMaximumErr: "message size exceeds maximum allowed". */
  MESSAGE_EXCEEDS_MAXIMUM: 10054,
  /** JSStreamNotMatchErr: "expected stream does not match". */
  STREAM_NOT_MATCH: 10060,
} as const;

const PERMANENT_CODES = new Set(['BAD_SUBJECT', 'BAD_HEADER', 'BAD_PAYLOAD', 'INVALID_PAYLOAD']);
const AUTH_CODES = new Set([
  'AUTHORIZATION_VIOLATION',
  'AUTHENTICATION_EXPIRED',
  'AUTHENTICATION_TIMEOUT',
  'ACCOUNT_EXPIRED',
  'BAD_AUTHENTICATION',
  'BAD_CREDS',
  'PERMISSIONS_VIOLATION',
]);

function reasonOf(code: string): string {
  return `nats_${code.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
}

/** Maps what nats.js threw for a publish (or a connect) to a DeliveryError. `what` starts the message. */
export function classifyNatsError(err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = (err ?? {}) as NatsErrorLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const text = typeof e.message === 'string' ? e.message : String(err);
  const api = e.api_error;
  const fail = (kind: DeliveryError['kind'], reason: string, extra: { auth?: boolean; statusCode?: number } = {}): DeliveryError =>
    new DeliveryError(`${what}: ${text}`, { kind, reason, cause: err, ...extra });

  if (api !== undefined) {
    // The stream answered, with an error instead of a PubAck.
    const status = typeof api.code === 'number' ? api.code : 0;
    const errCode = typeof api.err_code === 'number' ? api.err_code : 0;
    if (errCode === JS_ERR.MESSAGE_EXCEEDS_MAXIMUM) return fail('permanent', 'nats_max_msg_size', { statusCode: status });
    if (errCode === JS_ERR.STREAM_NOT_MATCH) return fail('config', 'nats_wrong_stream', { statusCode: status });
    return fail('retryable', `nats_api_${status}_${errCode}`, { statusCode: status });
  }
  switch (code) {
    case '503':
      // nats.js reports "no responders" as code 503 (ErrorCode.NoResponders).
      return fail('config', 'nats_no_stream');
    case 'MAX_PAYLOAD_EXCEEDED':
      return fail('permanent', 'nats_max_payload');
    case 'JESTREAM_INVALID_ACK':
      return fail('config', 'nats_invalid_ack');
    case 'TIMEOUT':
      return fail('retryable', 'timeout');
  }
  if (PERMANENT_CODES.has(code)) return fail('permanent', 'nats_bad_message');
  if (AUTH_CODES.has(code)) return fail('retryable', reasonOf(code), { auth: true });
  // Not a NatsError: a socket or TLS error from Node (ECONNRESET, DEPTH_ZERO_SELF_SIGNED_CERT,
  // ...) or something unexpected: retryable, named by its own code.
  if ((err as { name?: unknown } | null)?.name !== 'NatsError') return fail('retryable', code === '' ? 'nats_error' : code.toLowerCase());
  return fail('retryable', code === '' ? 'nats_error' : reasonOf(code));
}
