/**
 * # Sink benchmarks
 *
 * `npm run bench -- sinks [--quick] [--only=http,nats,nats-cluster,redis,redis-group,file,stdout]
 *  [--backlog-mib=N] [--group-kib=N] [--pool-mib=N] [--rounds=N] [--out=FILE]`
 *
 * Records/s, logs/s and MB/s of every sink draining the same WAL backlog, side by side in one
 * run, and the NATS cluster against the single node. Prints one aligned table (and a table of
 * medians with `--rounds` > 1) and a final "NATS cluster vs single" line, and writes every
 * measurement with the machine, the date, Node, the server versions, the git commit and the
 * state of src/ to `bench/results/sinks.json` (quick runs: pass `--out=/tmp/…`; a quick run's
 * numbers do not belong in the repository).
 *
 * ## The backlog
 *
 * LogGroups of ~16 KiB (`--group-kib`; a realistic iLogtail group: ≈70 access-log-like logs of
 * ≈230 bytes, bench/lib/groups.ts), a pool of distinct groups (64 MiB, 8 MiB with `--quick`;
 * `--pool-mib`) appended round-robin until the payload reaches 500 MiB (32 MiB with `--quick`;
 * `--backlog-mib`), `sync: 'never'`, 4 appenders × 16 records per call. It is built once and
 * closed; every drain works on a fresh copy (copied, then `sync -f`, so that no write-back of
 * the copy overlaps the drain).
 *
 * ## One drain
 *
 * A child process (`--worker=drain`, its own process so that its CPU and peak RSS are its own)
 * runs the real path: `createFlusher({ dir: <the copy>, sink: <config> })`, i.e. the WAL, the
 * DeliveryManager and the sink's clients from the registry, every option at its default
 * except the WAL quota (4 GiB, so that the backlog fits). The clock starts when `createFlusher`
 * resolved (the WAL is open, delivery has just started; the open is timed apart and the
 * sink's connect, e.g. the HTTP probe or the NATS stream check, is inside the clock) and
 * stops when `flusher.stats()` (polled every 5 ms) shows nothing pending in the WAL; then
 * `flusher.stop()` (which closes and compacts the WAL) is timed apart. CPU is the child's
 * `process.cpuUsage()` over the drain (all threads: LevelDB, the libuv pool); peak RSS is
 * its VmHWM, sampled from this process every 50 ms (bench/lib/proc.ts).
 *
 * ## The sinks (one fresh destination per drain)
 *
 * - **http**: `{ type: 'http', url, encoding: 'ndjson' }` into walship's receiver
 *   (`startReceiver({ keepLogs: false })`, bench/delivery.ts `--worker=receiver`) in its own
 *   process; verified by the receiver's unique-log count. Server CPU: the receiver process's.
 * - **nats**: `{ type: 'nats', servers, stream: { name: 'BENCH' } }` into one nats-server with
 *   JetStream (test/helpers/servers/nats.ts); the stream (`logs.>`, file storage, R1, 2 h
 *   duplicate window) is created beforehand, as in production. Verified by the stream's
 *   message count (one message per record).
 * - **nats-cluster**: the same into a 3-node cluster on loopback, the stream with 3 replicas
 *   and the sink given all three servers. Server CPU: the three nodes together.
 * - **redis** / **redis-group**: `{ type: 'redis', url, entryPer: 'log' | 'group' }` into a
 *   redis-server (test/helpers/servers/redis.ts) with `appendonly yes`, `appendfsync
 *   everysec`. Verified by `XLEN` of `logs:bench:access` (logs, or records with 'group') and
 *   by the number of deduplication markers (`DBSIZE` − 1 = records).
 * - **file**: `{ type: 'file', path }` into a file in the scratch directory; verified by its
 *   line count.
 * - **stdout**: `{ type: 'stdout' }` (format json) writing to the child's real
 *   `process.stdout`, which is a pipe to this process: this process reads it, counts the
 *   lines (the verification) and throws the bytes away. So the pipe has a reader that keeps
 *   up, as with `walship … | vector`; its reading is not in the walship CPU column.
 *
 * Server CPU is read from `/proc/<pid>/stat` (utime + stime, 10 ms ticks) of the server
 * processes, found by their listening port, before and after the drain.
 *
 * ## Columns
 *
 * MB = 10^6 bytes of LogGroup payload (protobuf, as stored in the WAL); records = LogGroups;
 * logs = the logs inside them. `verified` compares what the destination holds with what was
 * appended; a wrong count is printed as `WRONG`, listed again after the table, and makes the
 * run exit 1.
 */
import { execFileSync, fork } from 'node:child_process';
import { createReadStream, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { type NatsConnection, nanos } from 'nats';
import { DEFAULT_BATCH_MAX_RECORDS, DEFAULT_NATS_BATCH_MAX_RECORDS, DEFAULT_NATS_DUPLICATE_WINDOW_MS, GiB, KiB, MiB } from '../src/config/defaults.ts';
import { createFlusher } from '../src/flusher/index.ts';
import type { SinkConfig } from '../src/sinks/registry.ts';
import { adminConnection, NatsCluster, startNatsServer, waitForStream } from '../test/helpers/servers/nats.ts';
import { startRedisServer } from '../test/helpers/servers/redis.ts';
import { flag } from './lib/args.ts';
import { Child, forkTs, sendToParent, waitForMessage } from './lib/child.ts';
import { type Backlog, buildBacklog, makeGroupPool, poolStats } from './lib/groups.ts';
import { type MemoryPeaks, MemorySampler, procMemorySync } from './lib/proc.ts';
import type { ReceiverReport } from './lib/receiver-report.ts';
import { machineInfo, srcStatus, writeResults } from './lib/results.ts';
import { startBenchSession } from './lib/session.ts';
import { type Cell, fixed, int, mb, printTable, sizeLabel } from './lib/table.ts';
import { copyDir, removeDir, type TempRoot } from './lib/temp.ts';
import { median, now, sleep, timed } from './lib/timing.ts';
import { captureWarnings } from './lib/warnings.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..');
const DELIVERY_BENCH = join(ROOT, 'bench/delivery.ts');

// ── Command line ──────────────────────────────────────────────────────────────────────

function numberFlag(name: string, fallback: number): number {
  const raw = flag(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`Expected \`--${name}\` to be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

const QUICK = process.argv.includes('--quick');

/** Every row, in the order they run (and print). */
const SINKS = ['http', 'nats', 'nats-cluster', 'redis', 'redis-group', 'file', 'stdout'] as const;
type SinkKind = (typeof SINKS)[number];

function onlyFlag(): SinkKind[] {
  const raw = flag('only');
  if (raw === undefined) return [...SINKS];
  const names = raw.split(',').filter((n) => n !== '');
  const bad = names.filter((n) => !(SINKS as readonly string[]).includes(n));
  if (bad.length > 0) throw new Error(`Expected \`--only\` to name sinks among ${SINKS.join(', ')}, got ${bad.join(', ')}`);
  return SINKS.filter((s) => names.includes(s));
}

const CONFIG = {
  quick: QUICK,
  groups: {
    /** Encoded LogGroup size the generator aims at. */
    targetBytes: Math.round(numberFlag('group-kib', 16) * KiB),
    /** Distinct payload bytes in the pool (appended round-robin). */
    poolBytes: numberFlag('pool-mib', QUICK ? 8 : 64) * MiB,
    seed: 20_261_122,
  },
  build: { appenders: 4, entriesPerAppend: 16 },
  backlogBytes: Math.round(numberFlag('backlog-mib', QUICK ? 32 : 500) * MiB),
  rounds: Math.round(numberFlag('rounds', 1)),
  /** WAL quota of the backlog and of every drain: the backlog must fit. */
  walMaxBytes: 4 * GiB,
  pollMs: 5,
  sampleMs: 50,
  /** A drain that makes no progress for this long is given up (and reported). */
  stallMs: 120_000,
  /** A drain is given up after this long. */
  drainTimeoutMs: 30 * 60_000,
  redis: { appendonly: 'yes', appendfsync: 'everysec' },
  nats: { stream: 'BENCH', subjects: ['logs.>'] },
} as const;

const OUT = resolve(ROOT, flag('out') ?? 'bench/results/sinks.json');

// ── Shared pieces ─────────────────────────────────────────────────────────────────────

/** What walship logs at warn or above is counted (and kept for the JSON), not printed. */
const WARNINGS = captureWarnings();
const LOGGER = WARNINGS.logger;

const rate = (units: number, ms: number) => (ms > 0 ? units / (ms / 1000) : Number.NaN);

function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}

// ── Worker: one drain through createFlusher ───────────────────────────────────────────

interface DrainReport {
  readonly pendingAtStart: number;
  /** createFlusher: WAL open (recovery) and delivery start. */
  readonly openMs: number;
  readonly drainMs: number;
  /** flusher.stop(): delivery stopped, the WAL closed (and compacted). */
  readonly stopMs: number;
  /** CPU of the whole walship process (every thread) during the drain. */
  readonly cpuMs: number;
  readonly userMs: number;
  readonly systemMs: number;
  readonly elu: number;
  /** False when the drain was given up (stalled or timed out). */
  readonly complete: boolean;
  readonly pendingAfter: number;
  readonly deadLetterRecords: number;
  readonly quarantineRecords: number;
  readonly delivery: {
    readonly deliveredRecords: number;
    readonly deliveredBatches: number;
    readonly attempts: number;
    readonly retries: number;
    readonly deadLettered: number;
    readonly splits: number;
    readonly failures: Readonly<Record<string, number>>;
  };
  readonly memoryAtEnd: ReturnType<typeof procMemorySync>;
  readonly warnings: number;
  readonly firstWarnings: string[];
}

async function workerDrain(): Promise<void> {
  const dir = flag('dir') as string;
  const sink = JSON.parse(flag('sink-config') as string) as SinkConfig;
  await sendToParent({ type: 'ready' });
  await waitForMessage('go');

  const open = await timed(() => createFlusher({ dir, sink, wal: { maxBytes: CONFIG.walMaxBytes }, logger: LOGGER }));
  const flusher = open.value;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const started = now();
  const first = await flusher.stats();
  const pendingAtStart = first?.wal.pendingRecords ?? Number.NaN;
  let complete = true;
  let last = pendingAtStart;
  let lastProgress = started;
  for (;;) {
    const s = await flusher.stats();
    const pending = s?.wal.pendingRecords ?? 0;
    if (pending === 0) break;
    const t = now();
    if (pending !== last) {
      last = pending;
      lastProgress = t;
    } else if (t - lastProgress > CONFIG.stallMs || t - started > CONFIG.drainTimeoutMs) {
      complete = false;
      break;
    }
    await sleep(CONFIG.pollMs);
  }
  const drainMs = now() - started;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const s = await flusher.stats();
  await sendToParent({ type: 'drained' });
  const stop = await timed(() => flusher.stop());
  const d = s?.delivery;
  const report: DrainReport = {
    pendingAtStart,
    openMs: open.ms,
    drainMs,
    stopMs: stop.ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    userMs: cpu.user / 1000,
    systemMs: cpu.system / 1000,
    elu,
    complete,
    pendingAfter: s?.wal.pendingRecords ?? Number.NaN,
    deadLetterRecords: s?.wal.deadLetterRecords ?? Number.NaN,
    quarantineRecords: s?.wal.quarantineRecords ?? Number.NaN,
    delivery: {
      deliveredRecords: d?.deliveredRecords ?? Number.NaN,
      deliveredBatches: d?.deliveredBatches ?? Number.NaN,
      attempts: d?.attempts ?? Number.NaN,
      retries: d?.retries ?? Number.NaN,
      deadLettered: d?.deadLettered ?? Number.NaN,
      splits: d?.splits ?? Number.NaN,
      failures: d?.failures ?? {},
    },
    memoryAtEnd: procMemorySync('self'),
    warnings: WARNINGS.count(),
    firstWarnings: WARNINGS.warnings.slice(0, 5),
  };
  await sendToParent({ type: 'done', report });
  process.exit(0);
}

// ── Server processes ──────────────────────────────────────────────────────────────────

/** Parent pid of a process, from `/proc/<pid>/stat`. */
function parentPid(pid: string): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * The pid of the process (a child of this one) listening on 127.0.0.1:`port`: the socket's
 * inode from `/proc/net/tcp`, then the child holding it among its file descriptors.
 */
function pidListeningOn(port: number): number | undefined {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local address, remote address, state (0A = LISTEN), …, inode (column 9)
      if (cols.length > 9 && (cols[1] as string).endsWith(hex) && cols[3] === '0A') inodes.add(cols[9] as string);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || parentPid(pid) !== process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m !== null && inodes.has(m[1] as string)) return Number(pid);
      } catch {
        // gone meanwhile
      }
    }
  }
  return undefined;
}

/** CPU time (ms, user + system, every thread) of a process from `/proc/<pid>/stat`. */
function processCpuMs(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ = 100
  } catch {
    return undefined;
  }
}

function sumCpuMs(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms === undefined) return undefined;
    total += ms;
  }
  return total;
}

function binaryVersion(binary: string): string | undefined {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

// ── Destinations ──────────────────────────────────────────────────────────────────────

interface Verification {
  readonly ok: boolean;
  readonly expected: number;
  readonly found: number;
  readonly unit: 'logs' | 'records';
  /** Further checks and counts, for the JSON and the failure message. */
  readonly detail: string;
  /** What the destination holds, in bytes (its own measure; see `bytesWhat`). */
  readonly bytes: number | undefined;
  readonly bytesWhat: string;
}

/** One fresh destination for one drain. */
interface Destination {
  readonly kind: SinkKind;
  /** What it is, for the tables: server, durability settings, encoding. */
  readonly description: string;
  readonly sinkConfig: SinkConfig;
  /** Records per delivery batch the sink gets (its plan's, or the manager's default). */
  readonly batchRecords: number;
  /** Set in the drain's child before 'go' (stdout: count the lines it writes). */
  attach?(child: Child): void;
  /** Marks the start of the drain for the server CPU reading. */
  mark(): Promise<void>;
  /** Server CPU (ms) since `mark`, or undefined. */
  cpuSinceMark(): Promise<number | undefined>;
  /** Counts what the destination holds (after the drain's child exited). */
  verify(backlog: Backlog): Promise<Verification>;
  stop(): Promise<void>;
}

function verification(expected: number, found: number, unit: Verification['unit'], detail: string, bytes: number | undefined, bytesWhat: string, extraOk = true): Verification {
  return { ok: expected === found && extraOk, expected, found, unit, detail, bytes, bytesWhat };
}

/** Server CPU of fixed processes, from /proc. */
function pidCpu(pids: readonly number[]): Pick<Destination, 'mark' | 'cpuSinceMark'> {
  let at: number | undefined;
  return {
    async mark() {
      at = sumCpuMs(pids);
    },
    async cpuSinceMark() {
      const end = sumCpuMs(pids);
      return at === undefined || end === undefined || pids.length === 0 ? undefined : end - at;
    },
  };
}

async function httpDestination(): Promise<Destination> {
  // The delivery benchmark's receiver worker: startReceiver({ keepLogs: false }) in its own process.
  const receiver = forkTs(DELIVERY_BENCH, ['--worker=receiver', '--sink=receiver', '--fail=0', '--seed=1'], ROOT);
  const url = (await receiver.message('ready', 60_000)).url as string;
  let report: ReceiverReport | undefined;
  const stats = async (): Promise<ReceiverReport> => {
    await receiver.send({ type: 'stats' });
    report = (await receiver.message('stats', 60_000)) as unknown as ReceiverReport;
    return report;
  };
  return {
    kind: 'http',
    description: 'walship receiver (startReceiver, keepLogs false), own process; encoding ndjson',
    sinkConfig: { type: 'http', url, encoding: 'ndjson' },
    batchRecords: DEFAULT_BATCH_MAX_RECORDS,
    async mark() {
      await receiver.send({ type: 'mark' });
    },
    async cpuSinceMark() {
      return (await stats()).cpuMs;
    },
    async verify(backlog) {
      const s = (await stats()).stats;
      return verification(
        backlog.logs,
        s.logs,
        'logs',
        `unique logs ${s.logs}, duplicate logs ${s.duplicateLogs}, accepted requests ${s.acceptedRequests}, duplicate requests ${s.duplicateRequests}, invalid ${s.invalidRequests}`,
        s.bytes,
        'request bodies received',
        s.invalidRequests === 0,
      );
    },
    async stop() {
      await receiver.send({ type: 'close' }).catch(() => undefined);
      await Promise.race([receiver.exited, sleep(10_000).then(() => receiver.killHard())]);
    },
  };
}

async function createStream(admin: NatsConnection, replicas: number): Promise<void> {
  const jsm = await admin.jetstreamManager({ timeout: 10_000 });
  await jsm.streams.add({
    name: CONFIG.nats.stream,
    subjects: [...CONFIG.nats.subjects],
    num_replicas: replicas,
    duplicate_window: nanos(DEFAULT_NATS_DUPLICATE_WINDOW_MS),
  });
  await waitForStream(admin, CONFIG.nats.stream, replicas);
}

async function natsVerify(admin: NatsConnection, backlog: Backlog, replicas: number): Promise<Verification> {
  const jsm = await admin.jetstreamManager({ timeout: 10_000 });
  const info = await jsm.streams.info(CONFIG.nats.stream);
  const current = (info.cluster?.replicas ?? []).filter((r) => r.current && !r.offline).length;
  return verification(
    backlog.records,
    info.state.messages,
    'records',
    `stream ${CONFIG.nats.stream}: ${info.state.messages} messages, ${info.state.bytes} bytes, seq ${info.state.first_seq}..${info.state.last_seq}, replicas ${replicas} (leader ${info.cluster?.leader ?? 'n/a'}, ${current} other current)`,
    info.state.bytes,
    'stream bytes (one replica)',
  );
}

async function natsDestination(): Promise<Destination> {
  const server = await startNatsServer({ label: 'bench' });
  try {
    const admin = await adminConnection(server.url);
    await createStream(admin, 1);
    const pid = pidListeningOn(server.port);
    return {
      kind: 'nats',
      description: `nats-server ${binaryVersion('nats-server')?.replace(/^nats-server:\s*/, '') ?? '?'}, JetStream file storage, stream R1`,
      sinkConfig: { type: 'nats', servers: [server.url], stream: { name: CONFIG.nats.stream } },
      batchRecords: DEFAULT_NATS_BATCH_MAX_RECORDS,
      ...pidCpu(pid === undefined ? [] : [pid]),
      verify: (backlog) => natsVerify(admin, backlog, 1),
      async stop() {
        await admin.close().catch(() => undefined);
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function natsClusterDestination(): Promise<Destination> {
  const cluster = await NatsCluster.start();
  try {
    const admin = await adminConnection(cluster.urls);
    await createStream(admin, 3);
    const pids = cluster.nodes.map((n) => pidListeningOn(n.port)).filter((p): p is number => p !== undefined);
    return {
      kind: 'nats-cluster',
      description: `3 × nats-server ${binaryVersion('nats-server')?.replace(/^nats-server:\s*/, '') ?? '?'} on loopback, JetStream file storage, stream R3; sink given all 3 servers`,
      sinkConfig: { type: 'nats', servers: cluster.urls, stream: { name: CONFIG.nats.stream } },
      batchRecords: DEFAULT_NATS_BATCH_MAX_RECORDS,
      ...pidCpu(pids.length === cluster.nodes.length ? pids : []),
      verify: (backlog) => natsVerify(admin, backlog, 3),
      async stop() {
        await admin.close().catch(() => undefined);
        await cluster.stop();
      },
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

const REDIS_KEY = 'logs:bench:access';

async function redisDestination(entryPer: 'log' | 'group'): Promise<Destination> {
  const { appendonly, appendfsync } = CONFIG.redis;
  // The helper's own `--appendonly no` comes first; these later arguments override it.
  const server = await startRedisServer({ args: ['--appendonly', appendonly, '--appendfsync', appendfsync] });
  try {
    const admin = new Redis({ host: server.host, port: server.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    const config = Object.fromEntries(
      ((await admin.config('GET', 'append*')) as string[]).reduce<string[][]>((pairs, v, i, a) => (i % 2 === 0 ? [...pairs, [v, a[i + 1] as string]] : pairs), []),
    ) as Record<string, string>;
    if (config.appendonly !== appendonly || config.appendfsync !== appendfsync) {
      throw new Error(`redis-server runs with appendonly ${config.appendonly}, appendfsync ${config.appendfsync}; expected ${appendonly}, ${appendfsync}`);
    }
    const version = ((await admin.info('server')).match(/redis_version:(\S+)/) ?? [])[1] ?? '?';
    const pid = pidListeningOn(server.port);
    return {
      kind: entryPer === 'log' ? 'redis' : 'redis-group',
      description: `redis-server ${version}, appendonly ${config.appendonly}, appendfsync ${config.appendfsync}; entryPer ${entryPer}`,
      sinkConfig: { type: 'redis', url: server.url, entryPer },
      batchRecords: DEFAULT_BATCH_MAX_RECORDS,
      ...pidCpu(pid === undefined ? [] : [pid]),
      async verify(backlog) {
        const xlen = await admin.xlen(REDIS_KEY);
        const keys = await admin.dbsize();
        const markers = keys - 1;
        const memory = Number(((await admin.info('memory')).match(/used_memory:(\d+)/) ?? [])[1]);
        const expected = entryPer === 'log' ? backlog.logs : backlog.records;
        return verification(
          expected,
          xlen,
          entryPer === 'log' ? 'logs' : 'records',
          `XLEN ${REDIS_KEY} ${xlen}, ${markers} dedup markers (expected ${backlog.records})`,
          memory,
          'redis used_memory',
          markers === backlog.records,
        );
      },
      async stop() {
        admin.disconnect();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** Counts '\n' bytes of a file. */
async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return lines;
}

async function fileDestination(tmp: TempRoot): Promise<Destination> {
  const dir = await tmp.dir('file-sink');
  const path = join(dir, 'logs.ndjson');
  return {
    kind: 'file',
    description: 'NDJSON file in the scratch dir (datasync before every ack)',
    sinkConfig: { type: 'file', path },
    batchRecords: DEFAULT_BATCH_MAX_RECORDS,
    ...pidCpu([]),
    async verify(backlog) {
      const lines = await countLines(path);
      const size = (await stat(path)).size;
      return verification(backlog.logs, lines, 'logs', `${lines} lines, ${size} bytes`, size, 'file bytes');
    },
    async stop() {
      await removeDir(dir);
    },
  };
}

async function stdoutDestination(): Promise<Destination> {
  let lines = 0;
  let bytes = 0;
  let ended: Promise<void> = Promise.resolve();
  return {
    kind: 'stdout',
    description: "format json to the child's process.stdout, a pipe read (and discarded) by the bench process",
    sinkConfig: { type: 'stdout' },
    batchRecords: DEFAULT_BATCH_MAX_RECORDS,
    attach(child) {
      const out = child.proc.stdout;
      if (out === null) throw new Error('the stdout drain has no stdout pipe');
      ended = new Promise((resolve) => out.once('end', resolve));
      out.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
      });
    },
    ...pidCpu([]),
    async verify(backlog) {
      await ended;
      return verification(backlog.logs, lines, 'logs', `${lines} lines, ${bytes} bytes read from the pipe`, bytes, 'bytes through the pipe');
    },
    async stop() {},
  };
}

function startDestination(kind: SinkKind, tmp: TempRoot): Promise<Destination> {
  switch (kind) {
    case 'http':
      return httpDestination();
    case 'nats':
      return natsDestination();
    case 'nats-cluster':
      return natsClusterDestination();
    case 'redis':
      return redisDestination('log');
    case 'redis-group':
      return redisDestination('group');
    case 'file':
      return fileDestination(tmp);
    case 'stdout':
      return stdoutDestination();
  }
}

// ── Parent: one drain, measured ───────────────────────────────────────────────────────

interface DrainRun {
  readonly sink: SinkKind;
  readonly round: number;
  readonly description: string;
  readonly sinkConfig: SinkConfig;
  readonly batchRecords: number;
  readonly setupMs: number;
  readonly copyMs: number;
  readonly report: DrainReport;
  readonly records: number;
  readonly logs: number;
  readonly payloadBytes: number;
  readonly mbps: number;
  readonly recordsPerSec: number;
  readonly logsPerSec: number;
  readonly walshipCores: number;
  readonly serverCpuMs: number | undefined;
  readonly memory: MemoryPeaks;
  readonly verification: Verification;
}

async function runDrain(tmp: TempRoot, backlog: Backlog, kind: SinkKind, round: number): Promise<DrainRun> {
  const dir = await tmp.dir('run');
  const copy = await timed(async () => {
    await copyDir(backlog.dir, dir);
    // Flush the copy now, so that its write-back does not overlap the drain.
    execFileSync('sync', ['-f', dir]);
  });
  const setup = await timed(() => startDestination(kind, tmp));
  const dest = setup.value;
  let drain: Child | undefined;
  try {
    const args = ['--worker=drain', `--dir=${dir}`, `--sink-config=${JSON.stringify(dest.sinkConfig)}`];
    if (kind === 'stdout') {
      drain = new Child(fork(SELF, args, { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] }));
      dest.attach?.(drain);
    } else {
      drain = forkTs(SELF, args, ROOT);
    }
    const sampler = new MemorySampler(drain.proc.pid as number, CONFIG.sampleMs);
    let report: DrainReport;
    let serverCpuMs: number | undefined;
    try {
      await drain.message('ready', 120_000);
      await dest.mark();
      await drain.send({ type: 'go' });
      await drain.message('drained', CONFIG.drainTimeoutMs + 120_000);
      serverCpuMs = await dest.cpuSinceMark();
      report = (await drain.message('done', 300_000)).report as DrainReport;
      await drain.succeeded();
    } finally {
      if (drain.proc.exitCode === null) await drain.killHard();
    }
    const memory = sampler.stop();
    const verified = await dest.verify(backlog);
    const records = report.delivery.deliveredRecords;
    const ms = report.drainMs;
    return {
      sink: kind,
      round,
      description: dest.description,
      sinkConfig: dest.sinkConfig,
      batchRecords: dest.batchRecords,
      setupMs: setup.ms,
      copyMs: copy.ms,
      report,
      records,
      logs: backlog.logs,
      payloadBytes: backlog.payloadBytes,
      mbps: rate(backlog.payloadBytes / 1e6, ms),
      recordsPerSec: rate(backlog.records, ms),
      logsPerSec: rate(backlog.logs, ms),
      walshipCores: report.cpuMs / ms,
      serverCpuMs,
      memory,
      verification: verified,
    };
  } finally {
    if (drain !== undefined && drain.proc.exitCode === null) await drain.killHard();
    await dest.stop();
    await removeDir(dir);
  }
}

/** What a row says about the destination's contents: `ok …` or `WRONG …`. */
function verifiedCell(r: DrainRun): string {
  const v = r.verification;
  if (!r.report.complete) return `WRONG: drain gave up, ${int(r.report.pendingAfter)} pending; ${int(v.found)} of ${int(v.expected)} ${v.unit}`;
  if (r.report.deadLetterRecords > 0) return `WRONG: ${int(r.report.deadLetterRecords)} dead-lettered; ${int(v.found)} of ${int(v.expected)} ${v.unit}`;
  return v.ok ? `ok ${int(v.found)} ${v.unit}` : `WRONG ${int(v.found)} of ${int(v.expected)} ${v.unit}`;
}

function rowOk(r: DrainRun): boolean {
  return r.verification.ok && r.report.complete && r.report.deadLetterRecords === 0;
}

const HEADERS = [
  'sink',
  'round',
  'batch',
  'drain s',
  'MB/s',
  'records/s',
  'logs/s',
  'walship CPU s',
  'walship cores',
  'peak RSS MB',
  'server CPU s',
  'retries',
  'open s',
  'stop s',
  'dest MB',
  'verified',
];

function row(r: DrainRun): Cell[] {
  return [
    r.sink,
    r.round,
    r.batchRecords,
    fixed(r.report.drainMs / 1000, 2),
    fixed(r.mbps, 1),
    int(r.recordsPerSec),
    int(r.logsPerSec),
    fixed(r.report.cpuMs / 1000, 2),
    fixed(r.walshipCores, 2),
    mb(r.memory.hwm, 0),
    r.serverCpuMs === undefined ? '—' : fixed(r.serverCpuMs / 1000, 2),
    int(r.report.delivery.retries),
    fixed(r.report.openMs / 1000, 2),
    fixed(r.report.stopMs / 1000, 2),
    mb(r.verification.bytes, 1),
    verifiedCell(r),
  ];
}

// ── Summary ───────────────────────────────────────────────────────────────────────────

interface SinkSummary {
  readonly sink: SinkKind;
  readonly runs: number;
  readonly mbps: number;
  readonly recordsPerSec: number;
  readonly logsPerSec: number;
  readonly drainSeconds: number;
  readonly walshipCpuSeconds: number;
  readonly peakRss: number;
  readonly serverCpuSeconds: number | undefined;
  readonly allVerified: boolean;
}

function summarize(runs: readonly DrainRun[]): SinkSummary[] {
  const out: SinkSummary[] = [];
  for (const sink of SINKS) {
    const mine = runs.filter((r) => r.sink === sink);
    if (mine.length === 0) continue;
    const server = mine.map((r) => r.serverCpuMs).filter((x): x is number => x !== undefined);
    out.push({
      sink,
      runs: mine.length,
      mbps: median(mine.map((r) => r.mbps)),
      recordsPerSec: median(mine.map((r) => r.recordsPerSec)),
      logsPerSec: median(mine.map((r) => r.logsPerSec)),
      drainSeconds: median(mine.map((r) => r.report.drainMs / 1000)),
      walshipCpuSeconds: median(mine.map((r) => r.report.cpuMs / 1000)),
      peakRss: Math.max(...mine.map((r) => r.memory.hwm)),
      serverCpuSeconds: server.length === 0 ? undefined : median(server) / 1000,
      allVerified: mine.every(rowOk),
    });
  }
  return out;
}

interface ClusterComparison {
  readonly singleMbps: number;
  readonly clusterMbps: number;
  /** cluster MB/s / single MB/s. */
  readonly throughputRatio: number;
  /** cluster server CPU (3 nodes) / single server CPU. */
  readonly serverCpuRatio: number | undefined;
  /** cluster walship CPU / single walship CPU. */
  readonly walshipCpuRatio: number;
}

function compareCluster(summary: readonly SinkSummary[]): ClusterComparison | undefined {
  const single = summary.find((s) => s.sink === 'nats');
  const cluster = summary.find((s) => s.sink === 'nats-cluster');
  if (single === undefined || cluster === undefined) return undefined;
  return {
    singleMbps: single.mbps,
    clusterMbps: cluster.mbps,
    throughputRatio: cluster.mbps / single.mbps,
    serverCpuRatio:
      single.serverCpuSeconds === undefined || cluster.serverCpuSeconds === undefined ? undefined : cluster.serverCpuSeconds / single.serverCpuSeconds,
    walshipCpuRatio: cluster.walshipCpuSeconds / single.walshipCpuSeconds,
  };
}

// ── Main ──────────────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  const only = onlyFlag();
  const { tmp, machine, startedAt } = startBenchSession({
    name: 'sink',
    tmpPrefix: 'walship-bench-sinks-',
    quick: QUICK,
    root: ROOT,
  });
  const servers = { natsServer: binaryVersion('nats-server'), redisServer: binaryVersion('redis-server') };
  console.log('each drain: createFlusher({ dir, sink }) in its own process, every option at its default (WAL quota 4 GiB); one fresh destination per drain');

  const errors: Array<{ sink: string; round: number; error: string }> = [];
  const runs: DrainRun[] = [];
  let pool: (ReturnType<typeof poolStats> & { ms: number }) | undefined;
  let backlog: Backlog | undefined;
  const descriptions = new Map<SinkKind, DrainRun>();
  const snapshot = (finished: boolean) => {
    const summary = summarize(runs);
    return {
      bench: 'sinks',
      date: startedAt.toISOString(),
      finished: finished ? new Date().toISOString() : undefined,
      quick: QUICK,
      sinks: only,
      node: process.version,
      machine,
      servers,
      loadavgAtEnd: finished ? machineInfo(ROOT).loadavg : undefined,
      config: CONFIG,
      pool,
      backlog: backlog === undefined ? undefined : { ...backlog, dir: undefined },
      runs,
      summary,
      natsClusterVsSingle: compareCluster(summary),
      srcStatus: srcStatus(ROOT),
      parentWarnings: { count: WARNINGS.count(), first: WARNINGS.warnings.slice(0, 5) },
      errors,
    };
  };

  {
    const count = Math.max(1, Math.round(CONFIG.groups.poolBytes / CONFIG.groups.targetBytes));
    progress(`generating ${count} distinct LogGroups of ~${sizeLabel(CONFIG.groups.targetBytes)}`);
    const made = await timed(async () => makeGroupPool(count, CONFIG.groups.targetBytes, CONFIG.groups.seed));
    pool = { ...poolStats(made.value), ms: made.ms };
    progress(`building the ${sizeLabel(CONFIG.backlogBytes)} backlog`);
    backlog = await buildBacklog(tmp, made.value, CONFIG.backlogBytes, sizeLabel(CONFIG.backlogBytes), {
      ...CONFIG.build,
      maxBytes: CONFIG.walMaxBytes,
      logger: LOGGER,
    });
    printTable(
      `Backlog (pool of ${pool.groups} distinct LogGroups, mean ${int(pool.meanBytes)} B and ${fixed(pool.meanLogs, 1)} logs each; built with sync never)`,
      ['backlog', 'records', 'logs', 'payload MB', 'logical MB', 'on disk MB', 'build s'],
      [[backlog.label, int(backlog.records), int(backlog.logs), mb(backlog.payloadBytes, 1), mb(backlog.logicalBytes, 1), mb(backlog.diskBytes, 1), fixed(backlog.buildMs / 1000, 2)]],
    );
  }
  const master = backlog;

  // Interleaved: every sink once per round.
  for (let round = 1; round <= CONFIG.rounds; round++) {
    for (const kind of only) {
      progress(`round ${round}: ${kind}`);
      try {
        const run = await runDrain(tmp, master, kind, round);
        runs.push(run);
        if (!descriptions.has(kind)) descriptions.set(kind, run);
      } catch (err) {
        console.error(`sink ${kind} (round ${round}) failed:`, err);
        errors.push({ sink: kind, round, error: String((err as Error)?.stack ?? err) });
      }
      await writeResults(OUT, snapshot(false));
    }
  }

  printTable(
    'Destinations',
    ['sink', 'sink config', 'destination'],
    [...descriptions.values()].map((r) => [r.sink, JSON.stringify(r.sinkConfig).replace(/"(url|servers|path)":("[^"]*"|\[[^\]]*\])/g, '"$1":…'), r.description]),
  );
  printTable(
    `Sinks draining the ${master.label} backlog (${int(master.records)} records, ${int(master.logs)} logs, ${mb(master.payloadBytes, 1)} MB payload; MB = 10^6 payload bytes)`,
    HEADERS,
    runs.map(row),
  );
  const summary = summarize(runs);
  if (CONFIG.rounds > 1) {
    printTable(
      `Medians over ${CONFIG.rounds} rounds`,
      ['sink', 'runs', 'MB/s', 'records/s', 'logs/s', 'drain s', 'walship CPU s', 'server CPU s', 'max peak RSS MB', 'all verified'],
      summary.map((s) => [
        s.sink,
        s.runs,
        fixed(s.mbps, 1),
        int(s.recordsPerSec),
        int(s.logsPerSec),
        fixed(s.drainSeconds, 2),
        fixed(s.walshipCpuSeconds, 2),
        s.serverCpuSeconds === undefined ? '—' : fixed(s.serverCpuSeconds, 2),
        mb(s.peakRss, 0),
        s.allVerified ? 'yes' : 'NO',
      ]),
    );
  }
  const cmp = compareCluster(summary);
  if (cmp !== undefined) {
    console.log(
      `\nNATS cluster vs single: ${fixed(cmp.throughputRatio, 2)}× the MB/s (3 nodes, stream R3: ${fixed(cmp.clusterMbps, 1)} MB/s; ` +
        `1 node, R1: ${fixed(cmp.singleMbps, 1)} MB/s); server CPU ${cmp.serverCpuRatio === undefined ? '—' : `${fixed(cmp.serverCpuRatio, 2)}×`}, ` +
        `walship CPU ${fixed(cmp.walshipCpuRatio, 2)}×`,
    );
  }

  const wrong = runs.filter((r) => !rowOk(r));
  for (const r of wrong) {
    console.log(`\n!!! VERIFICATION FAILED: ${r.sink} (round ${r.round}): ${verifiedCell(r)}; ${r.verification.detail}`);
  }
  const childWarnings = runs.reduce((a, r) => a + r.report.warnings, 0);
  if (childWarnings + WARNINGS.count() > 0) {
    console.log(`\nwalship logged ${childWarnings + WARNINGS.count()} line(s) at warn or above (first lines in the JSON)`);
  }
  console.log(`\nresults: ${await writeResults(OUT, snapshot(true))}`);
  return errors.length > 0 || wrong.length > 0 ? 1 : 0;
}

const worker = flag('worker');
if (worker === 'drain') await workerDrain();
else if (worker !== undefined) throw new Error(`unknown --worker=${worker}`);
else process.exitCode = await main();
