import { ErrorCodes, WalshipError } from '../errors.ts';

/**
 * How a failed delivery attempt should be handled (D3):
 * - `retryable`: connection errors, timeouts, 408, 429, 5xx, and 401/403 (credentials rotate,
 *   so they retry, with a loud warning). Backoff with jitter, `retryAfterMs` honoured.
 * - `permanent`: the destination says this request can never succeed (other 4xx, a sink's
 *   "invalid message"). A multi-record batch is split to isolate the record at fault; that
 *   one goes to the dead-letter queue.
 * - `config`: the destination is missing (no such stream, no such logstore). Retried with a
 *   capped backoff and logged loudly; never dead-lettered.
 */
export type DeliveryFailureKind = 'retryable' | 'permanent' | 'config';

export interface DeliveryErrorOptions {
  readonly kind: DeliveryFailureKind;
  /** A short, stable label for metrics: `http_503`, `timeout`, `econnrefused`, `nats_no_stream`. */
  readonly reason: string;
  readonly retryAfterMs?: number;
  readonly statusCode?: number;
  /** True for 401/403: retried, but logged as a warning every time. */
  readonly auth?: boolean;
  readonly cause?: unknown;
}

export class DeliveryError extends WalshipError {
  readonly kind: DeliveryFailureKind;
  readonly reason: string;
  readonly retryAfterMs: number | undefined;
  readonly statusCode: number | undefined;
  readonly auth: boolean;

  constructor(message: string, options: DeliveryErrorOptions) {
    const code =
      options.kind === 'permanent'
        ? ErrorCodes.DELIVERY_REJECTED
        : options.kind === 'config'
          ? ErrorCodes.DELIVERY_MISCONFIGURED
          : ErrorCodes.DELIVERY_FAILED;
    super(code, message, {
      cause: options.cause,
      details: { reason: options.reason, statusCode: options.statusCode, retryAfterMs: options.retryAfterMs },
    });
    this.name = 'DeliveryError';
    this.kind = options.kind;
    this.reason = options.reason;
    this.retryAfterMs = options.retryAfterMs;
    this.statusCode = options.statusCode;
    this.auth = options.auth ?? false;
  }
}

/** Network-level failures (refused, reset, timeout, DNS) are always retryable. */
export function networkFailure(err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { code?: string; name?: string; message?: string };
  const code = e?.code ?? e?.name ?? 'error';
  return new DeliveryError(`${what}: ${e?.message ?? String(err)}`, {
    kind: 'retryable',
    reason: String(code).toLowerCase().replace(/^und_err_/, ''),
    cause: err,
  });
}

/** Classifies an HTTP status per D3. */
export function classifyHttpStatus(status: number): DeliveryFailureKind | 'ok' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 429 || status >= 500) return 'retryable';
  if (status === 401 || status === 403) return 'retryable';
  return 'permanent';
}

/** Parses a Retry-After header (delta-seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
