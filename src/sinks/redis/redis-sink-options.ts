import {
  DEFAULT_REDIS_DEDUP_TTL_MS,
  DEFAULT_REDIS_ENTRY_PER,
  DEFAULT_REDIS_GROUP_ENCODING,
  DEFAULT_REDIS_HOST,
  DEFAULT_REDIS_KEY_TEMPLATE,
  DEFAULT_REDIS_PORT,
  DEFAULT_REDIS_TIMEOUT_MS,
} from '../../config/defaults.ts';
import { defaultLogger, type Logger } from '../../logging/logger.ts';
import { parseKeyTemplate, type KeyTemplate } from './key-template.ts';
import { describeValue as describe, integerOption as integer, invalidOption as invalid, type SinkTlsOptions, tlsOption } from '../option-checks.ts';

/** `'log'`: one stream entry per log; `'group'`: one entry per LogGroup (a record). */
export type RedisEntryPer = 'log' | 'group';

/** How a group entry's `data` field holds the LogGroup. */
export type RedisGroupEncoding = 'protobuf' | 'json';

/** TLS settings, passed to Node's `tls.connect` by ioredis. */
export type RedisSinkTlsOptions = SinkTlsOptions;

/** Options of {@link createRedisClient}. Every field is optional. */
export interface RedisSinkOptions {
  /**
   * `redis://[user:pass@]host[:port][/db]` or `rediss://…` (TLS). Conflicts with `host`/`port`;
   * `username`, `password` and `db` given beside it override what it says.
   * @defaultValue none (`host` and `port` are used)
   */
  readonly url?: string;
  /** @defaultValue `'127.0.0.1'` ({@link DEFAULT_REDIS_HOST}) */
  readonly host?: string;
  /** @defaultValue 6379 ({@link DEFAULT_REDIS_PORT}) */
  readonly port?: number;
  /** Logical database (`SELECT`). @defaultValue 0 */
  readonly db?: number;
  /** ACL user name (Redis 6+). @defaultValue none (the `default` user) */
  readonly username?: string;
  /** Password (`AUTH`). Never logged. @defaultValue none */
  readonly password?: string;
  /** TLS; also implied by a `rediss://` URL. @defaultValue none (plain TCP) */
  readonly tls?: RedisSinkTlsOptions;
  /**
   * The stream key of a record. Placeholders `{project}`, `{logstore}`, `{configName}` and
   * `{logstoreKey}` take the record's metadata; every other character, including other
   * braces, is literal. `logs:{{project}}:{logstore}` renders `logs:{proj}:store`, a Redis
   * Cluster hash tag.
   * @defaultValue `'logs:{project}:{logstore}'` ({@link DEFAULT_REDIS_KEY_TEMPLATE})
   */
  readonly keyTemplate?: string;
  /** @defaultValue `'log'` ({@link DEFAULT_REDIS_ENTRY_PER}) */
  readonly entryPer?: RedisEntryPer;
  /**
   * How a group entry (`entryPer: 'group'`) holds the LogGroup: the protobuf bytes as stored in
   * the WAL, or the JSON array of logs of the HTTP sink's `json` encoding. Only valid with
   * `entryPer: 'group'`.
   * @defaultValue `'protobuf'` ({@link DEFAULT_REDIS_GROUP_ENCODING})
   */
  readonly encoding?: RedisGroupEncoding;
  /**
   * Cap each stream near this many entries (`XADD … MAXLEN ~ n`: trimmed in whole macro
   * nodes, so the stream may hold a little more). 0 means no cap.
   * @defaultValue 0 (no cap)
   */
  readonly maxLen?: number;
  /**
   * Lifetime of a record's deduplication marker (ms): a redelivery within it is acknowledged
   * without appending again. 0 turns deduplication off.
   * @defaultValue 7200000, 2 h ({@link DEFAULT_REDIS_DEDUP_TTL_MS})
   */
  readonly dedupTtl?: number;
  /**
   * Connect timeout, and the time one script call may take before it counts as failed (ms).
   * @defaultValue 10000 ({@link DEFAULT_REDIS_TIMEOUT_MS})
   */
  readonly timeoutMs?: number;
  /** A name for logs and metrics. @defaultValue `redis://host:port/db` without credentials */
  readonly name?: string;
  /** Parent logger; the client logs through a child `{component: 'sink', sink: 'redis'}`. */
  readonly logger?: Logger;
}

export interface ResolvedRedisSinkOptions {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: RedisSinkTlsOptions | undefined;
  readonly keyTemplate: KeyTemplate;
  readonly entryPer: RedisEntryPer;
  readonly encoding: RedisGroupEncoding;
  readonly maxLen: number;
  readonly dedupTtlMs: number;
  readonly timeoutMs: number;
  readonly name: string;
  readonly logger: Logger;
}

function optionalString(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`Expected \`${name}\` to be a string, got ${typeof v}`);
  return v;
}

interface Endpoint {
  host: string;
  port: number;
  db: number | undefined;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
}

function parseUrl(raw: unknown): Endpoint {
  let url: URL | undefined;
  if (typeof raw === 'string') {
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
  }
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    // The URL is not quoted: it may carry a password.
    throw invalid(`Expected \`url\` to be a redis:// or rediss:// URL with a host, got ${typeof raw === 'string' ? 'another string' : describe(raw)}`);
  }
  const path = url.pathname.replace(/^\//, '');
  let db: number | undefined;
  if (path !== '') {
    if (!/^\d+$/.test(path)) throw invalid(`Expected the path of \`url\` to be a database number, got ${JSON.stringify(url.pathname)}`);
    db = Number(path);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port),
    db,
    username: url.username === '' ? undefined : decodeUrlPart(url.username, 'user name'),
    password: url.password === '' ? undefined : decodeUrlPart(url.password, 'password'),
    tls: url.protocol === 'rediss:',
  };
}

/** A percent-decoded user name or password of `url` (never echoed: it may be a secret). */
function decodeUrlPart(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(`Expected the ${what} in \`url\` to be valid percent-encoding (write "%" as "%25")`);
  }
}

/** Merges `options` over the defaults and validates them; throws `WALSHIP_INVALID_OPTIONS` naming the option. */
export function resolveRedisSinkOptions(options: RedisSinkOptions = {}): ResolvedRedisSinkOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('Expected Redis sink options to be an object');

  let endpoint: Endpoint;
  if (options.url !== undefined) {
    if (options.host !== undefined || options.port !== undefined) {
      throw invalid('`url` and `host`/`port` both name the server: use one of them');
    }
    endpoint = parseUrl(options.url);
  } else {
    const host = optionalString('host', options.host) ?? DEFAULT_REDIS_HOST;
    if (host === '') throw invalid('Expected `host` to be a non-empty string, got ""');
    endpoint = {
      host,
      port: DEFAULT_REDIS_PORT,
      db: undefined,
      username: undefined,
      password: undefined,
      tls: false,
    };
  }
  const port = integer('port', options.port, endpoint.port, 1, 65535);
  const db = integer('db', options.db, endpoint.db ?? 0, 0);
  const username = optionalString('username', options.username) ?? endpoint.username;
  const password = optionalString('password', options.password) ?? endpoint.password;
  if (username !== undefined && password === undefined) {
    throw invalid('`username` needs a `password` (Redis ACL users authenticate with both)');
  }
  let tls: RedisSinkTlsOptions | undefined;
  if (options.tls !== undefined) tls = tlsOption(options.tls);
  else if (endpoint.tls) tls = {};

  const keyTemplate = parseKeyTemplate(options.keyTemplate ?? DEFAULT_REDIS_KEY_TEMPLATE);

  const entryPer = options.entryPer ?? DEFAULT_REDIS_ENTRY_PER;
  if (entryPer !== 'log' && entryPer !== 'group') {
    throw invalid(`Expected \`entryPer\` to be 'log' or 'group', got ${describe(entryPer)}`);
  }
  if (options.encoding !== undefined) {
    if (options.encoding !== 'protobuf' && options.encoding !== 'json') {
      throw invalid(`Expected \`encoding\` to be 'protobuf' or 'json', got ${describe(options.encoding)}`);
    }
    if (entryPer !== 'group') {
      throw invalid(`\`encoding\` applies to \`entryPer: 'group'\` only, got entryPer '${entryPer}'`);
    }
  }
  const maxLen = integer('maxLen', options.maxLen, 0, 0);
  const dedupTtlMs = integer('dedupTtl', options.dedupTtl, DEFAULT_REDIS_DEDUP_TTL_MS, 0);
  const timeoutMs = integer('timeoutMs', options.timeoutMs, DEFAULT_REDIS_TIMEOUT_MS, 1);

  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    throw invalid(`Expected \`name\` to be a non-empty string, got ${describe(options.name)}`);
  }
  const hostForName = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  const name = options.name ?? `${tls === undefined ? 'redis' : 'rediss'}://${hostForName}:${port}/${db}`;
  const logger = (options.logger ?? defaultLogger()).child({ component: 'sink', sink: 'redis', client: name });

  return {
    host: endpoint.host,
    port,
    db,
    username,
    password,
    tls,
    keyTemplate,
    entryPer,
    encoding: options.encoding ?? DEFAULT_REDIS_GROUP_ENCODING,
    maxLen,
    dedupTtlMs,
    timeoutMs,
    name,
    logger,
  };
}
