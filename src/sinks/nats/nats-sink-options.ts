import { existsSync } from 'node:fs';
import {
  DEFAULT_NATS_DUPLICATE_WINDOW_MS,
  DEFAULT_NATS_ENCODING,
  DEFAULT_NATS_RECONNECT_WAIT_MS,
  DEFAULT_NATS_RETRY_HORIZON_MS,
  DEFAULT_NATS_SERVER,
  DEFAULT_NATS_STREAM_REPLICAS,
  DEFAULT_NATS_SUBJECT,
  DEFAULT_NATS_TIMEOUT_MS,
} from '../../config/defaults.ts';
import { defaultLogger, type Logger } from '../../logging/logger.ts';
import { isPublishSubject, SubjectTemplate } from './subject-template.ts';
import { describeValue as describe, integerOption as integer, invalidOption as invalid } from '../option-checks.ts';

/** `protobuf`: the LogGroup bytes as stored in the WAL; `json`: a JSON array of the record's logs. */
export type NatsEncoding = 'protobuf' | 'json';

/** A PEM text, or the path of a file holding one. */
export type PemOrPath = string;

/** TLS to the NATS servers. Each value is PEM text (`-----BEGIN …`) or a file path, read at each connect. */
export interface NatsSinkTlsOptions {
  /** Trusted CA certificate(s); replaces Node's bundled roots when set. */
  readonly ca?: PemOrPath | readonly PemOrPath[];
  /** Client certificate for mutual TLS (goes with `key`). */
  readonly cert?: PemOrPath;
  /** Client private key for mutual TLS (goes with `cert`). */
  readonly key?: PemOrPath;
  /** Verify the server's certificate. Turning it off is for tests only. @defaultValue true */
  readonly rejectUnauthorized?: boolean;
  /**
   * The name checked against the server's certificate (SNI). Set it when the servers are
   * given by IP address: nats.js sends no name for an IP, and Node then checks `localhost`.
   * @defaultValue the server URL's host name
   */
  readonly servername?: string;
}

/** The JetStream stream the sink publishes into: created, or checked, on connect. */
export interface NatsStreamOptions {
  /** The stream's name. Publishes then expect this stream (`Nats-Expected-Stream`). */
  readonly name: string;
  /**
   * Subjects of a stream walship creates.
   * @defaultValue the subject template with each placeholder token as `*` (`logs.*.*`)
   */
  readonly subjects?: readonly string[];
  /** Replicas of a stream walship creates (1–5). @defaultValue 1 ({@link DEFAULT_NATS_STREAM_REPLICAS}) */
  readonly replicas?: number;
  /**
   * Duplicate window of a stream walship creates (ms): how long JetStream remembers a
   * `Nats-Msg-Id`. @defaultValue 2 h ({@link DEFAULT_NATS_DUPLICATE_WINDOW_MS})
   */
  readonly duplicateWindowMs?: number;
  /**
   * Create the stream on connect when it does not exist (file storage, limits retention). An
   * existing stream is never changed, only checked.
   * @defaultValue false
   */
  readonly create?: boolean;
}

/**
 * Options of {@link createNatsClient}: one client over a pool of servers (nats.js reconnects
 * across them). Every field is optional.
 */
export interface NatsSinkOptions {
  /**
   * One server URL or several (`nats://host:4222`, `tls://host:4222`, `host:4222`), all of one
   * cluster: the client connects to one and fails over to the others.
   * @defaultValue `'nats://127.0.0.1:4222'` ({@link DEFAULT_NATS_SERVER})
   */
  readonly servers?: string | readonly string[];
  /**
   * Subject template; `{project}`, `{logstore}`, `{configName}` and `{logstoreKey}` are
   * replaced by the record's values, sanitized (`.`, `*`, `>`, whitespace and control
   * characters become `_`).
   * @defaultValue `'logs.{project}.{logstore}'` ({@link DEFAULT_NATS_SUBJECT})
   */
  readonly subject?: string;
  /** @defaultValue `'protobuf'` ({@link DEFAULT_NATS_ENCODING}) */
  readonly encoding?: NatsEncoding;
  /**
   * The stream to create or check on connect; a string is `{ name }`.
   * @defaultValue none (publish to whatever stream captures the subject; its duplicate
   * window is checked once, from the first PubAck naming it)
   */
  readonly stream?: string | NatsStreamOptions;
  /**
   * Redeliveries are expected within this time (ms): a stream whose duplicate window is
   * shorter gets one warning, since a redelivery after the window is stored twice.
   * @defaultValue 2 h ({@link DEFAULT_NATS_RETRY_HORIZON_MS})
   */
  readonly retryHorizonMs?: number;
  /** Time to wait for one PubAck (ms). @defaultValue 10000 ({@link DEFAULT_NATS_TIMEOUT_MS}) */
  readonly timeoutMs?: number;
  /** Delay between nats.js reconnect attempts (ms). @defaultValue 2000 ({@link DEFAULT_NATS_RECONNECT_WAIT_MS}) */
  readonly reconnectTimeWaitMs?: number;
  /** @defaultValue none */
  readonly tls?: NatsSinkTlsOptions;
  /** User name (with `pass`). At most one of user/pass, token, nkeySeed, credsFile. */
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** An NKey seed (`SU…`), for NKey authentication. */
  readonly nkeySeed?: string;
  /** Path of a `.creds` file (JWT + NKey seed), for decentralized authentication. */
  readonly credsFile?: string;
  /** A name for logs and metrics. @defaultValue the server URLs without credentials, joined by `,` */
  readonly name?: string;
  /** Parent logger; the client logs through a child `{component: 'sink', sink: 'nats'}`. */
  readonly logger?: Logger;
}

export interface ResolvedNatsStreamOptions {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly replicas: number;
  readonly duplicateWindowMs: number;
  readonly create: boolean;
}

export type NatsAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'user'; readonly user: string; readonly pass: string }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'nkey'; readonly seed: string }
  | { readonly kind: 'creds'; readonly file: string };

export interface ResolvedNatsSinkOptions {
  /** As given (credentials in a URL stay here, for nats.js). */
  readonly servers: readonly string[];
  readonly subject: SubjectTemplate;
  readonly encoding: NatsEncoding;
  readonly stream: ResolvedNatsStreamOptions | undefined;
  readonly retryHorizonMs: number;
  readonly timeoutMs: number;
  readonly reconnectTimeWaitMs: number;
  readonly tls: NatsSinkTlsOptions | undefined;
  readonly auth: NatsAuth;
  readonly name: string;
  readonly logger: Logger;
}

/** Stream names may not contain these (nor be empty). */
const BAD_STREAM_NAME = /[\s.*>/\\\p{Cc}]/u;
/** JetStream's limit on a stream's replicas. */
const MAX_REPLICAS = 5;

function nonEmptyString(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw invalid(`Expected \`${name}\` to be a non-empty string, got ${describe(v)}`);
  return v;
}

/** True for PEM text; anything else is taken as a file path. */
export function isPemText(v: string): boolean {
  return v.includes('-----BEGIN');
}

function pemOrPath(name: string, v: unknown): void {
  if (typeof v !== 'string' || v === '') throw invalid(`Expected \`${name}\` to be PEM text or a file path, got ${describe(v)}`);
  if (!isPemText(v) && !existsSync(v)) throw invalid(`Expected \`${name}\` to be PEM text or an existing file, got ${describe(v)}`);
}

function resolveTls(tls: unknown): NatsSinkTlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (tls === null || typeof tls !== 'object' || Array.isArray(tls)) throw invalid(`Expected \`tls\` to be an object, got ${describe(tls)}`);
  const t = tls as NatsSinkTlsOptions;
  if (t.ca !== undefined) {
    if (Array.isArray(t.ca)) t.ca.forEach((c, i) => pemOrPath(`tls.ca[${i}]`, c));
    else pemOrPath('tls.ca', t.ca);
  }
  if (t.cert !== undefined) pemOrPath('tls.cert', t.cert);
  if (t.key !== undefined) pemOrPath('tls.key', t.key);
  if ((t.cert === undefined) !== (t.key === undefined)) throw invalid('`tls.cert` and `tls.key` go together: got one without the other');
  if (t.rejectUnauthorized !== undefined && typeof t.rejectUnauthorized !== 'boolean') {
    throw invalid(`Expected \`tls.rejectUnauthorized\` to be a boolean, got ${describe(t.rejectUnauthorized)}`);
  }
  nonEmptyString('tls.servername', t.servername);
  return { ...t };
}

function resolveAuth(o: NatsSinkOptions): NatsAuth {
  const user = nonEmptyString('user', o.user);
  // A password may be any string, but only with a user.
  if (o.pass !== undefined && typeof o.pass !== 'string') throw invalid('Expected `pass` to be a string');
  const token = nonEmptyString('token', o.token);
  const seed = nonEmptyString('nkeySeed', o.nkeySeed);
  const creds = nonEmptyString('credsFile', o.credsFile);
  if ((user === undefined) !== (o.pass === undefined)) throw invalid('`user` and `pass` go together: got one without the other');
  const given = [user === undefined ? '' : 'user/pass', token === undefined ? '' : 'token', seed === undefined ? '' : 'nkeySeed', creds === undefined ? '' : 'credsFile'].filter(
    (s) => s !== '',
  );
  if (given.length > 1) throw invalid(`Expected at most one way to authenticate, got ${given.join(' and ')}`);
  if (seed !== undefined && !/^S[A-Z2-7]{20,}$/.test(seed)) throw invalid('Expected `nkeySeed` to be an NKey seed (`S…`, base32)');
  if (creds !== undefined && !existsSync(creds)) throw invalid(`Expected \`credsFile\` to be an existing file, got ${describe(creds)}`);
  if (user !== undefined) return { kind: 'user', user, pass: o.pass as string };
  if (token !== undefined) return { kind: 'token', token };
  if (seed !== undefined) return { kind: 'nkey', seed };
  if (creds !== undefined) return { kind: 'creds', file: creds };
  return { kind: 'none' };
}

/** A server URL without its credentials (for the client's name and logs). */
export function redactServer(server: string): string {
  return server.replace(/^([a-z]+:\/\/)?[^@/]*@/i, '$1');
}

function resolveStream(v: unknown, template: SubjectTemplate): ResolvedNatsStreamOptions | undefined {
  if (v === undefined) return undefined;
  const s = (typeof v === 'string' ? { name: v } : v) as NatsStreamOptions;
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw invalid(`Expected \`stream\` to be a name or an object, got ${describe(v)}`);
  if (typeof s.name !== 'string' || s.name === '' || BAD_STREAM_NAME.test(s.name)) {
    throw invalid(`Expected \`stream.name\` to be a stream name (no whitespace, '.', '*', '>', '/' or '\\'), got ${describe(s.name)}`);
  }
  let subjects: readonly string[] = [template.streamSubject()];
  if (s.subjects !== undefined) {
    if (!Array.isArray(s.subjects) || s.subjects.length === 0) {
      throw invalid(`Expected \`stream.subjects\` to be a non-empty array of subjects, got ${describe(s.subjects)}`);
    }
    for (const subj of s.subjects as unknown[]) {
      // A stream subject may hold wildcards: check it with them replaced by a token.
      if (typeof subj !== 'string' || !isPublishSubject(subj.split('.').map((t) => (t === '*' || t === '>' ? 'x' : t)).join('.'))) {
        throw invalid(`Expected \`stream.subjects\` to hold subjects, got ${describe(subj)}`);
      }
    }
    subjects = [...s.subjects];
  }
  if (s.create !== undefined && typeof s.create !== 'boolean') throw invalid(`Expected \`stream.create\` to be a boolean, got ${describe(s.create)}`);
  return {
    name: s.name,
    subjects,
    replicas: integer('stream.replicas', s.replicas, DEFAULT_NATS_STREAM_REPLICAS, 1, MAX_REPLICAS),
    duplicateWindowMs: integer('stream.duplicateWindowMs', s.duplicateWindowMs, DEFAULT_NATS_DUPLICATE_WINDOW_MS, 1),
    create: s.create ?? false,
  };
}

/** Merges `options` over the defaults and validates them; throws `WALSHIP_INVALID_OPTIONS` naming the option. */
export function resolveNatsSinkOptions(options: NatsSinkOptions = {}): ResolvedNatsSinkOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('Expected NATS sink options to be an object');
  const rawServers: unknown = options.servers ?? DEFAULT_NATS_SERVER;
  const servers = typeof rawServers === 'string' ? [rawServers] : rawServers;
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((s) => typeof s === 'string' && s.trim() !== '' && !/\s/.test(s.trim()))) {
    throw invalid(`Expected \`servers\` to be a server URL or a non-empty array of them, got ${describe(rawServers)}`);
  }

  const subjectSource = options.subject ?? DEFAULT_NATS_SUBJECT;
  if (typeof subjectSource !== 'string') throw invalid(`Expected \`subject\` to be a subject template, got ${describe(subjectSource)}`);
  const subject = SubjectTemplate.parse(subjectSource);
  if (!(subject instanceof SubjectTemplate)) {
    throw invalid(`Expected \`subject\` to be a subject template like ${JSON.stringify(DEFAULT_NATS_SUBJECT)}, got ${describe(subjectSource)}: ${subject.error}`);
  }

  const encoding = options.encoding ?? DEFAULT_NATS_ENCODING;
  if (encoding !== 'protobuf' && encoding !== 'json') throw invalid(`Expected \`encoding\` to be 'protobuf' or 'json', got ${describe(encoding)}`);

  const name = nonEmptyString('name', options.name) ?? servers.map((s: string) => redactServer(s.trim())).join(',');
  return {
    servers: servers.map((s: string) => s.trim()),
    subject,
    encoding,
    stream: resolveStream(options.stream, subject),
    retryHorizonMs: integer('retryHorizonMs', options.retryHorizonMs, DEFAULT_NATS_RETRY_HORIZON_MS, 0),
    timeoutMs: integer('timeoutMs', options.timeoutMs, DEFAULT_NATS_TIMEOUT_MS, 1),
    reconnectTimeWaitMs: integer('reconnectTimeWaitMs', options.reconnectTimeWaitMs, DEFAULT_NATS_RECONNECT_WAIT_MS, 0),
    tls: resolveTls(options.tls),
    auth: resolveAuth(options),
    name,
    logger: (options.logger ?? defaultLogger()).child({ component: 'sink', sink: 'nats', client: name }),
  };
}
