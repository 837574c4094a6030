/**
 * File system failures as DeliveryErrors (D3), by `errno` code:
 *
 * | code | kind | why |
 * |---|---|---|
 * | `ENOTDIR`, `EISDIR`, `EINVAL`, `ENAMETOOLONG`, `ELOOP` | permanent | the path can never be a writable file |
 * | `ENOSPC`, `EDQUOT`, `EIO`, `EMFILE`, `ENFILE`, `EAGAIN`, `EBUSY`, `EROFS` | retryable | space, descriptors and mounts come back |
 * | `EACCES`, `EPERM` | retryable, `auth: true` (logged as a warning on every attempt) | permissions get fixed; the records wait in the WAL |
 * | `ENOENT` (a directory vanished while the sink created it) | config | retried with a capped backoff, logged loudly |
 * | anything else | retryable | never dropped |
 */
import { DeliveryError } from '../../delivery/delivery-error.ts';

const PERMANENT = new Set(['ENOTDIR', 'EISDIR', 'EINVAL', 'ENAMETOOLONG', 'ELOOP']);
const AUTH = new Set(['EACCES', 'EPERM']);
const CONFIG = new Set(['ENOENT']);

export function fileError(err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'error';
  const message = `${what}: ${typeof e?.message === 'string' ? e.message : String(err)}`;
  const reason = code.toLowerCase();
  if (PERMANENT.has(code)) return new DeliveryError(message, { kind: 'permanent', reason, cause: err });
  if (AUTH.has(code)) return new DeliveryError(message, { kind: 'retryable', reason, auth: true, cause: err });
  if (CONFIG.has(code)) return new DeliveryError(message, { kind: 'config', reason, cause: err });
  return new DeliveryError(message, { kind: 'retryable', reason, cause: err });
}
