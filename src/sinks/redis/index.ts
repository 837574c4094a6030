/**
 * # sinks/redis: delivering records to Redis Streams
 *
 * A {@link RedisClient} (delivery's `ProtocolClient`) appends each record to a Redis stream
 * over one ioredis connection, in one call of a Lua script that deduplicates and appends
 * atomically.
 *
 * ## Layout in Redis
 *
 * | key | type | what |
 * |---|---|---|
 * | `keyTemplate` rendered with the record's metadata (default `logs:{project}:{logstore}`) | stream | one entry per log (`entryPer: 'log'`) or per LogGroup (`'group'`), IDs chosen by Redis (`*`), capped by `MAXLEN ~ maxLen` when set |
 * | `walship:dedup:{<tag>}:<walId>-<seq>` | string `1`, TTL `dedupTtl` | the record's deduplication marker |
 *
 * Entry fields (./stream-entries.ts): per log, the contents in order, then `__time__`,
 * `__time_ns_part__` (when set), `__topic__`, `__source__`, `__category__` (when set),
 * `__tag__:<key>` per group tag and `__walship_key__`; per group, `encoding`, `data` (the
 * LogGroup protobuf exactly as stored in the WAL, or the HTTP sink's `json` array) and
 * `__walship_key__`.
 *
 * ## The append script (./append-script.ts)
 *
 * One `EVALSHA` per record (ioredis `defineCommand`; `EVAL` again after a server restart emptied
 * the script cache): if the marker exists, reply -1 and write nothing; test the stream key's
 * type; `XADD` every entry; `SET marker 1 PX dedupTtl`; reply the number of entries. Redis runs
 * a script alone, so no other client sees a half-appended record, and a record is appended
 * whole, marker included, or not at all (the script fails only before its first write).
 *
 * ## Redis Cluster
 *
 * A script may only touch keys of one hash slot, so the marker takes its stream key's slot
 * (./key-template.ts): the stream key's hash tag when it has one, else the whole stream key as
 * the marker's tag. Put a hash tag in the template to choose what shares a slot:
 * `logs:{{project}}:{logstore}` renders `logs:{proj}:store`, so one project's streams (and
 * their markers) live on one shard. The client connects to one node; for a cluster, point it
 * at a cluster-aware proxy, or at a node that owns the slots (`MOVED` is a `config` error,
 * retried and logged loudly; `ASK`, a slot in migration, is retryable).
 *
 * ## Invariants
 *
 * - **R1** (D1) A record is acknowledged only by the script's reply: its entries and its
 *   marker are in Redis (and, with `appendfsync always`, in the AOF on disk).
 * - **R2** (D2) A record redelivered under the same idempotency key while its marker lives
 *   (`dedupTtl`, default 2 h) is acknowledged without a second copy; the check and the append
 *   are one atomic script. After the marker expired a redelivery appends again (the window).
 * - **R3** The marker key always hashes to its stream key's slot.
 * - **R4** (D3) Errors are classified in ./redis-errors.ts: `WRONGTYPE` and undecodable
 *   records are permanent; auth failures retryable with `auth: true`; server states (`OOM`,
 *   `LOADING`, `BUSY`, `READONLY`, `MASTERDOWN`, `CLUSTERDOWN`, …) and anything without a reply
 *   retryable; any other error reply (a script error, `MOVED`, `CROSSSLOT`) a `config` error.
 * - **R5** `publishEvents` sends the records one by one in WAL order and resolves exactly when
 *   it made progress, with the unpublished suffix (see {@link RedisClient}).
 * - **R6** Passwords never reach a log line: the client's name is `redis://host:port/db`.
 */
export { ALREADY_APPENDED, APPEND_COMMAND, APPEND_SCRIPT } from './append-script.ts';
export { DEDUP_MARKER_PREFIX, hashTagOf, KEY_PLACEHOLDERS, keySlot, markerKey, parseKeyTemplate, renderKey } from './key-template.ts';
export { createRedisClient, RedisClient } from './redis-client.ts';
export { redisError, replyCode } from './redis-errors.ts';
export {
  type RedisEntryPer,
  type RedisGroupEncoding,
  type RedisSinkOptions,
  type RedisSinkTlsOptions,
  resolveRedisSinkOptions,
  type ResolvedRedisSinkOptions,
} from './redis-sink-options.ts';
export { encodeEntries, KEY_FIELD, MAX_FIELDS_PER_ENTRY } from './stream-entries.ts';
