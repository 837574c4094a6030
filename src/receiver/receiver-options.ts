import {
  DEFAULT_RECEIVER_FAIL_STATUS,
  DEFAULT_RECEIVER_HOST,
  DEFAULT_RECEIVER_KEEP_REQUESTS,
  DEFAULT_RECEIVER_MAX_BODY_BYTES,
  DEFAULT_RECEIVER_REJECT_STATUS,
  DEFAULT_RECEIVER_RETRY_AFTER_SECONDS,
} from '../config/defaults.ts';
import { ErrorCodes, WalshipError } from '../errors.ts';
import { defaultLogger, type Logger } from '../logging/logger.ts';
import type { ReceivedLog } from './received-log.ts';

/**
 * Faults the receiver injects into POST requests. Set them at start or change them at run
 * time with `receiver.setFaults()`. Each request draws its decisions from the seeded PRNG in a
 * fixed order, so the same seed and the same request order give the same faults.
 */
export interface ReceiverFaults {
  /**
   * Share of requests answered with `failStatus` (not stored).
   * @defaultValue 0
   */
  readonly failRate?: number;
  /** @defaultValue 503 ({@link DEFAULT_RECEIVER_FAIL_STATUS}) */
  readonly failStatus?: number;
  /**
   * Delay before answering each request, in ms: a number, or `[min, max]` drawn uniformly.
   * A slow request is still processed and stored, even when its client gave up meanwhile
   * (as a real server would: the client's retry is then a duplicate).
   * @defaultValue 0
   */
  readonly latencyMs?: number | readonly [number, number];
  /**
   * Share of requests whose connection is destroyed without an answer (not stored).
   * @defaultValue 0
   */
  readonly resetRate?: number;
  /**
   * Share of requests answered `429` with `Retry-After: retryAfterSeconds` (not stored).
   * @defaultValue 0
   */
  readonly retryAfterRate?: number;
  /** @defaultValue 1 */
  readonly retryAfterSeconds?: number;
  /**
   * A request any of whose logs matches is answered `rejectStatus` and nothing of it is
   * stored: a way to make one record of a batch bad.
   * @defaultValue none
   */
  readonly rejectWhen?: ((log: ReceivedLog) => boolean) | undefined;
  /** @defaultValue 400 ({@link DEFAULT_RECEIVER_REJECT_STATUS}) */
  readonly rejectStatus?: number;
}

/** Options of {@link startReceiver}. Every field is optional. */
export interface ReceiverOptions extends ReceiverFaults {
  /** @defaultValue `'127.0.0.1'` */
  readonly host?: string;
  /** @defaultValue 0 (a free port; read `receiver.port`) */
  readonly port?: number;
  /** Serve HTTPS with this certificate and key (PEM). @defaultValue plain HTTP */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /**
   * Append each accepted log as an NDJSON line to this file before answering 2xx (so what
   * the sender saw acknowledged is in the file). Each stored request's key and the size of
   * `out` after its logs go to `<out>.keys`, written after the logs, and are read back on start:
   * a receiver restarted on the same file keeps deduplicating what it stored before, and cuts
   * `out` back to the last committed size (logs of a request it was killed in the middle of
   * storing are stored again by the retry, once).
   * @defaultValue none
   */
  readonly out?: string;
  /** Seed of the fault PRNG. @defaultValue a random seed (read `receiver.seed`) */
  readonly seed?: number;
  /**
   * When set, SLS requests to any other logstore get `404 LogStoreNotExist`.
   * @defaultValue every logstore exists
   */
  readonly logstores?: readonly string[];
  /**
   * Keep accepted logs in memory for `receiver.logs()`. Turn off for long runs that use `out`,
   * or for load: off, without `out` and `rejectWhen`, logs are counted without being decoded
   * (the fast path, see `src/receiver/index.ts`).
   * @defaultValue true
   */
  readonly keepLogs?: boolean;
  /** How many recent requests `receiver.requests()` keeps. @defaultValue 1000 */
  readonly keepRequests?: number;
  /** Largest body, on the wire or decompressed; larger gets 413. @defaultValue 64 MiB */
  readonly maxBodyBytes?: number;
  /** @defaultValue the default logger, child `{component: 'receiver'}` */
  readonly logger?: Logger;
}

export interface ResolvedReceiverFaults {
  readonly failRate: number;
  readonly failStatus: number;
  readonly latencyMs: readonly [number, number];
  readonly resetRate: number;
  readonly retryAfterRate: number;
  readonly retryAfterSeconds: number;
  readonly rejectWhen: ((log: ReceivedLog) => boolean) | undefined;
  readonly rejectStatus: number;
}

export interface ResolvedReceiverOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
  readonly out: string | undefined;
  readonly seed: number;
  readonly logstores: ReadonlySet<string> | undefined;
  readonly keepLogs: boolean;
  readonly keepRequests: number;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  readonly faults: ResolvedReceiverFaults;
}

function invalid(message: string): WalshipError {
  return new WalshipError(ErrorCodes.INVALID_OPTIONS, message);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  return v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
}

function rate(name: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw invalid(`Expected \`${name}\` to be a number from 0 to 1, got ${describe(v)}`);
  }
  return v;
}

function integer(name: string, v: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw invalid(`Expected \`${name}\` to be an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

function status(name: string, v: unknown, fallback: number): number {
  return integer(name, v, fallback, 100, 599);
}

export function resolveReceiverFaults(faults: ReceiverFaults): ResolvedReceiverFaults {
  let latencyMs: readonly [number, number] = [0, 0];
  const l: unknown = faults.latencyMs;
  if (typeof l === 'number') {
    latencyMs = [integer('latencyMs', l, 0, 0), l];
  } else if (Array.isArray(l)) {
    const [min, max] = l as unknown[];
    if (l.length !== 2 || typeof min !== 'number' || typeof max !== 'number') {
      throw invalid(`Expected \`latencyMs\` to be a number or [min, max], got ${describe(l)}`);
    }
    integer('latencyMs[0]', min, 0, 0);
    integer('latencyMs[1]', max, 0, min);
    latencyMs = [min, max];
  } else if (l !== undefined) {
    throw invalid(`Expected \`latencyMs\` to be a number or [min, max], got ${describe(l)}`);
  }
  if (faults.rejectWhen !== undefined && typeof faults.rejectWhen !== 'function') {
    throw invalid(`Expected \`rejectWhen\` to be a function, got ${describe(faults.rejectWhen)}`);
  }
  return {
    failRate: rate('failRate', faults.failRate),
    failStatus: status('failStatus', faults.failStatus, DEFAULT_RECEIVER_FAIL_STATUS),
    latencyMs,
    resetRate: rate('resetRate', faults.resetRate),
    retryAfterRate: rate('retryAfterRate', faults.retryAfterRate),
    retryAfterSeconds: integer('retryAfterSeconds', faults.retryAfterSeconds, DEFAULT_RECEIVER_RETRY_AFTER_SECONDS, 0),
    rejectWhen: faults.rejectWhen,
    rejectStatus: status('rejectStatus', faults.rejectStatus, DEFAULT_RECEIVER_REJECT_STATUS),
  };
}

export function resolveReceiverOptions(options: ReceiverOptions = {}): ResolvedReceiverOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('Expected receiver options to be an object');
  }
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) {
    throw invalid(`Expected \`host\` to be a non-empty string, got ${describe(options.host)}`);
  }
  const tls = options.tls;
  if (tls !== undefined) {
    const pem = (v: unknown): boolean => typeof v === 'string' || Buffer.isBuffer(v);
    if (tls === null || typeof tls !== 'object' || !pem(tls.cert) || !pem(tls.key)) {
      throw invalid('Expected `tls` to be { cert, key } with PEM strings or Buffers');
    }
  }
  if (options.out !== undefined && (typeof options.out !== 'string' || options.out === '')) {
    throw invalid(`Expected \`out\` to be a file path, got ${describe(options.out)}`);
  }
  let logstores: Set<string> | undefined;
  if (options.logstores !== undefined) {
    if (!Array.isArray(options.logstores) || !options.logstores.every((s) => typeof s === 'string')) {
      throw invalid(`Expected \`logstores\` to be an array of strings, got ${describe(options.logstores)}`);
    }
    logstores = new Set(options.logstores);
  }
  if (options.keepLogs !== undefined && typeof options.keepLogs !== 'boolean') {
    throw invalid(`Expected \`keepLogs\` to be a boolean, got ${describe(options.keepLogs)}`);
  }
  return {
    host: options.host ?? DEFAULT_RECEIVER_HOST,
    port: integer('port', options.port, 0, 0, 65535),
    tls,
    out: options.out,
    seed: integer('seed', options.seed, Math.floor(Math.random() * 0x100000000), 0, 0xffffffff),
    logstores,
    keepLogs: options.keepLogs ?? true,
    keepRequests: integer('keepRequests', options.keepRequests, DEFAULT_RECEIVER_KEEP_REQUESTS, 0),
    maxBodyBytes: integer('maxBodyBytes', options.maxBodyBytes, DEFAULT_RECEIVER_MAX_BODY_BYTES, 1),
    logger: (options.logger ?? defaultLogger()).child({ component: 'receiver' }),
    faults: resolveReceiverFaults(options),
  };
}
