import { readFile } from 'node:fs/promises';
import type { ConnectionOptions, JetStreamClient, MsgHdrs, NatsConnection, PubAck, StreamInfo } from 'nats';
import { DeliveryError } from '../../delivery/delivery-error.ts';
import type { DeliveryBatch, DeliveryRecord, ProtocolClient } from '../../delivery/protocol-client.ts';
import { ErrorCodes, isWalshipError } from '../../errors.ts';
import type { Logger } from '../../logging/logger.ts';
import { transcodeJsonBody } from '../http/json-transcode.ts';
import { classifyNatsError } from './classify-error.ts';

/**
 * nats.js, loaded by the first connect (a process that ships elsewhere never loads it).
 * Everything that uses it runs after a connect.
 */
let natsLib: typeof import('nats') | undefined;

async function loadNats(): Promise<typeof import('nats')> {
  natsLib ??= await import('nats');
  return natsLib;
}

function nats(): typeof import('nats') {
  if (natsLib === undefined) throw new Error('nats.js used before the first connect');
  return natsLib;
}
import { isPemText, type NatsSinkOptions, type ResolvedNatsSinkOptions, resolveNatsSinkOptions } from './nats-sink-options.ts';
import { abortable as untilAborted } from '../../delivery/abortable.ts';

/** The header JetStream deduplicates on: the record's idempotency key (D2). */
export const MSG_ID_HEADER = 'Nats-Msg-Id';
/** The header that makes the server refuse a publish captured by another stream than `stream.name`. */
export const EXPECTED_STREAM_HEADER = 'Nats-Expected-Stream';
/** `Content-Type` of each message, by encoding. */
export const NATS_CONTENT_TYPES = { protobuf: 'application/x-protobuf', json: 'application/json' } as const;
/** nats.js connection name the server shows (`connz`). */
const CONNECTION_NAME = 'walship';
/** JSStreamNotFoundErr. */
const STREAM_NOT_FOUND = 10059;

/** Counters of one client. */
export interface NatsClientStats {
  /** Messages acknowledged by a PubAck (duplicates included). */
  readonly published: number;
  /** PubAcks that said `duplicate: true`: JetStream had the Msg-Id already (a redelivery). */
  readonly duplicates: number;
}

/**
 * A {@link ProtocolClient} publishing each record as one JetStream message over one nats.js
 * connection to a pool of servers (see ./index.ts for the wire format and invariants N1–N6).
 *
 * **Connection state.** `connect(timeoutMs)` opens the connection (nats.js then reconnects by
 * itself, across the pool, forever), waits out a reconnect in progress, and creates or checks
 * the stream once per connection. `isConnected()` is false before that, while nats.js is
 * reconnecting, and after the connection closed for good (a new `connect()` opens a new one).
 *
 * **`publishEvents(batch)`.** Publishes every record of the batch concurrently, each with its
 * own key as `Nats-Msg-Id`, and waits for every PubAck or failure. Resolves with the records
 * that were not acknowledged (in batch order) when at least one was; rejects with the first
 * record's DeliveryError when none was. So the promise resolves exactly when this call made
 * progress; a record is in the resolved "published" set only when its PubAck arrived (N1).
 */
export class NatsClient implements ProtocolClient {
  readonly name: string;
  readonly options: ResolvedNatsSinkOptions;
  readonly #log: Logger;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #reconnecting = false;
  /** The stream step (create or check) ran on the current connection. */
  #prepared = false;
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Who waits for nats.js to reconnect. */
  #reconnectWaiters: Array<() => void> = [];
  /** Background work this client owns (status loops, window checks); awaited on close. */
  readonly #background = new Set<Promise<void>>();
  /** Streams whose duplicate window was checked (or is being checked). */
  readonly #windowChecked = new Set<string>();
  #windowWarned = false;
  #missingStreamLogged = false;
  #published = 0;
  #duplicates = 0;

  constructor(options: ResolvedNatsSinkOptions) {
    this.options = options;
    this.name = options.name;
    this.#log = options.logger;
    this.#log.debug(
      { servers: options.servers.length, subject: options.subject.source, encoding: options.encoding, stream: options.stream?.name, auth: options.auth.kind },
      'nats client created',
    );
  }

  isConnected(): boolean {
    const nc = this.#nc;
    return this.#closing === undefined && nc !== undefined && !nc.isClosed() && !this.#reconnecting && this.#prepared;
  }

  stats(): NatsClientStats {
    return { published: this.#published, duplicates: this.#duplicates };
  }

  /** The server currently connected to (`host:port`), if any: for tests and logs. */
  connectedServer(): string | undefined {
    const nc = this.#nc;
    return nc === undefined || nc.isClosed() || this.#reconnecting ? undefined : nc.getServer();
  }

  connect(timeoutMs: number): Promise<void> {
    this.#assertOpen();
    this.#connecting ??= this.#connectOnce(timeoutMs).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const nc = this.#nc;
      this.#wakeReconnectWaiters();
      // A connect in progress sees #closing and closes what it opened.
      await this.#connecting?.catch(() => {});
      if (nc !== undefined && !nc.isClosed()) {
        await nc.close().catch((err: unknown) => this.#log.debug({ err: (err as Error).message }, 'closing the connection failed'));
      }
      await Promise.allSettled([...this.#background]);
      this.#log.debug(this.stats(), 'nats client closed');
    })();
    return this.#closing;
  }

  async publishEvents(batch: DeliveryBatch, signal?: AbortSignal): Promise<readonly DeliveryRecord[]> {
    this.#assertOpen();
    const records = batch.records;
    if (records.length === 0) return [];
    await this.#ensureConnected();
    if (batch.ordered === true) {
      // D5: one at a time, stopping at the first failure, so that no record is stored ahead of
      // one before it that was not.
      for (const [i, r] of records.entries()) {
        try {
          await this.#publish(r, r.idempotencyKey, signal);
        } catch (err) {
          const failure = classifyNatsError(err, `publish to ${this.name}`);
          if (i === 0) throw failure;
          this.#log.debug({ batch: batch.key, published: i, remaining: records.length - i, reason: failure.reason }, 'ordered batch partly published');
          return records.slice(i);
        }
      }
      return [];
    }
    // Every record is its own message; they share the connection and are pipelined.
    const failures = await Promise.all(
      records.map((r) =>
        this.#publish(r, r.idempotencyKey, signal).then(
          () => undefined,
          (err: unknown) => classifyNatsError(err, `publish to ${this.name}`),
        ),
      ),
    );
    const rest = records.filter((_, i) => failures[i] !== undefined);
    if (rest.length === records.length) throw failures[0] as DeliveryError;
    if (rest.length > 0) {
      const first = failures.find((f) => f !== undefined) as DeliveryError;
      this.#log.debug({ batch: batch.key, published: records.length - rest.length, remaining: rest.length, reason: first.reason }, 'batch partly published');
    }
    return rest;
  }

  async publishEvent(record: DeliveryRecord, key: string, signal?: AbortSignal): Promise<void> {
    this.#assertOpen();
    await this.#ensureConnected();
    try {
      await this.#publish(record, key, signal);
    } catch (err) {
      throw classifyNatsError(err, `publish to ${this.name}`);
    }
  }

  // ── Connecting ─────────────────────────────────────────────────────────────────────

  /** A publish on a client never connected connects first (as a mode would). */
  async #ensureConnected(): Promise<void> {
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed() || !this.#prepared) await this.connect(this.options.timeoutMs);
  }

  async #connectOnce(timeoutMs: number): Promise<void> {
    let nc = this.#nc;
    if (nc === undefined || nc.isClosed()) {
      this.#prepared = false;
      this.#reconnecting = false;
      try {
        nc = await (await loadNats()).connect(await this.#connectionOptions(timeoutMs));
      } catch (err) {
        throw classifyNatsError(err, `connect to ${this.name}`);
      }
      if (this.#closing !== undefined) {
        await nc.close().catch(() => {});
        throw this.#closedError();
      }
      this.#nc = nc;
      this.#js = nc.jetstream({ timeout: this.options.timeoutMs });
      this.#own(this.#watch(nc));
      this.#log.info({ server: nc.getServer(), maxPayload: nc.info?.max_payload }, 'connected');
    }
    if (this.#reconnecting) await this.#waitReconnected(timeoutMs);
    if (!this.#prepared) {
      await this.#prepareStream(nc, timeoutMs);
      this.#prepared = true;
    }
  }

  async #connectionOptions(timeoutMs: number): Promise<ConnectionOptions> {
    const o = this.options;
    const opts: ConnectionOptions = {
      servers: [...o.servers],
      name: CONNECTION_NAME,
      timeout: timeoutMs,
      // nats.js reconnects by itself, across every server of the pool (and the cluster's
      // other members it learns of), without giving up: a cluster node going away is routine.
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: o.reconnectTimeWaitMs,
      waitOnFirstConnect: false,
    };
    const auth = o.auth;
    switch (auth.kind) {
      case 'user':
        opts.user = auth.user;
        opts.pass = auth.pass;
        break;
      case 'token':
        opts.token = auth.token;
        break;
      case 'nkey':
        opts.authenticator = nats().nkeyAuthenticator(new TextEncoder().encode(auth.seed));
        break;
      case 'creds':
        // Read at each connect: a rotated creds file is picked up by the next connection.
        opts.authenticator = nats().credsAuthenticator(await readFile(auth.file));
        break;
      case 'none':
        break;
    }
    if (o.tls !== undefined) {
      const pem = (v: string): Promise<string> => (isPemText(v) ? Promise.resolve(v) : readFile(v, 'utf8'));
      const tls: Record<string, unknown> = {};
      if (o.tls.ca !== undefined) {
        const cas = await Promise.all((typeof o.tls.ca === 'string' ? [o.tls.ca] : o.tls.ca).map(pem));
        tls.ca = cas.join('\n');
      }
      if (o.tls.cert !== undefined) tls.cert = await pem(o.tls.cert);
      if (o.tls.key !== undefined) tls.key = await pem(o.tls.key);
      if (o.tls.rejectUnauthorized !== undefined) tls.rejectUnauthorized = o.tls.rejectUnauthorized;
      if (o.tls.servername !== undefined) tls.servername = o.tls.servername;
      opts.tls = tls;
    }
    return opts;
  }

  /** Follows the connection's status until it closes: reconnecting, reconnected, errors. */
  async #watch(nc: NatsConnection): Promise<void> {
    const statuses = nc.status();
    // nats.js 2.29 does not end a connection's status iterator when the connection closes
    // (only the protocol's own): stop it on `closed()`, or this loop would never end.
    void nc.closed().then(() => (statuses as { stop?: () => void }).stop?.());
    for await (const s of statuses) {
      if (nc !== this.#nc) continue;
      switch (s.type) {
        case nats().Events.Disconnect:
          this.#reconnecting = true;
          this.#log.info({ server: s.data }, 'disconnected; nats.js is reconnecting');
          break;
        case nats().Events.Reconnect:
          this.#reconnecting = false;
          this.#log.info({ server: s.data }, 'reconnected');
          this.#wakeReconnectWaiters();
          break;
        case nats().Events.LDM:
          this.#log.info({ server: s.data }, 'the server entered lame duck mode; nats.js will move to another');
          break;
        case nats().Events.Error:
          this.#log.warn({ err: String(s.data) }, 'connection error');
          break;
        default:
          break;
      }
    }
    // The iterator ends when the connection closed for good.
    if (nc === this.#nc) {
      this.#reconnecting = false;
      this.#wakeReconnectWaiters();
      if (this.#closing === undefined) this.#log.warn('the connection closed; the next publish opens a new one');
    }
  }

  #waitReconnected(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.#reconnectWaiters.indexOf(done);
        if (at >= 0) this.#reconnectWaiters.splice(at, 1);
        reject(new DeliveryError(`${this.name}: still reconnecting after ${timeoutMs} ms`, { kind: 'retryable', reason: 'nats_disconnected' }));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        if (this.#closing !== undefined) reject(this.#closedError());
        else resolve();
      };
      this.#reconnectWaiters.push(done);
    });
  }

  #wakeReconnectWaiters(): void {
    const waiters = this.#reconnectWaiters;
    this.#reconnectWaiters = [];
    for (const w of waiters) w();
  }

  // ── The stream ─────────────────────────────────────────────────────────────────────

  /**
   * With a `stream` option: creates it when missing and `create` is set, or says loudly that
   * it is missing; checks its duplicate window. A failure to ask (JetStream unavailable, no
   * quorum) fails the connect, which the connection mode retries.
   */
  async #prepareStream(nc: NatsConnection, timeoutMs: number): Promise<void> {
    const s = this.options.stream;
    if (s === undefined) return;
    let info: StreamInfo;
    try {
      const jsm = await nc.jetstreamManager({ timeout: timeoutMs, checkAPI: false });
      try {
        info = await jsm.streams.info(s.name);
      } catch (err) {
        if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== STREAM_NOT_FOUND) throw err;
        if (!s.create) {
          if (!this.#missingStreamLogged) {
            this.#missingStreamLogged = true;
            this.#log.error(
              { stream: s.name },
              'the stream does not exist and `stream.create` is off: publishes fail with nats_no_stream (retried, never dead-lettered) until it is created',
            );
          }
          return;
        }
        info = await jsm.streams.add({
          name: s.name,
          subjects: [...s.subjects],
          num_replicas: s.replicas,
          duplicate_window: nats().nanos(s.duplicateWindowMs),
        });
        this.#log.info({ stream: s.name, subjects: s.subjects, replicas: s.replicas, duplicateWindowMs: s.duplicateWindowMs }, 'stream created');
      }
    } catch (err) {
      throw classifyNatsError(err, `prepare stream ${s.name} on ${this.name}`);
    }
    this.#windowChecked.add(s.name);
    this.#checkWindow(info);
  }

  /** Warns once when a stream forgets Msg-Ids sooner than redeliveries may come (N3). */
  #checkWindow(info: StreamInfo): void {
    const windowMs = nats().millis(info.config.duplicate_window ?? 0);
    if (windowMs >= this.options.retryHorizonMs || this.#windowWarned) return;
    this.#windowWarned = true;
    this.#log.warn(
      { stream: info.config.name, duplicateWindowMs: windowMs, retryHorizonMs: this.options.retryHorizonMs },
      "the stream's duplicate window is shorter than the retry horizon: a record redelivered after the window is stored twice (raise the stream's duplicate_window)",
    );
  }

  /** Without a `stream` option: checks the window of a stream the first time a PubAck names it. */
  #checkWindowLater(stream: string): void {
    if (this.#windowChecked.has(stream)) return;
    this.#windowChecked.add(stream);
    const nc = this.#nc;
    if (nc === undefined) return;
    this.#own(
      (async () => {
        try {
          const jsm = await nc.jetstreamManager({ timeout: this.options.timeoutMs, checkAPI: false });
          this.#checkWindow(await jsm.streams.info(stream));
        } catch (err) {
          this.#windowChecked.delete(stream); // try again on a later PubAck
          this.#log.debug({ stream, err: (err as Error).message }, 'could not read the stream to check its duplicate window');
        }
      })(),
    );
  }

  // ── Publishing ─────────────────────────────────────────────────────────────────────

  /** One message, resolved by its PubAck (N1). Rejects with what nats.js threw, or a DeliveryError. */
  async #publish(record: DeliveryRecord, key: string, signal: AbortSignal | undefined): Promise<PubAck> {
    const nc = this.#nc;
    const js = this.#js;
    if (nc === undefined || js === undefined || nc.isClosed()) {
      throw new DeliveryError(`${this.name}: not connected`, { kind: 'retryable', reason: 'nats_not_connected' });
    }
    if (this.#reconnecting) {
      // nats.js would buffer the message until it reconnects; fail now so the mode waits
      // for the reconnect instead of a timeout per message.
      throw new DeliveryError(`${this.name}: disconnected, reconnecting`, { kind: 'retryable', reason: 'nats_disconnected' });
    }
    if (signal?.aborted) throw abortedError(this.name, signal);
    const subject = this.options.subject.render(record.meta);
    const data = this.#body(record, key);
    const h = this.#headers(key);
    // The server refuses (and closes the connection on) a message over max_payload; headers
    // count. Refuse it here, for good: it can never be sent whole (N4).
    const maxPayload = nc.info?.max_payload;
    const size = data.length + (h as MsgHdrs & { encode(): Uint8Array }).encode().length;
    if (maxPayload !== undefined && size > maxPayload) {
      throw new DeliveryError(
        `${this.name}: record ${record.seq} is ${size} bytes as a message (headers included), over the server's max_payload of ${maxPayload}`,
        { kind: 'permanent', reason: 'nats_max_payload' },
      );
    }
    const ack = await abortable(js.publish(subject, data, { headers: h, timeout: this.options.timeoutMs }), signal, this.name);
    // Order matters: only now, with the PubAck in hand, is the record published (D1).
    this.#published++;
    if (ack.duplicate) {
      this.#duplicates++;
      this.#log.debug({ key, stream: ack.stream, seq: ack.seq }, 'duplicate: the stream had this Msg-Id already');
    }
    this.#checkWindowLater(ack.stream);
    return ack;
  }

  #body(record: DeliveryRecord, key: string): Uint8Array {
    if (this.options.encoding === 'protobuf') return record.payload;
    try {
      return transcodeJsonBody([record], 'json');
    } catch (err) {
      if (!isWalshipError(err, ErrorCodes.INVALID_LOG_GROUP)) throw err;
      throw new DeliveryError(`record ${key} is not a valid LogGroup: ${err.message}`, { kind: 'permanent', reason: 'invalid_payload', cause: err });
    }
  }

  #headers(key: string): MsgHdrs {
    const h = nats().headers();
    h.set(MSG_ID_HEADER, key);
    h.set('Content-Type', NATS_CONTENT_TYPES[this.options.encoding]);
    if (this.options.stream !== undefined) h.set(EXPECTED_STREAM_HEADER, this.options.stream.name);
    return h;
  }

  #own(p: Promise<void>): void {
    const owned = p.catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'background task failed'));
    this.#background.add(owned);
    void owned.finally(() => this.#background.delete(owned));
  }

  #closedError(): DeliveryError {
    return new DeliveryError(`${this.name}: the client is closed`, { kind: 'retryable', reason: 'closed' });
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw this.#closedError();
  }
}

function abortedError(name: string, signal: AbortSignal): DeliveryError {
  return new DeliveryError(`${name}: aborted before the PubAck`, { kind: 'retryable', reason: 'aborted', cause: signal.reason });
}

/**
 * `p`, or a retryable `aborted` failure once `signal` aborts. nats.js cannot cancel a request:
 * its PubAck, if it comes, is dropped, and the record stays in the WAL (redelivered under the
 * same Msg-Id, so JetStream keeps one copy).
 */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, name: string): Promise<T> {
  if (signal === undefined) return p;
  return untilAborted(p, signal).catch((err: unknown) => {
    throw signal.aborted && err === signal.reason ? abortedError(name, signal) : err;
  });
}

/** Resolves and validates `options` (throws `WALSHIP_INVALID_OPTIONS`) and creates the client. */
export function createNatsClient(options: NatsSinkOptions = {}): NatsClient {
  return new NatsClient(resolveNatsSinkOptions(options));
}
