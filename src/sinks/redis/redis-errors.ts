/**
 * Redis failures as DeliveryErrors (D3). An error reply starts with a code (`WRONGTYPE …`,
 * `OOM …`); an error raised inside the append script carries that code too, first in Redis 7
 * (`WRONGTYPE … script: …`) and after the script location in Redis 6
 * (`ERR Error running script (call to f_…): @user_script:7: WRONGTYPE …`).
 *
 * | reply | kind | reason |
 * |---|---|---|
 * | `WRONGTYPE` (the key holds another type) | permanent | `redis_wrongtype` |
 * | `NOAUTH`, `WRONGPASS`, `NOPERM` | retryable, `auth: true` (credentials and ACLs change) | `redis_noauth` … |
 * | `OOM`, `LOADING`, `BUSY`, `READONLY`, `MASTERDOWN`, `CLUSTERDOWN`, `TRYAGAIN`, `ASK`, `NOREPLICAS`, `MISCONF` | retryable | `redis_oom` … |
 * | `MOVED` (a cluster node that does not own the key's slot) | config | `redis_moved` |
 * | `CROSSSLOT` (keys in different slots; cannot happen with walship's marker keys) | config | `redis_crossslot` |
 * | any other error reply, among them `ERR` from the script itself | config | `redis_err` … |
 * | no reply: refused, reset, closed, timed out, offline | retryable | `econnrefused`, `connection_closed`, `offline`, `timeout` … |
 *
 * Why an unknown error reply is a `config` error and not a permanent one: the script and its
 * arguments have the same shape for every record, so an error the sink does not know (scripting
 * disabled or denied on a managed Redis, a proxy that does not support `EVALSHA`, a script
 * error) would refuse every record alike. Dead-lettering them all would empty the WAL into the
 * dead-letter queue; as a `config` error they stay in the WAL, retried with a capped backoff and
 * logged loudly, until the server is fixed. Record-specific refusals that are known to be
 * permanent (`WRONGTYPE`, an undecodable payload, a log with too many fields) are classified as
 * permanent before they reach this table.
 */
import { DeliveryError, networkFailure } from '../../delivery/delivery-error.ts';

const PERMANENT = new Set(['WRONGTYPE']);
const AUTH = new Set(['NOAUTH', 'WRONGPASS', 'NOPERM']);
const RETRYABLE = new Set(['OOM', 'LOADING', 'BUSY', 'READONLY', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'ASK', 'NOREPLICAS', 'MISCONF']);
const KNOWN = [...PERMANENT, ...AUTH, ...RETRYABLE, 'CROSSSLOT', 'MOVED'];
const CODE_INSIDE = new RegExp(`(?:^|[\\s:])(${KNOWN.join('|')})\\b`);

/** The error code of a Redis error reply: its first word, or a known code inside a script error. */
export function replyCode(message: string): string {
  const first = /^([A-Z][A-Z_-]*)\b/.exec(message)?.[1] ?? 'ERR';
  if (KNOWN.includes(first)) return first;
  return CODE_INSIDE.exec(message)?.[1] ?? first;
}

/** Messages ioredis gives a command that never got a reply. */
function noReplyReason(message: string): string | undefined {
  if (message.startsWith('Connection is closed')) return 'connection_closed';
  if (message.startsWith("Stream isn't writeable")) return 'offline';
  if (message.startsWith('Command timed out')) return 'timeout';
  if (message.startsWith('Reached the max retries per request')) return 'max_retries';
  return undefined;
}

export function redisError(err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { name?: string; message?: string; code?: string };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.name === 'ReplyError') {
    const code = replyCode(message);
    const reason = `redis_${code.toLowerCase()}`;
    // Cut to one line: a reply may quote the script.
    const text = `${what}: ${message.split('\n')[0]?.slice(0, 300)}`;
    if (PERMANENT.has(code)) return new DeliveryError(text, { kind: 'permanent', reason, cause: err });
    if (AUTH.has(code)) return new DeliveryError(text, { kind: 'retryable', reason, auth: true, cause: err });
    if (RETRYABLE.has(code)) return new DeliveryError(text, { kind: 'retryable', reason, cause: err });
    return new DeliveryError(text, { kind: 'config', reason, cause: err });
  }
  const reason = noReplyReason(message);
  if (reason !== undefined) return new DeliveryError(`${what}: ${message}`, { kind: 'retryable', reason, cause: err });
  // Socket errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, TLS failures) and anything else.
  return networkFailure(err, what);
}
