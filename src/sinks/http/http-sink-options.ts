import { hideUrlCredentials } from '../../metrics/redact-url.ts';
import {
  DEFAULT_HTTP_CONCURRENCY,
  DEFAULT_HTTP_ENCODING,
  DEFAULT_HTTP_SLS_COMPRESSION,
  DEFAULT_HTTP_TIMEOUT_MS,
} from '../../config/defaults.ts';
import { defaultLogger, type Logger } from '../../logging/logger.ts';
import { describeValue as describe, integerOption as integer, invalidOption as invalid, type SinkTlsOptions, tlsOption } from '../option-checks.ts';

/** `sls`: one LogGroup protobuf per request; `json`: a JSON array per batch; `ndjson`: a line per log. */
export type HttpEncoding = 'sls' | 'json' | 'ndjson';

/** Compression of `sls` requests (`x-log-compresstype`): a raw LZ4 block, zlib deflate, or none. */
export type SlsCompression = 'lz4' | 'deflate' | 'none';

/** TLS settings, passed to Node's `tls.connect` through the `https.Agent`. */
export type HttpSinkTlsOptions = SinkTlsOptions;

/** Options of {@link createHttpClient}: one client per host URL. Every field but `url` is optional. */
export interface HttpSinkOptions {
  /**
   * The destination. For `sls` the base URL (requests go to
   * `{url}/logstores/{logstore}/shards/lb`); for `json` and `ndjson` the URL posted to.
   * Credentials in the URL (`https://user:pass@host`) become a Basic `Authorization` header
   * and are removed from the client's name.
   */
  readonly url: string;
  /** @defaultValue `'json'` ({@link DEFAULT_HTTP_ENCODING}) */
  readonly encoding?: HttpEncoding;
  /**
   * `x-log-compresstype` of `sls` requests. Only valid with `encoding: 'sls'`.
   * @defaultValue `'lz4'` ({@link DEFAULT_HTTP_SLS_COMPRESSION})
   */
  readonly compression?: SlsCompression;
  /**
   * Gzip the body (`Content-Encoding: gzip`). Only valid with `json` and `ndjson`.
   * @defaultValue false
   */
  readonly gzip?: boolean;
  /**
   * Keep-alive connections to the host (the agent's `maxSockets`).
   * @defaultValue 4 ({@link DEFAULT_HTTP_CONCURRENCY})
   */
  readonly concurrency?: number;
  /**
   * Time one request may take, from connecting to the last byte of the response (ms).
   * @defaultValue 30000 ({@link DEFAULT_HTTP_TIMEOUT_MS})
   */
  readonly timeoutMs?: number;
  /**
   * Extra request headers (e.g. `authorization`). Their values are never logged. Headers the
   * sink sets itself (content type and encoding, `x-log-*`, the idempotency key) may not be
   * overridden.
   * @defaultValue none
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** TLS for `https` URLs. @defaultValue Node's defaults (system roots, verification on) */
  readonly tls?: HttpSinkTlsOptions;
  /**
   * `connect()` sends a `HEAD` to the URL and counts any HTTP answer as connected. When
   * false, `connect()` only marks the client connected (HTTP is connectionless).
   * @defaultValue true
   */
  readonly probe?: boolean;
  /** A name for logs and metrics. @defaultValue the URL without credentials, query or fragment */
  readonly name?: string;
  /** Parent logger; the client logs through a child `{component: 'sink', sink: 'http'}`. */
  readonly logger?: Logger;
}

export interface ResolvedHttpSinkOptions {
  /** The URL without credentials. */
  readonly url: URL;
  /** `protocol//host:port`, for messages. */
  readonly origin: string;
  /** The URL's path without a trailing slash (`''` for the root), plus its query for json/ndjson. */
  readonly basePath: string;
  readonly encoding: HttpEncoding;
  /** `'none'` unless `encoding` is `'sls'`. */
  readonly compression: SlsCompression;
  readonly gzip: boolean;
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Lower-cased names; includes the Basic authorization derived from URL credentials. */
  readonly headers: Readonly<Record<string, string>>;
  readonly tls: HttpSinkTlsOptions | undefined;
  readonly probe: boolean;
  readonly name: string;
  readonly logger: Logger;
}

/** Headers the sink owns; `headers` may not set them. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'host',
  'connection',
  'x-walship-idempotency-key',
]);

function resolveTls(tls: unknown, url: URL): HttpSinkTlsOptions | undefined {
  if (tls === undefined) return undefined;
  const checked = tlsOption(tls);
  if (url.protocol !== 'https:') {
    throw invalid(`\`tls\` needs an https URL, got ${JSON.stringify(url.protocol.slice(0, -1))}`);
  }
  return checked;
}

/** Merges `options` over the defaults and validates them; throws `WALSHIP_INVALID_OPTIONS` naming the option. */
export function resolveHttpSinkOptions(options: HttpSinkOptions): ResolvedHttpSinkOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('Expected HTTP sink options to be an object');
  }
  const rawUrl: unknown = options.url;
  let url: URL | undefined;
  if (typeof rawUrl === 'string') {
    try {
      url = new URL(rawUrl);
    } catch {
      url = undefined;
    }
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw invalid(`Expected \`url\` to be an http(s) URL, got ${typeof rawUrl === 'string' ? JSON.stringify(hideUrlCredentials(rawUrl)) : describe(rawUrl)}`);
  }
  // Not echoed: a "#" is more often in a password that was not percent-encoded than a fragment.
  if (url.hash !== '') throw invalid('Expected `url` to have no fragment ("#…"; write a "#" in a password as "%23")');

  const encoding = options.encoding ?? DEFAULT_HTTP_ENCODING;
  if (encoding !== 'sls' && encoding !== 'json' && encoding !== 'ndjson') {
    throw invalid(`Expected \`encoding\` to be 'sls', 'json' or 'ndjson', got ${describe(encoding)}`);
  }
  if (options.compression !== undefined) {
    if (options.compression !== 'lz4' && options.compression !== 'deflate' && options.compression !== 'none') {
      throw invalid(`Expected \`compression\` to be 'lz4', 'deflate' or 'none', got ${describe(options.compression)}`);
    }
    if (encoding !== 'sls') {
      throw invalid(`\`compression\` applies to encoding 'sls' only, got encoding '${encoding}' (use \`gzip\`)`);
    }
  }
  if (options.gzip !== undefined && typeof options.gzip !== 'boolean') {
    throw invalid(`Expected \`gzip\` to be a boolean, got ${describe(options.gzip)}`);
  }
  const gzip = options.gzip ?? false;
  if (gzip && encoding === 'sls') {
    throw invalid("`gzip` applies to encodings 'json' and 'ndjson' only, got encoding 'sls' (use `compression`)");
  }
  if (url.search !== '' && encoding === 'sls') {
    throw invalid(`Expected \`url\` to have no query with encoding 'sls', got ${JSON.stringify(url.search)}`);
  }

  const concurrency = integer('concurrency', options.concurrency, DEFAULT_HTTP_CONCURRENCY, 1);
  const timeoutMs = integer('timeoutMs', options.timeoutMs, DEFAULT_HTTP_TIMEOUT_MS, 1);

  const headers: Record<string, string> = {};
  if (options.headers !== undefined) {
    if (options.headers === null || typeof options.headers !== 'object' || Array.isArray(options.headers)) {
      throw invalid(`Expected \`headers\` to be an object of strings, got ${describe(options.headers)}`);
    }
    for (const [name, value] of Object.entries(options.headers)) {
      const lower = name.toLowerCase();
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(lower)) {
        throw invalid(`Expected \`headers\` names to be HTTP tokens, got ${JSON.stringify(name)}`);
      }
      if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
        // The value itself is not quoted: it may be a credential.
        throw invalid(`Expected \`headers.${name}\` to be a string without CR, LF or NUL`);
      }
      if (RESERVED_HEADERS.has(lower) || lower.startsWith('x-log-')) {
        throw invalid(`\`headers.${name}\` is set by the sink and cannot be overridden`);
      }
      headers[lower] = value;
    }
  }
  if (url.username !== '' || url.password !== '') {
    if (headers.authorization !== undefined) {
      throw invalid('`url` carries credentials and `headers.authorization` is set too: use one of them');
    }
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }

  const tls = resolveTls(options.tls, url);
  if (options.probe !== undefined && typeof options.probe !== 'boolean') {
    throw invalid(`Expected \`probe\` to be a boolean, got ${describe(options.probe)}`);
  }
  const pathname = url.pathname.replace(/\/+$/, '');
  const defaultName = `${url.origin}${pathname}`;
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    throw invalid(`Expected \`name\` to be a non-empty string, got ${describe(options.name)}`);
  }
  const name = options.name ?? defaultName;
  const logger = (options.logger ?? defaultLogger()).child({ component: 'sink', sink: 'http', client: name });

  return {
    url,
    origin: url.origin,
    basePath: encoding === 'sls' ? pathname : `${url.pathname}${url.search}`,
    encoding,
    compression: encoding === 'sls' ? (options.compression ?? DEFAULT_HTTP_SLS_COMPRESSION) : 'none',
    gzip,
    concurrency,
    timeoutMs,
    headers,
    tls,
    probe: options.probe ?? true,
    name,
    logger,
  };
}
