/**
 * The crash harness's and the end-to-end benchmark's receiver: an HTTP server on loopback
 * that takes whatever the HTTP sink sends (json, ndjson, or sls with `compression: 'none'`),
 * finds every `seq=NNNNNNNNNN` in each body and counts, per sequence number, how often it
 * arrived: in every request answered 2xx (before deduplication) and in the requests whose
 * idempotency key was new (after deduplication). It keeps no logs, so it keeps up with
 * hundreds of thousands of lines a second, and its counters survive `restart()` (the
 * listening socket goes away and comes back on the same port; the counts are the harness's).
 *
 * Faults, from a seeded PRNG: `failRate` answers `failStatus` (503) without counting,
 * `resetRate` destroys the connection after the body was read (the sender cannot tell
 * whether it was stored: it was not), `latencyMs` delays every answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { mulberry32 } from '../receiver/prng.ts';

export interface SeqReceiverOptions {
  /** Sequence numbers expected: 1 … `expected` (others are counted as strays). */
  readonly expected: number;
  /** @defaultValue 0 (a free port) */
  readonly port?: number;
  /** @defaultValue 0 */
  readonly failRate?: number;
  /** @defaultValue 503 */
  readonly failStatus?: number;
  /** @defaultValue 0 */
  readonly resetRate?: number;
  /** Added before each answer: fixed, or uniform in a `[min, max]` range. @defaultValue 0 */
  readonly latencyMs?: number | readonly [number, number];
  /** @defaultValue 1 */
  readonly seed?: number;
  /** Start with the socket closed (down until `up()`). @defaultValue false */
  readonly down?: boolean;
}

export interface SeqReceiverStats {
  readonly requests: number;
  readonly acceptedRequests: number;
  /** Requests answered 2xx whose idempotency key had been stored already. */
  readonly duplicateRequests: number;
  readonly failed: number;
  readonly resets: number;
  /** Distinct expected sequence numbers received. */
  readonly unique: number;
  /** Arrivals beyond the first, in every 2xx request (before deduplication). */
  readonly duplicatesBeforeDedup: number;
  /** Arrivals beyond the first, in the requests stored (after deduplication). */
  readonly duplicatesAfterDedup: number;
  /** `seq=` values outside 1 … expected. */
  readonly strays: number;
  readonly bytes: number;
  /** When the first and the last new sequence number arrived (ms, performance.now()). */
  readonly firstAt: number | undefined;
  readonly lastAt: number | undefined;
}

const SEQ = Buffer.from('seq=');
const DIGITS = 10;
const KEY_HEADER = 'x-walship-idempotency-key';

export class SeqReceiver {
  readonly expected: number;
  #port: number;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #options: Required<Omit<SeqReceiverOptions, 'port' | 'down'>>;
  readonly #random: () => number;
  /** Per seq (index seq-1): arrivals in 2xx requests, and in stored requests; saturating. */
  readonly #seen: Uint8Array;
  readonly #stored: Uint8Array;
  readonly #keys = new Set<string>();
  #stats = {
    requests: 0,
    acceptedRequests: 0,
    duplicateRequests: 0,
    failed: 0,
    resets: 0,
    unique: 0,
    duplicatesBeforeDedup: 0,
    duplicatesAfterDedup: 0,
    strays: 0,
    bytes: 0,
    firstAt: undefined as number | undefined,
    lastAt: undefined as number | undefined,
  };

  private constructor(options: SeqReceiverOptions) {
    this.expected = options.expected;
    this.#port = options.port ?? 0;
    this.#options = {
      expected: options.expected,
      failRate: options.failRate ?? 0,
      failStatus: options.failStatus ?? 503,
      resetRate: options.resetRate ?? 0,
      latencyMs: options.latencyMs ?? 0,
      seed: options.seed ?? 1,
    };
    this.#random = mulberry32(this.#options.seed);
    this.#seen = new Uint8Array(options.expected);
    this.#stored = new Uint8Array(options.expected);
  }

  static async start(options: SeqReceiverOptions): Promise<SeqReceiver> {
    if (!Number.isSafeInteger(options.expected) || options.expected < 1) {
      throw new TypeError(`Expected \`expected\` to be a positive integer, got ${options.expected}`);
    }
    const receiver = new SeqReceiver(options);
    // A receiver that starts down still needs its port (the config names it): take one, then close.
    await receiver.up();
    if (options.down === true) await receiver.down();
    return receiver;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Listens (again) on the same port. */
  async up(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = createServer((req, res) => this.#handle(req, res));
    server.keepAliveTimeout = 30_000;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address === 'object' && address !== null) this.#port = address.port;
    this.#server = server;
  }

  /** Stops listening and drops every connection; the counts stay. */
  async down(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  async restart(): Promise<void> {
    await this.down();
    await this.up();
  }

  close(): Promise<void> {
    return this.down();
  }

  stats(): SeqReceiverStats {
    return { ...this.#stats };
  }

  /** Expected sequence numbers never received (at most `limit`). */
  missing(limit = Number.POSITIVE_INFINITY): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#seen.length && out.length < limit; i++) if (this.#seen[i] === 0) out.push(i + 1);
    return out;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') {
      res.writeHead(req.method === 'HEAD' ? 200 : 405, { 'content-length': '0' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      this.#stats.requests++;
      const f = this.#options;
      const answer = (): void => {
        if (f.failRate > 0 && this.#random() < f.failRate) {
          this.#stats.failed++;
          res.writeHead(f.failStatus, { 'content-length': '0', 'retry-after': '0' }).end();
          return;
        }
        if (f.resetRate > 0 && this.#random() < f.resetRate) {
          this.#stats.resets++;
          req.socket.destroy();
          return;
        }
        this.#count(body, req.headers[KEY_HEADER]);
        res.writeHead(200, { 'content-length': '0' }).end();
      };
      const [lo, hi] = typeof f.latencyMs === 'number' ? [f.latencyMs, f.latencyMs] : f.latencyMs;
      const delay = hi > 0 ? lo + Math.floor(this.#random() * (hi - lo + 1)) : 0;
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  }

  #count(body: Buffer, key: string | string[] | undefined): void {
    const s = this.#stats;
    s.bytes += body.length;
    const k = typeof key === 'string' ? key : undefined;
    const duplicate = k !== undefined && this.#keys.has(k);
    if (k !== undefined && !duplicate) this.#keys.add(k);
    if (duplicate) s.duplicateRequests++;
    else s.acceptedRequests++;
    const now = performance.now();
    for (let at = body.indexOf(SEQ); at >= 0; at = body.indexOf(SEQ, at + SEQ.length)) {
      let seq = 0;
      let i = at + SEQ.length;
      const end = i + DIGITS;
      if (end > body.length) break;
      for (; i < end; i++) {
        const d = body[i]! - 0x30;
        if (d < 0 || d > 9) break;
        seq = seq * 10 + d;
      }
      if (i < end) continue;
      if (seq < 1 || seq > this.expected) {
        s.strays++;
        continue;
      }
      const n = seq - 1;
      if (this.#seen[n]! === 0) {
        s.unique++;
        s.firstAt ??= now;
        s.lastAt = now;
      } else s.duplicatesBeforeDedup++;
      if (this.#seen[n]! < 255) this.#seen[n] = this.#seen[n]! + 1;
      if (!duplicate) {
        if (this.#stored[n]! > 0) s.duplicatesAfterDedup++;
        if (this.#stored[n]! < 255) this.#stored[n] = this.#stored[n]! + 1;
      }
    }
  }
}

export function startSeqReceiver(options: SeqReceiverOptions): Promise<SeqReceiver> {
  return SeqReceiver.start(options);
}
