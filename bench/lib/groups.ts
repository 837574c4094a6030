/**
 * The LogGroups the delivery and sink benchmarks drain, and the WAL backlogs built from them.
 *
 * A group is iLogtail-shaped: two tags (`__pack_id__`, `__hostname__`), topic `access`, a
 * source IP, and access-log-like logs of ≈230 encoded bytes (random IPs, paths, trace ids,
 * latencies, user agents, messages, so snappy cannot collapse them), added until the encoded
 * group reaches the target size. A pool of distinct groups is generated once (seeded, so
 * every run drains the same bytes) and appended round-robin until the payload bytes reach the
 * backlog size, with `sync: 'never'` and several appenders, then the WAL is closed: each
 * drain works on a copy of it.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { encodeLogGroup, type Log, type LogGroup } from '../../src/model/index.ts';
import { mulberry32 } from '../../src/receiver/prng.ts';
import { WriteAheadLog } from '../../src/wal/index.ts';
import { dirBytes, type TempRoot } from './temp.ts';
import { timed } from './timing.ts';

const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'];
const RESOURCES = ['users', 'orders', 'items', 'carts', 'payments', 'sessions', 'search', 'inventory', 'reviews', 'shipments'];
const STATUSES = ['200', '200', '200', '200', '200', '201', '204', '301', '304', '400', '401', '403', '404', '429', '500', '502', '503'];
const AGENTS = [
  'curl/8.5.0',
  'Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0',
  'Mozilla/5.0 (Macintosh) Safari/605.1.15',
  'okhttp/4.12.0',
  'Go-http-client/2.0',
  'python-requests/2.31.0',
  'Mozilla/5.0 (Windows NT 10.0) Chrome/120.0',
  'kube-probe/1.29',
];
const WORDS = (
  'request served cache miss hit upstream retry timeout user session token refreshed order created payment ' +
  'accepted declined inventory reserved released shipment queued worker pool saturated backoff connection ' +
  'reset slow query index scan rows returned lock wait commit rollback'
).split(' ');

/** Protobuf bytes of a varint. */
function varintBytes(n: number): number {
  let b = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    b++;
  }
  return b;
}

/** Exact encoded bytes of one (ASCII) log inside a LogGroup: field tag, length, body. */
export function encodedLogBytes(log: Log): number {
  let body = 1 + varintBytes(log.time) + (log.timeNs === undefined ? 0 : 5);
  for (const c of log.contents) {
    const inner = 1 + varintBytes(c.key.length) + c.key.length + 1 + varintBytes(c.value.length) + c.value.length;
    body += 1 + varintBytes(inner) + inner;
  }
  return 1 + varintBytes(body) + body;
}

/** One access-log-like log of ≈230 encoded bytes, every field drawn from `r`. */
export function makeLog(r: () => number, time: number): Log {
  const below = (n: number) => Math.floor(r() * n);
  const pick = <T>(a: readonly T[]) => a[below(a.length)] as T;
  const hex = (chars: number) => {
    let s = '';
    while (s.length < chars) s += Math.floor(r() * 0x100000000).toString(16).padStart(8, '0');
    return s.slice(0, chars);
  };
  const words = 2 + below(4);
  let msg = pick(WORDS);
  for (let i = 1; i < words; i++) msg += ` ${pick(WORDS)}`;
  return {
    time,
    timeNs: below(1e9),
    contents: [
      { key: 'ip', value: `${below(256)}.${below(256)}.${below(256)}.${below(256)}` },
      { key: 'method', value: pick(METHODS) },
      { key: 'path', value: `/api/v${1 + below(3)}/${pick(RESOURCES)}/${below(1_000_000)}` },
      { key: 'status', value: pick(STATUSES) },
      { key: 'bytes', value: String(below(200_000)) },
      { key: 'rt', value: (r() * 900).toFixed(3) },
      { key: 'trace_id', value: hex(24) },
      { key: 'ua', value: pick(AGENTS) },
      { key: 'msg', value: msg },
    ],
  };
}

export interface GroupPool {
  readonly payloads: Buffer[];
  readonly logCounts: number[];
}

/** `count` distinct encoded LogGroups of about `targetBytes` each. */
export function makeGroupPool(count: number, targetBytes: number, seed: number): GroupPool {
  const r = mulberry32(seed);
  const payloads: Buffer[] = [];
  const logCounts: number[] = [];
  for (let g = 0; g < count; g++) {
    const tags = [
      { key: '__pack_id__', value: `${Math.floor(r() * 0xffffffff).toString(16).toUpperCase()}-${g.toString(16)}` },
      { key: '__hostname__', value: `web-${(g % 16).toString().padStart(2, '0')}.example.internal` },
    ];
    const base: Omit<LogGroup, 'logs'> = { topic: 'access', source: `10.0.${g % 8}.${1 + (g % 250)}`, logTags: tags };
    // Group framing beyond the logs, generously: tags, topic, source.
    let bytes = 120;
    const logs: Log[] = [];
    const time = 1_763_000_000 + g * 3;
    while (bytes < targetBytes) {
      const log = makeLog(r, time + (logs.length >> 7));
      bytes += encodedLogBytes(log);
      logs.push(log);
    }
    const payload = Buffer.from(encodeLogGroup({ ...base, logs }));
    payloads.push(payload);
    logCounts.push(logs.length);
  }
  return { payloads, logCounts };
}

/** Mean encoded bytes and logs of a pool's groups. */
export function poolStats(pool: GroupPool): { readonly groups: number; readonly meanBytes: number; readonly meanLogs: number } {
  const n = pool.payloads.length;
  return {
    groups: n,
    meanBytes: pool.payloads.reduce((a, p) => a + p.length, 0) / n,
    meanLogs: pool.logCounts.reduce((a, c) => a + c, 0) / n,
  };
}

/** A closed WAL holding a backlog (every drain works on a copy of `dir`). */
export interface Backlog {
  readonly label: string;
  readonly dir: string;
  readonly records: number;
  readonly logs: number;
  readonly payloadBytes: number;
  readonly logicalBytes: number;
  readonly diskBytes: number;
  readonly buildMs: number;
  readonly buildMbps: number;
}

export interface BuildBacklogOptions {
  /** Concurrent appenders. */
  readonly appenders: number;
  /** Records per `append` call. */
  readonly entriesPerAppend: number;
  /** The WAL's quota (it must hold the whole backlog). */
  readonly maxBytes: number;
  readonly logger: Logger;
  /** Record metadata. @defaultValue 'bench' / 'access' */
  readonly project?: string;
  readonly logstore?: string;
}

/**
 * Builds `<tmp>/master-<label>`: pool entries appended round-robin (project `bench`, logstore
 * `access`) until the payload bytes reach `bytes`, with `sync: 'never'`; then closed.
 */
export async function buildBacklog(tmp: TempRoot, pool: GroupPool, bytes: number, label: string, options: BuildBacklogOptions): Promise<Backlog> {
  const dir = await tmp.dir(`master-${label}`);
  const wal = await WriteAheadLog.open({ dir, sync: 'never', maxBytes: options.maxBytes, logger: options.logger });
  const project = options.project ?? 'bench';
  const logstore = options.logstore ?? 'access';
  // The records: pool entries round-robin until the payload bytes reach `bytes`.
  const picks: number[] = [];
  let payloadBytes = 0;
  let logs = 0;
  for (let k = 0; payloadBytes < bytes; k++) {
    const i = k % pool.payloads.length;
    picks.push(i);
    payloadBytes += (pool.payloads[i] as Buffer).length;
    logs += pool.logCounts[i] as number;
  }
  const { appenders, entriesPerAppend } = options;
  let next = 0;
  const build = await timed(() =>
    Promise.all(
      Array.from({ length: appenders }, async () => {
        while (next < picks.length) {
          const first = next;
          const n = Math.min(entriesPerAppend, picks.length - first);
          next += n;
          await wal.append(picks.slice(first, first + n).map((i) => ({ payload: pool.payloads[i] as Buffer, project, logstore })));
        }
      }),
    ),
  );
  const stats = await wal.stats();
  await wal.close();
  return {
    label,
    dir,
    records: picks.length,
    logs,
    payloadBytes,
    logicalBytes: stats.pendingBytes,
    diskBytes: await dirBytes(join(dir, 'db')),
    buildMs: build.ms,
    buildMbps: build.ms > 0 ? payloadBytes / 1e6 / (build.ms / 1000) : Number.NaN,
  };
}
