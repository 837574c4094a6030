/**
 * The checks every sink's `resolve…Options()` shares: a coded error for a bad option, a short
 * description of the value found, and integer ranges. Messages read "Expected `x` to be …,
 * got …" (STYLE.md).
 */
import { ErrorCodes, WalshipError } from '../errors.ts';

export function invalidOption(message: string): WalshipError {
  return new WalshipError(ErrorCodes.INVALID_OPTIONS, message);
}

/** How a message shows a value: strings quoted, objects and arrays by kind (no secrets echoed). */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : String(v);
}

/** `v` as an integer in [min, max], `fallback` when undefined. */
export function integerOption(name: string, v: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw invalidOption(`Expected \`${name}\` to be an integer ${range}, got ${describeValue(v)}`);
  }
  return v;
}

/** TLS settings of a sink's connection, passed on to Node's `tls.connect`. */
export interface SinkTlsOptions {
  /** Trusted CA certificates (PEM); replaces Node's bundled roots when set. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Client certificate (PEM) for mutual TLS. */
  readonly cert?: string | Buffer;
  /** Client private key (PEM) for mutual TLS. */
  readonly key?: string | Buffer;
  /**
   * Verify the server's certificate. Turning it off is for tests only.
   * @defaultValue true
   */
  readonly rejectUnauthorized?: boolean;
  /** The name checked against the certificate; defaults to the host. */
  readonly servername?: string;
}

function isPem(v: unknown): boolean {
  return typeof v === 'string' || Buffer.isBuffer(v);
}

/** Checks a `tls` option (PEM text or Buffers; cert and key together) and copies it. */
export function tlsOption(tls: unknown): SinkTlsOptions {
  if (tls === null || typeof tls !== 'object' || Array.isArray(tls)) {
    throw invalidOption(`Expected \`tls\` to be an object, got ${describeValue(tls)}`);
  }
  const t = tls as SinkTlsOptions;
  if (t.ca !== undefined && !(isPem(t.ca) || (Array.isArray(t.ca) && t.ca.every(isPem)))) {
    throw invalidOption(`Expected \`tls.ca\` to be a PEM string, a Buffer or an array of them, got ${describeValue(t.ca)}`);
  }
  for (const field of ['cert', 'key'] as const) {
    if (t[field] !== undefined && !isPem(t[field])) {
      throw invalidOption(`Expected \`tls.${field}\` to be a PEM string or a Buffer, got ${describeValue(t[field])}`);
    }
  }
  if ((t.cert === undefined) !== (t.key === undefined)) {
    throw invalidOption('`tls.cert` and `tls.key` go together: got one without the other');
  }
  if (t.rejectUnauthorized !== undefined && typeof t.rejectUnauthorized !== 'boolean') {
    throw invalidOption(`Expected \`tls.rejectUnauthorized\` to be a boolean, got ${describeValue(t.rejectUnauthorized)}`);
  }
  if (t.servername !== undefined && (typeof t.servername !== 'string' || t.servername === '')) {
    throw invalidOption(`Expected \`tls.servername\` to be a non-empty string, got ${describeValue(t.servername)}`);
  }
  return { ...t };
}
