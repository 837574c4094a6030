/**
 * Turning an HTTP exchange's outcome into a {@link DeliveryError} (D3), and reading response
 * bodies so that the agent can reuse the connection.
 */
import type { Readable } from 'node:stream';
import { HTTP_ERROR_BODY_SNIPPET_BYTES, HTTP_MAX_DISCARDED_BODY_BYTES } from '../../config/defaults.ts';
import { classifyHttpStatus, DeliveryError, networkFailure, parseRetryAfter } from '../../delivery/delivery-error.ts';

/**
 * Reads a response body to its end, keeping only its first `keep` bytes. Past
 * {@link HTTP_MAX_DISCARDED_BODY_BYTES} the body is destroyed instead (the connection is
 * dropped rather than reading an unbounded body).
 */
export async function readBodySnippet(body: Readable, keep = HTTP_ERROR_BODY_SNIPPET_BYTES): Promise<Buffer> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (keptBytes < keep) {
      const part = chunk.subarray(0, keep - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    if (total > HTTP_MAX_DISCARDED_BODY_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(kept, keptBytes);
}

/** A response body quoted in an error message: UTF-8, control characters replaced, trimmed. */
export function quoteSnippet(snippet: Buffer): string {
  const text = snippet.toString('utf8').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text === '' ? '(empty body)' : JSON.stringify(text);
}

export interface StatusContext {
  /** What was attempted, for the message: `POST http://host/logstores/x/shards/lb`. */
  readonly what: string;
  readonly sls: boolean;
  readonly now?: number;
}

/**
 * The DeliveryError for a non-2xx answer, or undefined for a 2xx (D1: only a 2xx acks).
 * 408, 429, 5xx: retryable (with `Retry-After`); 401, 403: retryable with `auth` (and
 * `Retry-After`, when sent); 404 on
 * SLS (no such project or logstore): `config`; any other status: permanent.
 */
export function statusError(
  status: number,
  retryAfter: string | string[] | undefined,
  snippet: Buffer,
  ctx: StatusContext,
): DeliveryError | undefined {
  const kind = classifyHttpStatus(status);
  if (kind === 'ok') return undefined;
  const reason = `http_${status}`;
  const message = `${ctx.what}: HTTP ${status}: ${quoteSnippet(snippet)}`;
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  if (status === 401 || status === 403) {
    // A gateway rate-limiting by credentials may say when to come back: honoured as for 429.
    const retryAfterMs = parseRetryAfter(header, ctx.now);
    return new DeliveryError(`${message} (check the credentials)`, { kind: 'retryable', reason, statusCode: status, auth: true, retryAfterMs });
  }
  if (kind === 'retryable') {
    const retryAfterMs = parseRetryAfter(header, ctx.now);
    return new DeliveryError(message, { kind, reason, statusCode: status, retryAfterMs });
  }
  if (status === 404 && ctx.sls) {
    return new DeliveryError(`${message} (no such project or logstore)`, { kind: 'config', reason, statusCode: status });
  }
  return new DeliveryError(message, { kind: 'permanent', reason, statusCode: status });
}

export interface FailureContext {
  readonly what: string;
  /** The request's own deadline fired. */
  readonly timedOut: boolean;
  readonly timeoutMs: number;
  /** The caller's signal fired. */
  readonly aborted: boolean;
}

/** The (always retryable) DeliveryError for a request that got no HTTP answer. */
export function transportError(err: unknown, ctx: FailureContext): DeliveryError {
  if (err instanceof DeliveryError) return err;
  // Node wraps an abort's reason: a DeliveryError given as the reason (the client closing) is the answer.
  const cause = (err as { name?: unknown; cause?: unknown } | null)?.cause;
  if ((err as { name?: unknown } | null)?.name === 'AbortError' && cause instanceof DeliveryError) return cause;
  if (ctx.timedOut) {
    return new DeliveryError(`${ctx.what}: no complete answer within ${ctx.timeoutMs} ms`, {
      kind: 'retryable',
      reason: 'timeout',
      cause: err,
    });
  }
  if (ctx.aborted) {
    return new DeliveryError(`${ctx.what}: aborted by the caller`, { kind: 'retryable', reason: 'aborted', cause: err });
  }
  return networkFailure(err, ctx.what);
}
