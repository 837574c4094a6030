import { open, readFile, type FileHandle } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { ErrorCodes, WalshipError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { countRequest, decodeRequest, encodingOf, mediaType, RequestProblem, type RequestFacts } from './decode-request.ts';
import { mulberry32 } from './prng.ts';
import type { ReceivedEncoding, ReceivedLog } from './received-log.ts';
import {
  type ReceiverFaults,
  type ReceiverOptions,
  type ResolvedReceiverFaults,
  type ResolvedReceiverOptions,
  resolveReceiverFaults,
  resolveReceiverOptions,
} from './receiver-options.ts';

/** The header deduplication is keyed on (the HTTP sink's). */
const IDEMPOTENCY_HEADER = 'x-walship-idempotency-key';
const SLS_PATH = /^(.*)\/logstores\/([^/]+)\/shards\/lb$/;

export interface ReceiverFaultCounts {
  /** Answered `failStatus` by `failRate`. */
  readonly fail: number;
  /** Connection destroyed without an answer by `resetRate`. */
  readonly reset: number;
  /** Answered 429 with `Retry-After` by `retryAfterRate`. */
  readonly retryAfter: number;
  /** Delayed by `latencyMs` (still processed). */
  readonly latency: number;
  /** Answered `rejectStatus` because a log matched `rejectWhen`. */
  readonly reject: number;
  /** Outages started with `outage(ms)`. */
  readonly outage: number;
}

export interface ReceiverStats {
  /** POST requests received (whatever became of them). */
  readonly requests: number;
  /** Requests whose logs were stored (a 2xx that was not a duplicate). */
  readonly acceptedRequests: number;
  /** Requests whose idempotency key had been accepted before: answered 200, not stored again. */
  readonly duplicateRequests: number;
  /** Requests that could not be decoded (4xx other than injected faults). */
  readonly invalidRequests: number;
  /** Unique logs stored. */
  readonly logs: number;
  /** Logs of duplicate requests. */
  readonly duplicateLogs: number;
  /** Body bytes of all POST requests, as on the wire. */
  readonly bytes: number;
  readonly faults: ReceiverFaultCounts;
}

export type RequestOutcome = 'accepted' | 'duplicate' | 'fail' | 'reset' | 'retryAfter' | 'reject' | 'invalid' | 'dropped';

/** One POST request as the receiver saw it (`receiver.requests()`). */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-cased names, as received (credentials included: this is a test receiver). */
  readonly headers: Readonly<Record<string, string>>;
  readonly idempotencyKey?: string;
  readonly encoding?: ReceivedEncoding;
  readonly bodyBytes: number;
  /** Logs decoded from the body (0 when it was not decoded). */
  readonly logs: number;
  /** The status answered, or undefined when no answer was sent (reset, outage). */
  readonly status: number | undefined;
  readonly outcome: RequestOutcome;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

type MutableStats = Mutable<Omit<ReceiverStats, 'faults'>> & { faults: Mutable<ReceiverFaultCounts> };

function emptyStats(): MutableStats {
  return {
    requests: 0,
    acceptedRequests: 0,
    duplicateRequests: 0,
    invalidRequests: 0,
    logs: 0,
    duplicateLogs: 0,
    bytes: 0,
    faults: { fail: 0, reset: 0, retryAfter: 0, latency: 0, reject: 0, outage: 0 },
  };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) return undefined;
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

/**
 * A real HTTP(S) receiver for the HTTP sink's three encodings, with deduplication on
 * `X-Walship-Idempotency-Key` and faults on demand. See `src/receiver/index.ts`.
 */
export class Receiver {
  /** `http://127.0.0.1:<port>` (or `https://`). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The seed of the fault PRNG (print it to replay a run). */
  readonly seed: number;

  readonly #options: ResolvedReceiverOptions;
  readonly #server: Server;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #sockets = new Set<Socket>();
  readonly #stats = emptyStats();
  readonly #logs: ReceivedLog[] = [];
  readonly #requests: ReceivedRequest[] = [];
  /** Idempotency keys whose logs were stored. */
  readonly #keys = new Set<string>();
  /** Keys whose first request is being stored: duplicates wait for its outcome. */
  readonly #pending = new Map<string, Promise<void>>();
  readonly #sleepers = new Set<() => void>();
  readonly #closeController = new AbortController();
  #faults: ResolvedReceiverFaults;
  #file: FileHandle | undefined;
  /** `<out>.keys`: one line per stored request, written after its logs (see #store). */
  #keysFile: FileHandle | undefined;
  /** Bytes of `out`: where the next request's logs begin. */
  #outBytes = 0;
  /** Bytes of `.keys`: where the next commit line begins. */
  #keysBytes = 0;
  #writeChain: Promise<void> = Promise.resolve();
  /** Bumped by an outage and by close: requests from an older epoch are dropped, not stored. */
  #epoch = 0;
  #requestIds = 0;
  #outage: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;

  private constructor(
    options: ResolvedReceiverOptions,
    server: Server,
    port: number,
    files: OutFiles | undefined,
  ) {
    this.#options = options;
    this.#server = server;
    this.#file = files?.out;
    this.#keysFile = files?.keys;
    this.#outBytes = files?.outBytes ?? 0;
    this.#keysBytes = files?.keysBytes ?? 0;
    for (const key of files?.storedKeys ?? []) this.#keys.add(key);
    this.#log = options.logger;
    this.#faults = options.faults;
    this.seed = options.seed;
    this.#random = mulberry32(options.seed);
    this.host = options.host;
    this.port = port;
    const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.url = `${options.tls === undefined ? 'http' : 'https'}://${shownHost}:${port}`;
  }

  /** @internal Use {@link startReceiver}. */
  static async start(options: ReceiverOptions = {}): Promise<Receiver> {
    const resolved = resolveReceiverOptions(options);
    const files = resolved.out === undefined ? undefined : await openOut(resolved.out);
    let receiver: Receiver | undefined;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      receiver?.handle(req, res);
    };
    const server =
      resolved.tls === undefined
        ? createHttpServer(handler)
        : (createHttpsServer({ cert: resolved.tls.cert, key: resolved.tls.key }, handler) as unknown as Server);
    try {
      await listen(server, resolved.port, resolved.host);
    } catch (err) {
      await files?.out.close();
      await files?.keys.close();
      throw new WalshipError(ErrorCodes.INVALID_OPTIONS, `receiver: cannot listen on ${resolved.host}:${resolved.port}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : resolved.port;
    receiver = new Receiver(resolved, server, port, files);
    server.on('connection', (socket: Socket) => receiver?.track(socket));
    resolved.logger.debug({ url: receiver.url, seed: resolved.seed }, 'receiver listening');
    return receiver;
  }

  /** A snapshot of the counters. */
  stats(): ReceiverStats {
    return { ...this.#stats, faults: { ...this.#stats.faults } };
  }

  /** The unique logs stored, in arrival order (empty with `keepLogs: false`). */
  logs(): readonly ReceivedLog[] {
    return this.#logs.slice();
  }

  /** The last `keepRequests` POST requests, oldest first. */
  requests(): readonly ReceivedRequest[] {
    return this.#requests.slice();
  }

  /** The faults in force. */
  faults(): ResolvedReceiverFaults {
    return this.#faults;
  }

  /**
   * Changes the faults: `patch` is merged over the faults in force; a field given as
   * `undefined` goes back to its default. Throws `WALSHIP_INVALID_OPTIONS` like `startReceiver`.
   */
  setFaults(patch: ReceiverFaults): void {
    this.#faults = resolveReceiverFaults({ ...this.#faults, ...patch });
  }

  /** Removes every fault. */
  clearFaults(): void {
    this.#faults = resolveReceiverFaults({});
  }

  /**
   * A full outage: the listening socket is closed and every connection destroyed at once (so
   * clients get ECONNREFUSED, and requests in progress are dropped unanswered and unstored);
   * after `ms` the receiver listens again on the same port. Resolves when it is back. A call
   * during an outage returns the outage in progress.
   */
  outage(ms: number): Promise<void> {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      return Promise.reject(new WalshipError(ErrorCodes.INVALID_OPTIONS, `Expected \`ms\` to be an integer >= 0, got ${String(ms)}`));
    }
    if (this.#closed) return Promise.reject(new WalshipError(ErrorCodes.CLOSED, 'receiver: closed'));
    if (this.#outage !== undefined) return this.#outage;
    this.#stats.faults.outage++;
    this.#log.debug({ ms }, 'receiver outage');
    const closed = this.#stopListening();
    this.#outage = (async () => {
      try {
        await Promise.all([closed, this.#sleep(ms)]);
        if (!this.#closed) await listen(this.#server, this.port, this.host);
      } finally {
        this.#outage = undefined;
      }
    })();
    return this.#outage;
  }

  /** Stops listening, drops every connection, flushes `out`. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      // Wakes every wait, an outage's included; an outage then does not listen again.
      this.#closeController.abort();
      await this.#outage?.catch(() => undefined);
      await this.#stopListening();
      await Promise.allSettled(this.#pending.values());
      await this.#writeChain;
      await this.#file?.close();
      await this.#keysFile?.close();
      this.#file = undefined;
      this.#keysFile = undefined;
      this.#log.debug('receiver closed');
    })();
    return this.#closing;
  }

  /** @internal */
  track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** @internal The request handler. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': '0' }).end();
      return;
    }
    if (req.method === 'GET') {
      if (path === '/stats') this.#json(res, 200, this.stats());
      else this.#json(res, 404, { errorCode: 'NotFound', errorMessage: `no ${path}` });
      return;
    }
    if (req.method !== 'POST') {
      this.#json(res, 405, { errorCode: 'MethodNotAllowed', errorMessage: `${req.method} is not supported` }, { allow: 'POST, GET, HEAD' });
      return;
    }
    this.#post(req, res, path).catch((err: unknown) => {
      this.#log.warn({ err }, 'receiver: request failed');
      if (!res.headersSent) this.#json(res, 500, { errorCode: 'InternalServerError', errorMessage: String(err) });
      else res.destroy();
    });
  }

  async #post(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const epoch = this.#epoch;
    const stats = this.#stats;
    stats.requests++;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      const value = headerValue(v);
      if (value !== undefined) headers[k] = value;
    }
    const key = headers[IDEMPOTENCY_HEADER];
    const sls = SLS_PATH.exec(path);
    const encoding: ReceivedEncoding | undefined =
      sls !== null ? (mediaType(headers['content-type']) === 'application/x-protobuf' ? 'sls' : undefined) : encodingOf(headers['content-type']);
    const record = (outcome: RequestOutcome, status: number | undefined, bodyBytes: number, logs = 0): void => {
      if (this.#options.keepRequests === 0) return;
      const entry: Mutable<ReceivedRequest> = { method: 'POST', path, headers, bodyBytes, logs, status, outcome };
      if (key !== undefined) entry.idempotencyKey = key;
      if (encoding !== undefined) entry.encoding = encoding;
      this.#requests.push(entry);
      if (this.#requests.length > this.#options.keepRequests) this.#requests.shift();
    };

    const body = await readBody(req, this.#options.maxBodyBytes);
    if (body === undefined) {
      stats.invalidRequests++;
      record('invalid', 413, this.#options.maxBodyBytes);
      this.#json(res, 413, { errorCode: 'PostBodyTooLarge', errorMessage: `body larger than ${this.#options.maxBodyBytes} bytes` }, { connection: 'close' });
      return;
    }
    stats.bytes += body.length;

    // Fault decisions: always four draws in this order, so a seed replays the same faults
    // for the same sequence of requests whatever the rates are.
    const f = this.#faults;
    const drawReset = this.#random();
    const drawFail = this.#random();
    const drawRetryAfter = this.#random();
    const drawLatency = this.#random();
    const [minLatency, maxLatency] = f.latencyMs;
    if (maxLatency > 0) {
      stats.faults.latency++;
      await this.#sleep(minLatency + Math.floor(drawLatency * (maxLatency - minLatency + 1)));
    }
    if (epoch !== this.#epoch) return this.#drop(req, record, body.length);
    if (drawReset < f.resetRate) {
      stats.faults.reset++;
      record('reset', undefined, body.length);
      req.socket.destroy();
      return;
    }
    if (drawFail < f.failRate) {
      stats.faults.fail++;
      record('fail', f.failStatus, body.length);
      this.#json(res, f.failStatus, { errorCode: 'InjectedFailure', errorMessage: `injected ${f.failStatus}` });
      return;
    }
    if (drawRetryAfter < f.retryAfterRate) {
      stats.faults.retryAfter++;
      record('retryAfter', 429, body.length);
      this.#json(
        res,
        429,
        { errorCode: 'WriteQuotaExceed', errorMessage: `injected 429, retry after ${f.retryAfterSeconds} s` },
        { 'retry-after': String(f.retryAfterSeconds) },
      );
      return;
    }

    // The fast path: nothing needs the logs themselves (no `logs()`, no `out`, no
    // `rejectWhen`), so they are counted without being built (see countRequest).
    const countOnly = !this.#options.keepLogs && this.#options.out === undefined && f.rejectWhen === undefined;
    let logs: ReceivedLog[] | undefined;
    let count: number;
    try {
      if (encoding === undefined) {
        throw new RequestProblem(415, 'UnsupportedMediaType', `Content-Type ${JSON.stringify(headers['content-type'] ?? '')} is not supported here`);
      }
      let logstore: string | undefined;
      if (sls !== null) {
        try {
          logstore = decodeURIComponent(sls[2]!);
        } catch {
          throw new RequestProblem(400, 'InvalidParameter', `logstore ${JSON.stringify(sls[2])} in the path is not valid percent-encoding`);
        }
        if (this.#options.logstores !== undefined && !this.#options.logstores.has(logstore)) {
          throw new RequestProblem(404, 'LogStoreNotExist', `logstore ${JSON.stringify(logstore)} does not exist`);
        }
      }
      const facts: RequestFacts = {
        encoding,
        logstore,
        contentEncoding: headers['content-encoding'],
        compressType: headers['x-log-compresstype'],
        rawSize: headers['x-log-bodyrawsize'],
        idempotencyKey: key,
        maxBodyBytes: this.#options.maxBodyBytes,
      };
      if (countOnly) {
        count = countRequest(body, facts);
      } else {
        logs = decodeRequest(body, facts);
        count = logs.length;
      }
    } catch (err) {
      if (!(err instanceof RequestProblem)) throw err;
      stats.invalidRequests++;
      record('invalid', err.status, body.length);
      this.#json(res, err.status, { errorCode: err.errorCode, errorMessage: err.message });
      return;
    }

    // Deduplicate: a key already stored is acknowledged again without storing; a key being
    // stored right now is waited for, so no duplicate is acked before its original is stored.
    if (key !== undefined) {
      for (let pending = this.#pending.get(key); pending !== undefined; pending = this.#pending.get(key)) {
        await pending.catch(() => undefined);
      }
      if (this.#keys.has(key)) {
        stats.duplicateRequests++;
        stats.duplicateLogs += count;
        record('duplicate', 200, body.length, count);
        this.#ok(res, encoding!, count, true);
        return;
      }
    }
    const rejectWhen = f.rejectWhen;
    if (rejectWhen !== undefined && logs !== undefined) {
      const bad = logs.findIndex((l) => rejectWhen(l));
      if (bad >= 0) {
        stats.faults.reject++;
        record('reject', f.rejectStatus, body.length, count);
        this.#json(res, f.rejectStatus, {
          errorCode: 'InjectedRejection',
          errorMessage: `log ${bad} of the request was rejected by rejectWhen`,
        });
        return;
      }
    }
    if (epoch !== this.#epoch) return this.#drop(req, record, body.length);

    // Store before answering 2xx: with `out`, the lines are written before the sender sees
    // its ack. On the fast path there is nothing to store, and nothing awaited from the
    // dedup check to here, so no duplicate can slip in between.
    if (logs !== undefined) {
      const store = this.#store(logs, key);
      if (key !== undefined) this.#pending.set(key, store);
      try {
        await store;
      } catch (err) {
        record('invalid', 500, body.length, count);
        this.#json(res, 500, { errorCode: 'InternalServerError', errorMessage: `cannot write out: ${(err as Error).message}` });
        return;
      } finally {
        if (key !== undefined) this.#pending.delete(key);
      }
    }
    if (key !== undefined) this.#keys.add(key);
    stats.acceptedRequests++;
    stats.logs += count;
    if (this.#options.keepLogs && logs !== undefined) for (const l of logs) this.#logs.push(l);
    record('accepted', 200, body.length, count);
    this.#ok(res, encoding!, count, false);
  }

  async #store(logs: readonly ReceivedLog[], key: string | undefined): Promise<void> {
    const file = this.#file;
    const keysFile = this.#keysFile;
    if (file === undefined || keysFile === undefined) return;
    let text = '';
    for (const l of logs) text += `${JSON.stringify(l)}\n`;
    // One writer at a time, so the lines of concurrent requests never interleave. The commit
    // line (the key, a tab, the size of `out` after these logs) is written only after all of
    // them: a receiver killed in between has no record of the request, and the next start
    // cuts `out` back to the last committed size (openOut), so the retry stores the logs
    // once, not twice. A request without a key is committed too (an empty key).
    const write = this.#writeChain.then(async () => {
      const before = this.#outBytes;
      const keysBefore = this.#keysBytes;
      try {
        await file.appendFile(text);
        this.#outBytes += Buffer.byteLength(text);
        const commit = `${key ?? ''}\t${this.#outBytes}\n`;
        await keysFile.appendFile(commit);
        this.#keysBytes += Buffer.byteLength(commit);
      } catch (err) {
        // Answered 500, so retried: nothing of it stays in either file (a part written before
        // a disk-full error, or all of its logs when its commit line failed), and the next
        // request's commit size is where its logs really end.
        this.#outBytes = before;
        this.#keysBytes = keysBefore;
        await file.truncate(before).catch(async () => {
          this.#outBytes = (await file.stat().catch(() => ({ size: before }))).size;
        });
        await keysFile.truncate(keysBefore).catch(() => undefined);
        throw err;
      }
    });
    this.#writeChain = write.catch(() => undefined);
    await write;
  }

  #drop(req: IncomingMessage, record: (o: RequestOutcome, s: number | undefined, b: number) => void, bodyBytes: number): void {
    record('dropped', undefined, bodyBytes);
    req.socket.destroy();
  }

  #ok(res: ServerResponse, encoding: ReceivedEncoding, logs: number, duplicate: boolean): void {
    const requestId = `${this.seed.toString(16)}-${(++this.#requestIds).toString(16)}`;
    if (encoding === 'sls') {
      if (!res.destroyed) res.writeHead(200, { 'content-length': '0', 'x-log-requestid': requestId }).end();
      return;
    }
    this.#json(res, 200, { accepted: logs, duplicate }, { 'x-log-requestid': requestId });
  }

  #json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed || res.headersSent) return;
    const text = JSON.stringify(body);
    res
      .writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) })
      .end(text);
  }

  /** Closes the listening socket and destroys every connection; resolves when all are gone. */
  #stopListening(): Promise<void> {
    this.#epoch++;
    for (const wake of this.#sleepers) wake();
    const closed = new Promise<void>((resolve) => {
      // Called back with ERR_SERVER_NOT_RUNNING during an outage: nothing to close then.
      if (this.#server.listening) this.#server.close(() => resolve());
      else resolve();
    });
    for (const socket of this.#sockets) socket.destroy();
    return closed;
  }

  /** Waits `ms`; cut short by an outage, by close, or (for an outage's wait) by close only. */
  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        this.#closeController.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
      this.#closeController.signal.addEventListener('abort', wake, { once: true });
    });
  }
}

async function listen(server: Server, port: number, host: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return;
    } catch (err) {
      // Re-listening after an outage: the port may take a moment to be free again.
      if ((err as { code?: string }).code !== 'EADDRINUSE' || port === 0 || attempt >= 40) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Starts a receiver (see {@link ReceiverOptions}); resolves once it is listening. */
/**
 * Cuts a torn last line (no newline: the receiver was killed while appending it) off the file
 * open in `handle`, so that the next line starts a line of its own. Its request was never
 * answered, so the sender sends its logs again.
 */
async function cutTornTail(handle: FileHandle): Promise<void> {
  const { size } = await handle.stat();
  let end = size;
  const chunk = Buffer.alloc(64 * 1024);
  while (end > 0) {
    const from = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - from, from);
    const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) {
      end = from + nl + 1;
      break;
    }
    end = from;
  }
  if (end < size) await handle.truncate(end);
}

interface OutFiles {
  readonly out: FileHandle;
  readonly keys: FileHandle;
  readonly storedKeys: readonly string[];
  readonly outBytes: number;
  readonly keysBytes: number;
}

/**
 * Opens `out` for appending and `<out>.keys`, reading back the keys stored by an earlier run
 * on the same file, so deduplication survives a restart of the receiver. Each line of
 * `.keys` commits one request: its key, a tab, and the size of `out` once its logs were
 * written. Logs past the last committed size (the receiver was killed after writing them and
 * before their commit line, torn or whole) are cut off `out`: their request was never
 * answered, and the sender's retry stores them again, once. A torn last line of `.keys` is
 * cut. Without a committed size that fits (new files, a `.keys` of an older receiver, `out`
 * deleted), only a torn last line of `out` is cut. Either way a commit line for the size
 * `out` starts at is then written (an empty key), so that the next start cuts back to it.
 */
async function openOut(path: string): Promise<OutFiles> {
  const keysPath = `${path}.keys`;
  const storedKeys: string[] = [];
  let committed: number | undefined;
  let wholeKeysBytes = 0;
  try {
    const text = await readFile(keysPath, 'utf8');
    wholeKeysBytes = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1));
    const lines = text.split('\n');
    lines.pop(); // '' after the last newline, or a torn line without one
    for (const line of lines) {
      const tab = line.lastIndexOf('\t');
      const size = tab >= 0 && /^\d+$/.test(line.slice(tab + 1)) ? Number(line.slice(tab + 1)) : undefined;
      const key = size === undefined ? line : line.slice(0, tab);
      if (key !== '') storedKeys.push(key);
      if (size !== undefined) committed = size;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const out = await open(path, 'a+');
  let outBytes: number;
  try {
    const { size } = await out.stat();
    if (committed !== undefined && committed <= size) {
      if (committed < size) await out.truncate(committed);
    } else {
      await cutTornTail(out);
    }
    outBytes = (await out.stat()).size;
  } catch (err) {
    await out.close();
    throw err;
  }
  const keys = await open(keysPath, 'a').catch(async (err: unknown) => {
    await out.close();
    throw err;
  });
  const baseline = `\t${outBytes}\n`;
  try {
    // A torn commit line (killed while writing it) is cut: its request was never answered.
    if ((await keys.stat()).size > wholeKeysBytes) await keys.truncate(wholeKeysBytes);
    await keys.appendFile(baseline);
  } catch (err) {
    await keys.close();
    await out.close();
    throw err;
  }
  return { out, keys, storedKeys, outBytes, keysBytes: wholeKeysBytes + Buffer.byteLength(baseline) };
}

export function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  return Receiver.start(options);
}
