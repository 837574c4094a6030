/**
 * Every error walship raises on purpose is a {@link WalshipError} with a stable string `code`
 * and, where one exists, the underlying `cause`. Argument mistakes made by the programmer
 * (a wrong type passed to a function) are plain `TypeError`s, as in abstract-level.
 *
 * The README's "Errors" section lists every code and what the user should do about it; keep
 * the two in step.
 */

export const ErrorCodes = {
  /** A LogGroup (or a field in it) is not valid: names the field. */
  INVALID_LOG_GROUP: 'WALSHIP_INVALID_LOG_GROUP',
  /** An option has the wrong type, is out of range, or conflicts with another. */
  INVALID_OPTIONS: 'WALSHIP_INVALID_OPTIONS',
  /** The JSON config is not valid: `details.problems` lists every `{path, expected, got}`. */
  INVALID_CONFIG: 'WALSHIP_INVALID_CONFIG',
  /** Another process (or another instance in this one) owns the WAL directory. */
  LOCKED: 'WALSHIP_LOCKED',
  /** The WAL is at its byte quota; the append was not accepted. */
  QUOTA_EXCEEDED: 'WALSHIP_QUOTA_EXCEEDED',
  /** One record is larger than the WAL could ever hold. */
  RECORD_TOO_LARGE: 'WALSHIP_RECORD_TOO_LARGE',
  /** The disk is full: the WAL stopped accepting and recovers once space returns. */
  DISK_FULL: 'WALSHIP_DISK_FULL',
  /** LevelDB reported an I/O error: the WAL stopped accepting and recovers by reopening. */
  WAL_IO: 'WALSHIP_WAL_IO',
  /** The LevelDB store is damaged: run `repair`. */
  WAL_CORRUPT: 'WALSHIP_WAL_CORRUPT',
  /** The WAL was written by a newer walship (or is not a walship WAL at all). */
  WAL_FORMAT: 'WALSHIP_WAL_FORMAT',
  /** The WAL, flusher or queue is closed (or closing). */
  CLOSED: 'WALSHIP_CLOSED',
  /** A call was made in a state that does not allow it (e.g. before open). */
  NOT_OPEN: 'WALSHIP_NOT_OPEN',
  /** A LogGroupQueue is full. */
  QUEUE_FULL: 'WALSHIP_QUEUE_FULL',
  /** A connection mode was created without any client. */
  NO_CONNECTION: 'WALSHIP_NO_CONNECTION',
  /** A connection mode was configured without hosts. */
  NO_HOSTS: 'WALSHIP_NO_HOSTS',
  /** A delivery attempt failed in a way that trying again can fix (network, 5xx, 429...). */
  DELIVERY_FAILED: 'WALSHIP_DELIVERY_FAILED',
  /** The destination rejected a record for good (a 4xx, an invalid message): dead-lettered. */
  DELIVERY_REJECTED: 'WALSHIP_DELIVERY_REJECTED',
  /** The destination does not exist (no such stream or logstore): retried, logged loudly. */
  DELIVERY_MISCONFIGURED: 'WALSHIP_DELIVERY_MISCONFIGURED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface WalshipErrorOptions {
  readonly cause?: unknown;
  /** Extra facts that help the user (a path, a pid, a field name); shown by `inspect`. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class WalshipError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: WalshipErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WalshipError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** Thrown by `LogGroupQueue.add` when the queue is full (iLogtail's `Add` returning an error). */
export class QueueFullError extends WalshipError {
  constructor(message = 'the LogGroup queue is full') {
    super(ErrorCodes.QUEUE_FULL, message);
    this.name = 'QueueFullError';
  }
}

/** True when `err` is a WalshipError with the given code. */
export function isWalshipError(err: unknown, code?: ErrorCode): err is WalshipError {
  return err instanceof WalshipError && (code === undefined || err.code === code);
}
