import type { ConnectionOptions } from 'node:tls';
import type { Redis, RedisOptions } from 'ioredis';
import { DEFAULT_REDIS_MAX_RETRIES_PER_REQUEST } from '../../config/defaults.ts';
import { DeliveryError } from '../../delivery/delivery-error.ts';
import type { DeliveryBatch, DeliveryRecord, ProtocolClient } from '../../delivery/protocol-client.ts';
import type { Logger } from '../../logging/logger.ts';
import { ALREADY_APPENDED, APPEND_COMMAND, APPEND_SCRIPT } from './append-script.ts';
import { markerKey, renderKey } from './key-template.ts';
import { redisError } from './redis-errors.ts';
import { type RedisSinkOptions, type ResolvedRedisSinkOptions, resolveRedisSinkOptions } from './redis-sink-options.ts';
import { encodeEntries, type FieldValue } from './stream-entries.ts';

/** An ioredis connection with the append script defined on it. */
type ScriptedRedis = Redis & {
  [APPEND_COMMAND](stream: string, marker: string, ...args: Array<FieldValue | number>): Promise<number>;
};

/**
 * A {@link ProtocolClient} that appends records to Redis Streams over one ioredis connection.
 *
 * **One script call per record.** Each record goes to the stream its key template names, in
 * one call of the append script (./append-script.ts): checked against its deduplication
 * marker, appended (`XADD`, one entry per log or per group), marked, atomically. The script's
 * reply is the ack (D1); a redelivery whose marker still exists is acknowledged without
 * appending (D2). The marker key is the record's idempotency key (`<walId>-<seq>`); the
 * `key` argument of `publishEvent` is not used, since records are stored one by one.
 *
 * **`publishEvents(batch)` contract** (as the HTTP client's `sls` encoding): the records go
 * one after the other, in order, so a stream holds one writer's records in WAL order. When
 * record `i` fails: `i === 0` rejects with its {@link DeliveryError}; `i > 0` resolves with
 * the unpublished suffix `records.slice(i)` (partial success), whose first record reports the
 * failure on the next attempt.
 *
 * **Connection.** `lazyConnect`, no ioredis reconnect loop (the connection mode reconnects,
 * with its backoff), `enableOfflineQueue: false` and a small `maxRetriesPerRequest`: while the
 * server is down a call fails at once with a retryable error instead of queueing.
 * `connect(timeoutMs)` makes a fresh connection (and waits for ioredis's ready check, so a
 * server still loading its AOF is not "connected"); `publishEvents` connects first when not
 * connected. After `close()` every call rejects with a retryable `closed`.
 */
export class RedisClient implements ProtocolClient {
  readonly name: string;
  readonly options: ResolvedRedisSinkOptions;
  readonly #log: Logger;
  #redis: ScriptedRedis | undefined;
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedRedisSinkOptions) {
    this.options = options;
    this.name = options.name;
    this.#log = options.logger;
  }

  isConnected(): boolean {
    return this.#closing === undefined && this.#redis?.status === 'ready';
  }

  connect(timeoutMs: number = this.options.timeoutMs): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(this.#closedError());
    if (this.isConnected()) return Promise.resolve();
    this.#connecting ??= this.#open(timeoutMs).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(timeoutMs: number): Promise<void> {
    this.#redis?.disconnect();
    const o = this.options;
    const settings: RedisOptions = {
      host: o.host,
      port: o.port,
      db: o.db,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: DEFAULT_REDIS_MAX_RETRIES_PER_REQUEST,
      // The connection mode owns reconnecting (with its backoff): ioredis does not retry.
      retryStrategy: () => null,
      connectTimeout: Math.min(timeoutMs, o.timeoutMs),
      commandTimeout: o.timeoutMs,
      connectionName: 'walship',
    };
    if (o.username !== undefined) settings.username = o.username;
    if (o.password !== undefined) settings.password = o.password;
    if (o.tls !== undefined) {
      const tls: ConnectionOptions = { rejectUnauthorized: o.tls.rejectUnauthorized ?? true };
      if (o.tls.ca !== undefined) tls.ca = o.tls.ca as ConnectionOptions['ca'];
      if (o.tls.cert !== undefined) tls.cert = o.tls.cert;
      if (o.tls.key !== undefined) tls.key = o.tls.key;
      if (o.tls.servername !== undefined) tls.servername = o.tls.servername;
      settings.tls = tls;
    }
    // ioredis is loaded by the first connect (a process that ships elsewhere never loads it).
    const { Redis } = await import('ioredis');
    // close() while ioredis was loading found no connection to close: make none.
    if (this.#closing !== undefined) throw redisError(new Error('Connection is closed: the client was closed while connecting'), `${this.name}: connect`);
    const redis = new Redis(settings) as ScriptedRedis;
    // The first error of the connection says why a connect failed (ECONNREFUSED, NOAUTH,
    // WRONGPASS) better than the "Connection is closed" that the connect promise rejects with.
    let firstError: unknown;
    // ioredis prints unhandled 'error' events to the console: every error also rejects the
    // call that met it, so here it is only logged.
    redis.on('error', (err: Error) => {
      firstError ??= err;
      this.#log.debug({ err: err.message }, 'redis connection error');
    });
    redis.on('end', () => {
      if (this.#redis === redis && this.#closing === undefined) this.#log.info('redis connection ended');
    });
    redis.defineCommand(APPEND_COMMAND, { numberOfKeys: 2, lua: APPEND_SCRIPT });
    this.#redis = redis;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        redis.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('Command timed out: connect took too long')), timeoutMs);
        }),
      ]);
      // close() during the connect quit an unconnected client; this one connected after it.
      if (this.#closing !== undefined) {
        redis.disconnect();
        throw new Error('Connection is closed: the client was closed while connecting');
      }
      this.#log.debug('redis connected');
    } catch (err) {
      redis.disconnect();
      throw redisError(firstError ?? err, `${this.name}: connect`);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const redis = this.#redis;
      if (redis === undefined) return;
      if (redis.status === 'ready') {
        try {
          // QUIT lets replies in flight arrive first.
          await redis.quit();
        } catch {
          redis.disconnect();
        }
      } else {
        redis.disconnect();
      }
      this.#log.debug('redis client closed');
    })();
    return this.#closing;
  }

  async publishEvents(batch: DeliveryBatch, signal?: AbortSignal): Promise<readonly DeliveryRecord[]> {
    const records = batch.records;
    for (let i = 0; i < records.length; i++) {
      try {
        if (signal?.aborted) {
          throw new DeliveryError(`${this.name}: aborted`, { kind: 'retryable', reason: 'aborted', cause: signal.reason });
        }
        await this.#append(records[i] as DeliveryRecord);
      } catch (err) {
        if (i === 0) throw err;
        // Progress was made: hand back the unpublished suffix; its first record reports
        // this failure again on the next attempt.
        this.#log.debug(
          { batch: batch.key, published: i, remaining: records.length - i, reason: (err as DeliveryError).reason },
          'batch partly appended',
        );
        return records.slice(i);
      }
    }
    return [];
  }

  async publishEvent(record: DeliveryRecord, _key: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) {
      throw new DeliveryError(`${this.name}: aborted`, { kind: 'retryable', reason: 'aborted', cause: signal.reason });
    }
    await this.#append(record);
  }

  /** One record, one script call: resolves once Redis replied that it is stored (or was already). */
  async #append(record: DeliveryRecord): Promise<void> {
    if (this.#closing !== undefined) throw this.#closedError();
    // Encoding failures are permanent and need no connection: checked first.
    const { entries, args } = encodeEntries(record, this.options.entryPer, this.options.encoding);
    const stream = renderKey(this.options.keyTemplate, record.meta);
    const marker = markerKey(stream, record.idempotencyKey);
    if (!this.isConnected()) await this.connect(this.options.timeoutMs);
    const redis = this.#redis as ScriptedRedis;
    let reply: number;
    try {
      reply = await redis[APPEND_COMMAND](stream, marker, this.options.dedupTtlMs, this.options.maxLen, entries, ...args);
    } catch (err) {
      const failure = redisError(err, `${this.name}: append to ${stream}`);
      this.#log.debug({ stream, seq: record.seq, kind: failure.kind, reason: failure.reason }, 'append refused');
      throw failure;
    }
    if (reply === ALREADY_APPENDED) {
      this.#log.debug({ stream, seq: record.seq, key: record.idempotencyKey }, 'record already appended (deduplicated)');
    }
  }

  #closedError(): DeliveryError {
    return new DeliveryError(`${this.name}: the client is closed`, { kind: 'retryable', reason: 'closed' });
  }
}

/** Resolves and validates `options` (throws `WALSHIP_INVALID_OPTIONS`) and creates the client. */
export function createRedisClient(options: RedisSinkOptions = {}): RedisClient {
  return new RedisClient(resolveRedisSinkOptions(options));
}
