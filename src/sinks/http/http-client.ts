import http from 'node:http';
import https from 'node:https';
import { DeliveryError } from '../../delivery/delivery-error.ts';
import type { DeliveryBatch, DeliveryRecord, ProtocolClient } from '../../delivery/protocol-client.ts';
import { ErrorCodes, isWalshipError } from '../../errors.ts';
import type { Logger } from '../../logging/logger.ts';
import { CONTENT_TYPES, encodeSlsBody, gzipBody } from './encode.ts';
import { releaseJsonBody, transcodeJsonBodyPooled } from './json-transcode.ts';
import { type HttpSinkOptions, type ResolvedHttpSinkOptions, resolveHttpSinkOptions } from './http-sink-options.ts';
import { readBodySnippet, statusError, transportError } from './http-response.ts';

/** The header that carries the idempotency key (D2) on every request. */
export const IDEMPOTENCY_HEADER = 'x-walship-idempotency-key';
/** `x-log-apiversion` of SLS requests. */
export const SLS_API_VERSION = '0.6.0';

const USER_AGENT = 'walship';
const TIMEOUT = Symbol('timeout');

interface Exchange {
  readonly status: number;
  readonly retryAfter: string | string[] | undefined;
  readonly snippet: Buffer;
  /**
   * The whole request body went to the connection before the exchange ended: nothing reads
   * the body's buffer any more. False when the request ended first (a server that answered
   * before reading all of it, then its deadline or an abort).
   */
  readonly bodyWritten: boolean;
}

/** A request and its response (headers received). */
interface Sent {
  readonly req: http.ClientRequest;
  readonly res: http.IncomingMessage;
}

/** A request error, marked when it came on a kept-alive connection that answered nothing. */
interface StaleCandidate {
  readonly staleSocket?: boolean;
}

interface RequestSpec {
  readonly method: 'POST' | 'HEAD';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

/**
 * A request whose body is made once it has a connection slot: bodies waiting for a slot
 * would otherwise all exist at once (the in-flight window's batches, ≈ twice `concurrency`
 * bodies of ≈ 2.7 MB each on the e2e bench), where only `concurrency` can be on the wire.
 */
interface PendingRequest extends Omit<RequestSpec, 'body'> {
  readonly body: () => Buffer | Promise<Buffer>;
}

/**
 * A {@link ProtocolClient} for one HTTP(S) host, over a keep-alive `node:http` (or `node:https`)
 * agent of at most `concurrency` connections.
 *
 * **Acks (D1).** Only a 2xx answer acknowledges a request; the body of every answer is read
 * (or the connection dropped) before the promise settles.
 *
 * **`publishEvents(batch)` contract.**
 * - `json` / `ndjson`: one request for the whole batch, all or nothing: resolves with `[]` on
 *   a 2xx and rejects with a {@link DeliveryError} otherwise. The request carries `batch.key`.
 * - `sls`: one request per record, in order, each carrying its record's `idempotencyKey`.
 *   Resolves with `[]` when every record was acknowledged. When record `i` fails:
 *   - `i === 0` (nothing was published by this call): rejects with the DeliveryError, whatever
 *     its kind, so the caller backs off, splits or dead-letters as D3 says;
 *   - `i > 0`: resolves with the remainder `records.slice(i)`, whatever the failure's kind.
 *     The caller sends the remainder again; the failure then recurs at index 0 and is reported
 *     by a rejection (with its `Retry-After`, status and kind intact).
 *   So: the promise resolves exactly when this call made progress, and the remainder is
 *   always a suffix of the batch in WAL order. An abort of `signal` follows the same rule.
 *
 * **Errors.** Status handling per `statusError` (401/403 retryable with `auth`, 404 on SLS a
 * `config` error, other 4xx permanent with the start of the response body in the message);
 * anything without an HTTP answer (refused, reset, TLS failure, timeout, abort) is retryable.
 * A `json`/`ndjson` record whose payload does not decode as a LogGroup is a permanent
 * `invalid_payload` failure. After `close()` every call rejects with a retryable `closed`.
 *
 * **Connection state.** `isConnected()` is false until `connect()` (or a request) gets an
 * HTTP answer, false again after a request fails without one, true after the next answer of
 * any status (the host is reachable). `connect(timeoutMs)` sends a `HEAD` to the URL unless
 * `probe: false`.
 *
 * Authentication is by static headers (or URL credentials); Alibaba Cloud's SLS request
 * signing is not implemented.
 */
/**
 * Bodies of failed batches kept for their retry (see HttpClient #retryBodies): at most the
 * in-flight window's batches, and at most this many bytes, oldest dropped first. The bytes
 * bound matters: a json body is ≈ 1.35 × its records, and a batch retried elsewhere (failover,
 * another load-balance worker) or given up never comes back for its body, which then stayed
 * until 16 newer failures pushed it out (up to ≈ 48 MB per client with 2.7 MB bodies), outside
 * the delivery windows' bound (D4). A body not kept is only transcoded again.
 */
const KEEP_RETRY_BODIES = 16;
/** Idle keep-alive connections are closed after this many ms (undici's default). */
const IDLE_CONNECTION_MS = 4_000;
/** Errors of a write to, or a read from, a connection the server had closed. */
const STALE_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE']);
export const KEEP_RETRY_BODY_BYTES = 8 * 1024 * 1024;

export class HttpClient implements ProtocolClient {
  readonly name: string;
  readonly options: ResolvedHttpSinkOptions;
  readonly #agent: http.Agent;
  readonly #transport: typeof http | typeof https;
  /** `request()` options shared by every request: the agent, host, port (and TLS server name). */
  readonly #target: http.RequestOptions;
  /** The same for a request on a connection of its own, outside the agent (TLS settings included). */
  readonly #ownConnection: https.RequestOptions;
  /** Requests on the wire; `close()` waits for them. */
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #log: Logger;
  #connected = false;
  #closing: Promise<void> | undefined;
  /** Aborts a connect probe in progress when the client closes (a stop must not wait for it). */
  readonly #closeAbort = new AbortController();
  /** Free connection slots; requests beyond them wait here, before their timeout starts. */
  #slots: number;
  readonly #slotWaiters: Array<() => void> = [];
  /**
   * The body of each json/ndjson batch whose last attempt failed in a way a retry can fix, by
   * batch key: the retry sends the same bytes instead of transcoding again. It is reused only
   * for the very same records (the same objects, in order): a key names one composition (D2),
   * but after a WAL reopen a stored batch can come back smaller (a member was dead-lettered
   * meanwhile), and then it is encoded anew. At most {@link KEEP_RETRY_BODIES}, the oldest
   * dropped first.
   */
  readonly #retryBodies = new Map<string, { readonly body: Buffer; readonly records: readonly DeliveryRecord[] }>();
  #retryBodyBytes = 0;
  #reusedBodies = 0;
  #staleRetries = 0;

  constructor(options: ResolvedHttpSinkOptions) {
    this.options = options;
    this.name = options.name;
    this.#log = options.logger;
    this.#slots = options.concurrency;
    // The agent never holds more sockets than slots: a request waits for its slot (before its
    // clock starts), not in the agent's queue.
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      maxSockets: options.concurrency,
      maxFreeSockets: options.concurrency,
      scheduling: 'lifo',
      // An idle connection is closed after this (or 1 s before the server's `Keep-Alive:
      // timeout=` hint, when lower; Node uses the hint only below this): a connection the server,
      // a NAT or a load balancer dropped meanwhile is not reused.
      timeout: IDLE_CONNECTION_MS,
    };
    const { url, tls } = options;
    const https_ = url.protocol === 'https:';
    if (tls !== undefined) {
      agentOptions.ca = tls.ca as https.AgentOptions['ca'];
      agentOptions.cert = tls.cert;
      agentOptions.key = tls.key;
      agentOptions.rejectUnauthorized = tls.rejectUnauthorized ?? true;
    }
    this.#transport = https_ ? https : http;
    this.#agent = https_ ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    // `[::1]` in a URL is host `::1` to a socket.
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.#target = { agent: this.#agent, host, port: url.port === '' ? (https_ ? 443 : 80) : Number(url.port) };
    if (tls?.servername !== undefined) (this.#target as https.RequestOptions).servername = tls.servername;
    const { ca, cert, key, rejectUnauthorized } = agentOptions;
    this.#ownConnection = { ...this.#target, agent: false, ...(tls === undefined ? {} : { ca, cert, key, rejectUnauthorized }) };
    this.#log.debug(
      { encoding: options.encoding, concurrency: options.concurrency, headerNames: Object.keys(options.headers) },
      'http client created',
    );
  }

  isConnected(): boolean {
    return this.#connected && this.#closing === undefined;
  }

  async connect(timeoutMs: number): Promise<void> {
    this.#assertOpen();
    if (!this.options.probe) {
      this.#setConnected(true);
      return;
    }
    const path = this.options.basePath === '' ? '/' : this.options.basePath;
    // Any HTTP answer, whatever its status, shows the host is reachable.
    await this.#exchange({ method: 'HEAD', path, headers: { ...this.options.headers, 'user-agent': USER_AGENT } }, timeoutMs, this.#closeAbort.signal);
  }

  /** Attempts that re-sent a body kept from a failed attempt of the same batch. */
  get reusedBodies(): number {
    return this.#reusedBodies;
  }

  /** Requests sent again on a new connection after a kept-alive one turned out closed. */
  get staleConnectionRetries(): number {
    return this.#staleRetries;
  }

  /** Bytes of the bodies kept for retries now (at most {@link KEEP_RETRY_BODY_BYTES}). */
  get keptRetryBodyBytes(): number {
    return this.#retryBodyBytes;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#connected = false;
      this.#retryBodies.clear();
      this.#retryBodyBytes = 0;
      this.#closeAbort.abort(new DeliveryError('the HTTP client is closing', { kind: 'retryable', reason: 'closed' }));
      // Waits for requests in flight (each bounded by `timeoutMs`); abort them to stop sooner.
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      this.#agent.destroy();
      this.#log.debug('http client closed');
    })();
    return this.#closing;
  }

  async publishEvents(batch: DeliveryBatch, signal?: AbortSignal): Promise<readonly DeliveryRecord[]> {
    this.#assertOpen();
    const records = batch.records;
    if (records.length === 0) return [];
    if (this.options.encoding !== 'sls') {
      await this.#sendJson(records, batch.key, signal);
      return [];
    }
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      try {
        await this.#sendSls(record, record.idempotencyKey, signal);
      } catch (err) {
        if (i === 0) throw err;
        // Progress was made: hand back the unpublished suffix; its first record will report
        // this failure again on the next attempt.
        this.#log.debug(
          { batch: batch.key, published: i, remaining: records.length - i, reason: (err as DeliveryError).reason },
          'sls batch partly published',
        );
        return records.slice(i);
      }
    }
    return [];
  }

  async publishEvent(record: DeliveryRecord, key: string, signal?: AbortSignal): Promise<void> {
    this.#assertOpen();
    if (this.options.encoding === 'sls') await this.#sendSls(record, key, signal);
    else await this.#sendJson([record], key, signal);
  }

  async #sendSls(record: DeliveryRecord, key: string, signal: AbortSignal | undefined): Promise<void> {
    const { compression, basePath } = this.options;
    const path = `${basePath}/logstores/${encodeURIComponent(record.meta.logstore)}/shards/lb`;
    const body = (): Promise<Buffer> => encodeSlsBody(record.payload, compression);
    const headers: Record<string, string> = {
      ...this.options.headers,
      'user-agent': USER_AGENT,
      'content-type': CONTENT_TYPES.sls,
      'x-log-apiversion': SLS_API_VERSION,
      'x-log-bodyrawsize': String(record.payload.length),
      [IDEMPOTENCY_HEADER]: key,
    };
    if (compression !== 'none') headers['x-log-compresstype'] = compression;
    await this.#post({ method: 'POST', path, headers, body }, signal);
  }

  async #sendJson(records: readonly DeliveryRecord[], key: string, signal: AbortSignal | undefined): Promise<void> {
    const encoding = this.options.encoding === 'ndjson' ? 'ndjson' : 'json';
    let body: Buffer | undefined;
    const makeBody = async (): Promise<Buffer> => {
      const kept = this.#takeRetryBody(key);
      if (kept !== undefined && kept.records.length === records.length && kept.records.every((r, i) => r === records[i])) {
        this.#reusedBodies++;
        body = kept.body;
      } else {
        body = await this.#jsonBody(records, key, encoding);
      }
      return body;
    };
    const headers: Record<string, string> = {
      ...this.options.headers,
      'user-agent': USER_AGENT,
      'content-type': CONTENT_TYPES[encoding],
      [IDEMPOTENCY_HEADER]: key,
    };
    if (this.options.gzip) headers['content-encoding'] = 'gzip';
    let answer: Exchange;
    try {
      answer = await this.#post({ method: 'POST', path: this.options.basePath, headers, body: makeBody }, signal);
    } catch (err) {
      if (body !== undefined && err instanceof DeliveryError && err.kind !== 'permanent' && this.#closing === undefined) this.#keepRetryBody(key, body, records);
      throw err;
    }
    // A 2xx, and all of the body went out: nothing reads it any more; a pooled buffer goes
    // back. (A 2xx alone is not enough: a server may answer before it has read the body.)
    if (answer.bodyWritten) releaseJsonBody(body!);
  }

  #takeRetryBody(key: string): { readonly body: Buffer; readonly records: readonly DeliveryRecord[] } | undefined {
    const kept = this.#retryBodies.get(key);
    if (kept === undefined) return undefined;
    this.#retryBodies.delete(key);
    this.#retryBodyBytes -= kept.body.length;
    return kept;
  }

  /** Keeps `body` for the retry of batch `key`, dropping the oldest kept bodies past the bounds (they are collected, not pooled: a failed request may not have let go of its body). */
  #keepRetryBody(key: string, body: Buffer, records: readonly DeliveryRecord[]): void {
    if (body.length > KEEP_RETRY_BODY_BYTES) return;
    this.#takeRetryBody(key);
    this.#retryBodies.set(key, { body, records });
    this.#retryBodyBytes += body.length;
    while (this.#retryBodies.size > KEEP_RETRY_BODIES || this.#retryBodyBytes > KEEP_RETRY_BODY_BYTES) {
      this.#takeRetryBody(this.#retryBodies.keys().next().value as string);
    }
  }

  /** The (gzipped, if configured) json/ndjson body of `records`, in a pooled buffer when not gzipped. */
  async #jsonBody(records: readonly DeliveryRecord[], key: string, encoding: 'json' | 'ndjson'): Promise<Buffer> {
    let body: Buffer;
    try {
      // A pooled buffer: given back once the server has read it whole (a 2xx), else collected.
      body = transcodeJsonBodyPooled(records, encoding);
    } catch (err) {
      if (!isWalshipError(err, ErrorCodes.INVALID_LOG_GROUP)) throw err;
      throw new DeliveryError(`a record of batch ${key} is not a valid LogGroup: ${err.message}`, {
        kind: 'permanent',
        reason: 'invalid_payload',
        cause: err,
      });
    }
    if (!this.options.gzip) return body;
    const gzipped = await gzipBody(body);
    releaseJsonBody(body);
    return gzipped;
  }

  /** Sends a POST; resolves on a 2xx (the ack), rejects with a DeliveryError otherwise. */
  async #post(spec: PendingRequest, signal: AbortSignal | undefined): Promise<Exchange> {
    const what = `${spec.method} ${this.options.origin}${spec.path}`;
    const answer = await this.#exchange(spec, this.options.timeoutMs, signal);
    const err = statusError(answer.status, answer.retryAfter, answer.snippet, {
      what,
      sls: this.options.encoding === 'sls',
    });
    if (err !== undefined) {
      this.#log.debug({ status: answer.status, kind: err.kind, reason: err.reason, path: spec.path }, 'request refused');
      throw err;
    }
    return answer;
  }

  /**
   * One request and its whole answer within `timeoutMs`. Resolves with the status for any
   * HTTP answer; rejects with a retryable DeliveryError when there was none.
   */
  async #exchange(spec: RequestSpec | PendingRequest, timeoutMs: number, signal?: AbortSignal): Promise<Exchange> {
    // `timeoutMs` runs from connecting to the last byte: a request waiting for one of the
    // `concurrency` connections is not on the clock yet (it would time out without ever
    // having been slow, and its retry would queue again).
    await this.#acquireSlot(signal);
    try {
      const ready = typeof spec.body === 'function' ? { ...spec, body: await spec.body() } : (spec as RequestSpec);
      return await this.#timedExchange(ready, timeoutMs, signal);
    } finally {
      this.#releaseSlot();
    }
  }

  #acquireSlot(signal?: AbortSignal): Promise<void> {
    if (this.#slots > 0) {
      this.#slots--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#slotWaiters.indexOf(grant);
        if (at >= 0) this.#slotWaiters.splice(at, 1);
        reject(new DeliveryError(`${this.name}: aborted while waiting for a connection`, { kind: 'retryable', reason: 'aborted', cause: signal?.reason }));
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#slotWaiters.push(grant);
    });
  }

  #releaseSlot(): void {
    const next = this.#slotWaiters.shift();
    if (next !== undefined) next();
    else this.#slots++;
  }

  async #timedExchange(spec: RequestSpec, timeoutMs: number, signal?: AbortSignal): Promise<Exchange> {
    const what = `${spec.method} ${this.options.origin}${spec.path}`;
    const controller = new AbortController();
    let timedOut = false;
    let aborted = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(TIMEOUT);
    }, timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      controller.abort(signal?.reason);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.#closing !== undefined) throw new DeliveryError(`${what}: the client is closed`, { kind: 'retryable', reason: 'closed' });
      const exchange = this.#send(spec, controller.signal);
      this.#inFlight.add(exchange);
      let answer: Exchange;
      try {
        answer = await exchange;
      } finally {
        this.#inFlight.delete(exchange);
      }
      this.#setConnected(true);
      return answer;
    } catch (err) {
      const failure = transportError(err, { what, timedOut, timeoutMs, aborted });
      if (failure.reason !== 'aborted' && failure.reason !== 'closed') this.#setConnected(false, failure);
      throw failure;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Sends `spec` and reads the whole answer (a 2xx counts as an ack only once all of it arrived). */
  async #send(spec: RequestSpec, signal: AbortSignal): Promise<Exchange> {
    const headers: http.OutgoingHttpHeaders = spec.headers;
    if (spec.body !== undefined) headers['content-length'] = spec.body.length;
    let sent: Sent;
    try {
      sent = await this.#request(spec, headers, signal, this.#target);
    } catch (err) {
      // A kept-alive socket the server had already closed (its FIN not yet seen here, or a
      // server's idle timeout crossing our request): sent again once, as Node's documentation
      // advises, if not a byte of an answer came back. On a connection of its own: the
      // agent's other idle connections are likely closed too (a server restart). Safe: the
      // request carries its idempotency key (D2).
      if (!(err as StaleCandidate).staleSocket || !STALE_CONNECTION_CODES.has((err as NodeJS.ErrnoException).code ?? '') || signal.aborted) throw err;
      this.#staleRetries++;
      this.#log.debug({ path: spec.path }, 'kept-alive connection was closed by the server; sending again on a new one');
      sent = await this.#request(spec, headers, signal, this.#ownConnection);
    }
    const { req, res } = sent;
    // Read (or drop) the body before settling: the connection is reused only after it.
    const snippet = await readBodySnippet(res);
    // A server may answer before it has read the whole body (an early 413, a gateway's 401).
    // The connection is busy until the body is out, and so is the slot: releasing it now
    // would queue the next request inside the agent, where neither its deadline nor an
    // abort reaches it. Waits for the body to go out, or for the request to end (its
    // deadline or an abort destroys it, as does the server closing the connection).
    const bodyWritten = req.writableFinished || (await bodyOut(req, signal));
    return { status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], snippet, bodyWritten };
  }

  /**
   * One request; resolves with it and its response (headers received), rejects with its
   * error, or at once when `signal` aborts (a request Node has queued for a connection
   * reports its abort only once it gets one).
   */
  #request(spec: RequestSpec, headers: http.OutgoingHttpHeaders, signal: AbortSignal, target: http.RequestOptions): Promise<Sent> {
    const aborted = (): Error => Object.assign(new Error('The operation was aborted'), { name: 'AbortError', cause: signal.reason });
    if (signal.aborted) return Promise.reject(aborted());
    return new Promise<Sent>((resolve, reject) => {
      const req = this.#transport.request({ ...target, method: spec.method, path: spec.path, headers, signal });
      const onAbort = (): void => {
        reject(aborted());
        req.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.once('response', (res) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ req, res });
      });
      // `on`, not `once`: a request can report a second error (after an abort) and must not crash.
      let readBefore = -1;
      req.once('socket', (socket) => {
        readBefore = socket.bytesRead;
      });
      req.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        const stale = req.reusedSocket && readBefore >= 0 && req.socket?.bytesRead === readBefore;
        reject(Object.assign(err, { staleSocket: stale }));
      });
      req.end(spec.body);
    });
  }

  #setConnected(connected: boolean, why?: DeliveryError): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    if (connected) this.#log.debug('host reachable');
    else this.#log.info({ reason: why?.reason, err: why?.message }, 'host unreachable');
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) {
      throw new DeliveryError(`${this.name}: the client is closed`, { kind: 'retryable', reason: 'closed' });
    }
  }
}

/**
 * Resolves true once all of `req`'s body went to its connection, false if the request ends
 * first; `signal` aborting ends it (the connection is dropped: it still holds unsent body).
 */
function bodyOut(req: http.ClientRequest, signal: AbortSignal): Promise<boolean> {
  if (req.destroyed) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const settle = (written: boolean): void => {
      req.off('finish', onFinish);
      req.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      resolve(written);
    };
    const onFinish = (): void => settle(true);
    const onClose = (): void => settle(req.writableFinished);
    const onAbort = (): void => {
      req.destroy();
      settle(false);
    };
    req.once('finish', onFinish);
    req.once('close', onClose);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves and validates `options` (throws `WALSHIP_INVALID_OPTIONS`) and creates the client. */
export function createHttpClient(options: HttpSinkOptions): HttpClient {
  return new HttpClient(resolveHttpSinkOptions(options));
}
