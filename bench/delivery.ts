/**
 * # Delivery benchmarks
 *
 * `npm run bench -- delivery [--quick] [--only=throughput,memory,faults] [--rounds=N]
 *  [--workers=N] [--drains=read+ack,sls,sls-raw,ndjson] [--diagnostics=sls@null,ndjson@null]
 *  [--backlog-mib=N] [--small-mib=N] [--cpu-prof] [--out=FILE]`
 *
 * Prints one aligned table per section and a final targets table, and writes every
 * measurement (machine info, date, Node, git commit and the state of src/) to
 * `bench/results/delivery.json`. The machine is shared and noisy (2 cores), so delivery is
 * always compared with reading and acking the same WAL without delivery, as a ratio measured
 * side by side in the same run, the runs interleaved (read+ack, sls, ndjson, read+ack, …),
 * and the median of the rounds kept.
 *
 * ## The backlog
 *
 * LogGroups of ~64 KiB (`encodeLogGroup`, ≈280 access-log-like logs of ≈230 bytes: random
 * IPs, paths, trace ids, latencies, user agents, messages, so snappy cannot collapse them).
 * A pool of distinct groups (1024, i.e. 64 MiB) is generated once and appended round-robin
 * until the payload bytes reach the backlog size (1 GiB, 64 MiB with `--quick`), with
 * `sync: 'never'`, 4 appenders × 16 records per call. Each backlog is built once and closed;
 * every drain works on a fresh copy of it (copied, then `sync -f`, so that no write-back of
 * the copy overlaps the drain).
 *
 * ## Processes
 *
 * - **drain** (`--worker=drain`, run with `--expose-gc`): opens the copy and drains it, one of
 *   - `read+ack`: `nextBatch(64, 16 MiB)` then `ack`, one batch at a time: the WAL's own
 *     drain rate, the denominator of every ratio;
 *   - `sls`: the WAL as the DeliveryManager's source (batchMaxRecords 1; windows, retry
 *     delays, HTTP concurrency and timeouts at their defaults) → LoadBalancerMode over
 *     `makeClients([url], createHttpClient, workersPerHost)` → HttpClient, encoding `sls`
 *     (one LogGroup per request, lz4);
 *   - `sls-raw`: `sls` with `compression: 'none'`, to show what lz4 costs;
 *   - `ndjson`: the same with encoding `ndjson` and batchMaxRecords 8.
 *   The clock runs from `start()` to the moment nothing is pending in the WAL (polled every
 *   2 ms); stopping the manager and closing the WAL (its compaction on close) are timed
 *   apart. After the clock stops, one full GC and `process.memoryUsage()` show what the
 *   process still holds, and the number of 'abort' listeners left on the signal the manager
 *   passes to `publish` is counted.
 * - **receiver** (`--worker=receiver`): `startReceiver({ keepLogs: false, keepRequests: 0 })`
 *   in its own process (its CPU is not the walship process's), one per drain, so its dedup
 *   set and counters cover exactly that drain. With `--sink=null` it is instead a bare
 *   `node:http` server that reads each body and answers 200: the diagnostics below.
 * - this process builds the WALs, copies them, and samples each drain process's
 *   `/proc/<pid>/status` every 50 ms from the outside (VmRSS, RssAnon, RssFile; VmHWM, the
 *   kernel's own peak), and the machine's CPU from `/proc/stat`. The drain process reports
 *   its CPU (all threads, and its main thread alone from `/proc/self/task`) and its
 *   event-loop utilization; the receiver reports its CPU and event-loop utilization.
 *
 * ## Sections
 *
 * 1. **throughput**: read+ack, sls and ndjson over the big backlog, `rounds` times (2; 1
 *    with `--quick`), interleaved. MB = 10^6 bytes of LogGroup payload; records =
 *    LogGroups. The first round also drains into the null sink (`--diagnostics`), to show
 *    what the walship process can do when the receiver is not the limit (no target).
 * 2. **memory**: peak RSS of the delivering process draining the small backlog (100 MiB;
 *    8 MiB with `--quick`) beside the big one (the big drains of section 1, or run here when
 *    section 1 is skipped), for both encodings.
 * 3. **faults**: the sls drain of the big backlog with the receiver answering 30% of the
 *    requests 503 (seeded). Lost = logs appended − unique logs the receiver stored.
 *
 * `--cpu-prof` writes each drain process's main-thread CPU profile to
 * `bench/results/delivery-<n>-<drain>-<backlog>.cpuprofile`. The drain processes run with the
 * `walship` command's Node flags (src/cli/node-flags.ts); `BENCH_NODE_FLAGS` (environment,
 * space-separated) adds more, e.g. `--trace-gc`.
 */
import { execFileSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { cpus } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WALSHIP_NODE_FLAGS } from '../src/cli/node-flags.ts';
import { GiB, KiB, MiB } from '../src/config/defaults.ts';
import { DeliveryManager, LoadBalancerMode, makeClients } from '../src/delivery/index.ts';
import { startReceiver } from '../src/receiver/index.ts';
import { createHttpClient } from '../src/sinks/http/index.ts';
import { WriteAheadLog } from '../src/wal/index.ts';
import { flag } from './lib/args.ts';
import { type Child, type ChildMessage, forkTs, sendToParent, waitForMessage } from './lib/child.ts';
import { type Backlog, buildBacklog as buildGroupBacklog, type GroupPool, makeGroupPool } from './lib/groups.ts';
import { machineBusy, machineCpu, type MemoryPeaks, MemorySampler, procMemorySync, threadCpuMs } from './lib/proc.ts';
import type { ReceiverReport } from './lib/receiver-report.ts';
import { machineInfo, srcStatus, writeResults } from './lib/results.ts';
import { Sections } from './lib/sections.ts';
import { startBenchSession } from './lib/session.ts';
import { type Cell, fixed, int, mb, printTable, sizeLabel } from './lib/table.ts';
import { printTargets, type Target, target } from './lib/targets.ts';
import { copyDir, removeDir, type TempRoot } from './lib/temp.ts';
import { median, now, sleep, timed } from './lib/timing.ts';
import { captureWarnings } from './lib/warnings.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..');

// ── Command line ──────────────────────────────────────────────────────────────────────

const QUICK = process.argv.includes('--quick');
const CPU_PROF = process.argv.includes('--cpu-prof');
const SECTIONS = ['throughput', 'memory', 'faults'] as const;
type Section = (typeof SECTIONS)[number];
const ONLY = (flag('only')?.split(',') ?? [...SECTIONS]) as Section[];
const OUT = resolve(ROOT, flag('out') ?? 'bench/results/delivery.json');

// ── Configuration ─────────────────────────────────────────────────────────────────────

/** `sls-raw`: the sls encoding with `compression: 'none'` (a diagnostic: what lz4 costs). */
type DrainKind = 'read+ack' | 'sls' | 'sls-raw' | 'ndjson';
/** `receiver`: startReceiver (decodes, deduplicates, counts); `null`: reads bodies, answers 200. */
type Sink = 'receiver' | 'null';

const CONFIG = {
  quick: QUICK,
  groups: {
    /** Encoded LogGroup size the generator aims at (it stops adding logs there). */
    targetBytes: 64 * KiB,
    /** Distinct groups generated, appended round-robin (64 MiB of distinct content). */
    pool: QUICK ? 128 : 1024,
    seed: 20_261_122,
  },
  build: { appenders: 4, entriesPerAppend: 16 },
  /** Payload bytes of the big backlog (sections 1–3) and the small one (section 2). */
  backlogBytes: flag('backlog-mib') !== undefined ? Number(flag('backlog-mib')) * MiB : QUICK ? 64 * MiB : 1 * GiB,
  smallBacklogBytes: flag('small-mib') !== undefined ? Number(flag('small-mib')) * MiB : QUICK ? 8 * MiB : 100 * MiB,
  /** Rounds of section 1 (read+ack, sls, ndjson each), interleaved. */
  rounds: Number(flag('rounds') ?? (QUICK ? 1 : 2)),
  readAck: { batchRecords: 64, batchBytes: 16 * MiB },
  delivery: {
    /** HttpClients (LoadBalancerMode workers) on the one receiver. */
    workersPerHost: Number(flag('workers') ?? 4),
    batchMaxRecords: { sls: 1, 'sls-raw': 1, ndjson: 8 } as Record<Exclude<DrainKind, 'read+ack'>, number>,
    /** Everything else (windows, retry delays, HTTP concurrency and timeouts) is the default. */
  },
  faults: { failRate: 0.3, failStatus: 503, seed: 7, kind: 'sls' as const },
  sampleMs: 50,
  /** Drain processes get this long before the run counts as failed. */
  drainTimeoutMs: 20 * 60_000,
} as const;

const MAX_BYTES = 4 * GiB;

// ── Shared pieces ─────────────────────────────────────────────────────────────────────

/**
 * What walship logs at warn or above is collected (and counted in the JSON), not printed
 * between the tables. In a child process the first few lines travel back to the parent.
 */
const WARNINGS = captureWarnings();
const LOGGER = WARNINGS.logger;

const rate = (units: number, ms: number) => (ms > 0 ? units / (ms / 1000) : Number.NaN);

function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}

// ── Building a backlog ────────────────────────────────────────────────────────────────

/** The generator and the builder live in ./lib/groups.ts (shared with bench/sinks.ts). */
function buildBacklog(tmp: TempRoot, pool: GroupPool, bytes: number, label: string): Promise<Backlog> {
  return buildGroupBacklog(tmp, pool, bytes, label, { ...CONFIG.build, maxBytes: MAX_BYTES, logger: LOGGER });
}

// ── Worker: the receiver ──────────────────────────────────────────────────────────────

/**
 * A sink that costs (almost) nothing: reads each body to its end and answers 200. Drains into
 * it show what the walship process can do when the receiver is not the limit.
 */
async function startNullSink(): Promise<{ url: string; stats: () => ReceiverReport['stats'] }> {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(200, { 'content-length': '0' }).end();
      return;
    }
    stats.requests++;
    req.on('data', (chunk: Buffer) => (stats.bytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({
      requests: stats.requests,
      acceptedRequests: stats.requests,
      duplicateRequests: 0,
      invalidRequests: 0,
      logs: Number.NaN,
      duplicateLogs: 0,
      bytes: stats.bytes,
      faults: {},
    }),
  };
}

async function workerReceiver(): Promise<void> {
  const failRate = Number(flag('fail') ?? 0);
  let url: string;
  let stats: () => ReceiverReport['stats'];
  let close: () => Promise<void>;
  if (flag('sink') === 'null') {
    const sink = await startNullSink();
    url = sink.url;
    stats = sink.stats;
    close = async () => undefined;
  } else {
    const receiver = await startReceiver({
      failRate,
      failStatus: CONFIG.faults.failStatus,
      seed: Number(flag('seed') ?? 1),
      keepLogs: false,
      keepRequests: 0,
      logger: LOGGER,
    });
    url = receiver.url;
    stats = () => {
      const s = receiver.stats();
      return { ...s, faults: { ...s.faults } };
    };
    close = () => receiver.close();
  }
  let cpu = process.cpuUsage();
  let elu = performance.eventLoopUtilization();
  let t = now();
  process.on('message', (m: ChildMessage) => {
    if (m.type === 'mark') {
      cpu = process.cpuUsage();
      elu = performance.eventLoopUtilization();
      t = now();
    } else if (m.type === 'stats') {
      const used = process.cpuUsage(cpu);
      void sendToParent({
        type: 'stats',
        stats: stats(),
        wallMs: now() - t,
        cpuMs: (used.user + used.system) / 1000,
        elu: performance.eventLoopUtilization(elu).utilization,
        memory: procMemorySync('self'),
        warnings: WARNINGS.count(),
      });
    } else if (m.type === 'close') {
      void close().then(() => process.exit(0));
    }
  });
  await sendToParent({ type: 'ready', url });
}

// ── Worker: one drain ─────────────────────────────────────────────────────────────────

interface DrainReport {
  readonly kind: DrainKind;
  readonly records: number;
  readonly payloadBytes: number;
  /** Logical bytes pending at open (key + envelope), what the WAL counts. */
  readonly logicalBytes: number;
  readonly openMs: number;
  readonly drainMs: number;
  readonly stopMs: number;
  readonly closeMs: number;
  /** CPU of the walship process (all its threads: LevelDB, libuv pool) during the drain. */
  readonly cpuMs: number;
  /** CPU of the main thread alone (JavaScript, the event loop), from /proc (10 ms ticks). */
  readonly mainThreadCpuMs: number;
  readonly userMs: number;
  readonly systemMs: number;
  /** Event-loop utilization of the main thread during the drain. */
  readonly elu: number;
  readonly pendingAfter: number;
  readonly heapPeak: { readonly heapUsed: number; readonly external: number; readonly arrayBuffers: number };
  /** process.memoryUsage() right after the drain, after a full GC: what is still reachable. */
  readonly retainedAfterDrain: {
    readonly heapUsed: number;
    readonly external: number;
    readonly arrayBuffers: number;
    readonly rss: number;
  };
  /** 'abort' listeners left on the signal the manager passes to publish, after the drain. */
  readonly abortListeners: number | undefined;
  readonly delivery?: {
    readonly attempts: number;
    readonly retries: number;
    readonly deliveredBatches: number;
    readonly deadLettered: number;
    readonly failures: Readonly<Record<string, number>>;
  };
  readonly memoryAtEnd: ReturnType<typeof procMemorySync>;
  readonly warnings: number;
  readonly firstWarnings: string[];
}

async function workerDrain(): Promise<void> {
  const dir = flag('dir') as string;
  const kind = flag('kind') as DrainKind;
  const url = flag('url');
  const workers = Number(flag('workers'));
  const batch = Number(flag('batch'));

  // The heap, sampled in process (RSS is sampled by the parent, from the outside).
  const heapPeak = { heapUsed: 0, external: 0, arrayBuffers: 0 };
  const heapTimer = setInterval(() => {
    const m = process.memoryUsage();
    heapPeak.heapUsed = Math.max(heapPeak.heapUsed, m.heapUsed);
    heapPeak.external = Math.max(heapPeak.external, m.external);
    heapPeak.arrayBuffers = Math.max(heapPeak.arrayBuffers, m.arrayBuffers);
  }, CONFIG.sampleMs);

  const open = await timed(() => WriteAheadLog.open({ dir, maxBytes: MAX_BYTES, logger: LOGGER }));
  const wal = open.value;
  const total = wal.pendingRecords;
  const startBytes = (await wal.stats()).pendingBytes;

  let run: () => Promise<void>;
  let after: () => Promise<{ stopMs: number; delivery?: DrainReport['delivery']; abortListeners?: number }>;
  if (kind === 'read+ack') {
    run = async () => {
      let acked = 0;
      while (acked < total) {
        const records = await wal.nextBatch(batch, CONFIG.readAck.batchBytes);
        await wal.ack(records);
        acked += records.length;
      }
    };
    after = async () => ({ stopMs: 0 });
  } else {
    const clients = makeClients(
      [url as string],
      (u, i) =>
        createHttpClient({
          url: u,
          ...(kind === 'sls-raw' ? { encoding: 'sls', compression: 'none' } : { encoding: kind }),
          name: `receiver#${i}`,
          logger: LOGGER,
        }),
      workers,
    );
    const mode = new LoadBalancerMode(clients, { logger: LOGGER });
    // The signal the manager hands to every publish, to count what is left listening on it.
    let publishSignal: AbortSignal | undefined;
    const publish = mode.publish.bind(mode);
    mode.publish = (b, signal) => {
      publishSignal ??= signal;
      return publish(b, signal);
    };
    // The WAL itself is the source; the clock stops when nothing is pending any more.
    const manager = new DeliveryManager({ source: wal, mode, batchMaxRecords: batch, logger: LOGGER });
    // Every client connected (its HEAD probe answered) before the clock starts.
    while (!mode.endpoints().every((e) => e.connected)) await sleep(5);
    run = async () => {
      manager.start();
      while (wal.pendingRecords > 0) await sleep(2);
    };
    after = async () => {
      const abortListeners = publishSignal === undefined ? undefined : getEventListeners(publishSignal, 'abort').length;
      const stop = await timed(() => manager.stop(10_000));
      const s = manager.stats();
      return {
        stopMs: stop.ms,
        abortListeners,
        delivery: {
          attempts: s.attempts,
          retries: s.retries,
          deliveredBatches: s.deliveredBatches,
          deadLettered: s.deadLettered,
          failures: s.failures,
        },
      };
    };
  }

  await sendToParent({ type: 'ready', pendingRecords: total, openMs: open.ms });
  await waitForMessage('go');
  const cpu0 = process.cpuUsage();
  const main0 = threadCpuMs('self', process.pid);
  const elu0 = performance.eventLoopUtilization();
  const started = now();
  await run();
  const drainMs = now() - started;
  const cpu = process.cpuUsage(cpu0);
  const main1 = threadCpuMs('self', process.pid);
  const mainThreadCpuMs = main0 === undefined || main1 === undefined ? Number.NaN : main1 - main0;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  await sendToParent({ type: 'drained' });
  // What the process still holds once the drain is over (with --expose-gc): a leak shows here.
  globalThis.gc?.();
  const retained = process.memoryUsage();
  const { stopMs, delivery, abortListeners } = await after();
  const pendingAfter = wal.pendingRecords;
  const close = await timed(() => wal.close());
  clearInterval(heapTimer);
  const report: DrainReport = {
    kind,
    records: total - pendingAfter,
    payloadBytes: Number(flag('payload-bytes')),
    logicalBytes: startBytes,
    openMs: open.ms,
    drainMs,
    stopMs,
    closeMs: close.ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    mainThreadCpuMs,
    userMs: cpu.user / 1000,
    systemMs: cpu.system / 1000,
    elu,
    pendingAfter,
    heapPeak,
    retainedAfterDrain: { heapUsed: retained.heapUsed, external: retained.external, arrayBuffers: retained.arrayBuffers, rss: retained.rss },
    abortListeners,
    ...(delivery === undefined ? {} : { delivery }),
    memoryAtEnd: procMemorySync('self'),
    warnings: WARNINGS.count(),
    firstWarnings: WARNINGS.warnings.slice(0, 5),
  };
  await sendToParent({ type: 'done', report });
  process.exit(0);
}

// ── Parent: one drain, measured ───────────────────────────────────────────────────────

interface DrainRun {
  readonly label: string;
  readonly kind: DrainKind;
  readonly sink: Sink | undefined;
  readonly backlog: string;
  readonly round: number;
  readonly workersPerHost: number | undefined;
  readonly batchRecords: number;
  readonly failRate: number;
  readonly expectedRecords: number;
  readonly expectedLogs: number;
  readonly copyMs: number;
  readonly report: DrainReport;
  readonly mbps: number;
  readonly recordsPerSec: number;
  readonly logsPerSec: number;
  /** CPU of the walship process / wall time of the drain (1 = one core busy). */
  readonly walshipCores: number;
  readonly receiver: (ReceiverReport & { readonly cores: number }) | undefined;
  /** Busy share of the whole machine (all cores, every process) during the drain. */
  readonly machineBusy: number | undefined;
  readonly memory: MemoryPeaks;
  /** With `--cpu-prof`: the drain process's main-thread profile. */
  readonly profile: string | undefined;
}

let profileCount = 0;

async function runDrain(
  tmp: TempRoot,
  backlog: Backlog,
  kind: DrainKind,
  round: number,
  options: { failRate?: number; label?: string; sink?: Sink } = {},
): Promise<DrainRun> {
  const failRate = options.failRate ?? 0;
  const sink = options.sink ?? 'receiver';
  const label = options.label ?? (sink === 'null' ? `${kind} → null sink` : kind);
  const dir = await tmp.dir('run');
  const copy = await timed(async () => {
    await copyDir(backlog.dir, dir);
    // Flush the copy now, so that its write-back does not overlap the drain.
    execFileSync('sync', ['-f', dir]);
  });

  let receiver: Child | undefined;
  let url: string | undefined;
  if (kind !== 'read+ack') {
    receiver = forkTs(SELF, ['--worker=receiver', `--sink=${sink}`, `--fail=${failRate}`, `--seed=${CONFIG.faults.seed}`], ROOT);
    url = (await receiver.message('ready', 60_000)).url as string;
  }
  const batch = kind === 'read+ack' ? CONFIG.readAck.batchRecords : CONFIG.delivery.batchMaxRecords[kind];
  const workers = CONFIG.delivery.workersPerHost;
  // Every thread writes a profile (tsx's loader thread too): they go to a scratch folder,
  // and the main thread's (the largest) is kept.
  const profDir = CPU_PROF ? await tmp.dir(`prof-${++profileCount}`) : undefined;
  const execArgv = ['--expose-gc', ...WALSHIP_NODE_FLAGS, ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), ...(profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`])];
  const drain = forkTs(
    SELF,
    [
      '--worker=drain',
      `--dir=${dir}`,
      `--kind=${kind}`,
      `--url=${url ?? ''}`,
      `--workers=${workers}`,
      `--batch=${batch}`,
      `--payload-bytes=${backlog.payloadBytes}`,
    ],
    ROOT,
    execArgv,
  );
  const sampler = new MemorySampler(drain.proc.pid as number, CONFIG.sampleMs);
  let report: DrainReport;
  let busy: number | undefined;
  let receiverReport: ReceiverReport | undefined;
  try {
    await drain.message('ready', 120_000);
    await receiver?.send({ type: 'mark' });
    const cpu0 = machineCpu();
    await drain.send({ type: 'go' });
    await drain.message('drained', CONFIG.drainTimeoutMs);
    busy = machineBusy(cpu0, machineCpu());
    if (receiver !== undefined) {
      await receiver.send({ type: 'stats' });
      receiverReport = (await receiver.message('stats', 60_000)) as unknown as ReceiverReport;
    }
    report = (await drain.message('done', 120_000)).report as DrainReport;
    await drain.succeeded();
  } finally {
    if (receiver !== undefined) {
      await receiver.send({ type: 'close' }).catch(() => undefined);
      await Promise.race([receiver.exited, sleep(10_000).then(() => receiver?.killHard())]);
    }
    if (drain.proc.exitCode === null) await drain.killHard();
  }
  const memory = sampler.stop();
  await removeDir(dir);
  let profile: string | undefined;
  if (profDir !== undefined) {
    profile = await keepLargestProfile(profDir, `delivery-${profileCount}-${label.replace(/[^a-z0-9]+/gi, '_')}-${backlog.label}.cpuprofile`);
  }
  const ms = report.drainMs;
  return {
    label,
    kind,
    sink: kind === 'read+ack' ? undefined : sink,
    backlog: backlog.label,
    round,
    workersPerHost: kind === 'read+ack' ? undefined : workers,
    batchRecords: batch,
    failRate,
    expectedRecords: backlog.records,
    expectedLogs: backlog.logs,
    copyMs: copy.ms,
    report,
    mbps: rate(report.payloadBytes / 1e6, ms),
    recordsPerSec: rate(report.records, ms),
    logsPerSec: rate((backlog.logs * report.records) / backlog.records, ms),
    walshipCores: report.cpuMs / ms,
    receiver: receiverReport === undefined ? undefined : { ...receiverReport, cores: receiverReport.cpuMs / receiverReport.wallMs },
    machineBusy: busy,
    memory,
    profile,
  };
}

/** Moves the largest profile in `dir` (the main thread's) to bench/results/`name`. */
async function keepLargestProfile(dir: string, name: string): Promise<string | undefined> {
  const files = await readdir(dir);
  let best: { file: string; size: number } | undefined;
  for (const file of files) {
    const size = (await stat(join(dir, file))).size;
    if (best === undefined || size > best.size) best = { file, size };
  }
  if (best === undefined) return undefined;
  const to = join(ROOT, 'bench/results', name);
  await copyFile(join(dir, best.file), to);
  await removeDir(dir);
  return to;
}

function drainRow(r: DrainRun): Cell[] {
  return [
    r.label,
    r.backlog,
    r.round,
    r.batchRecords,
    r.workersPerHost ?? '—',
    fixed(r.report.drainMs / 1000, 2),
    fixed(r.mbps, 1),
    int(r.recordsPerSec),
    int(r.logsPerSec),
    fixed(r.walshipCores, 2),
    fixed(r.report.mainThreadCpuMs / r.report.drainMs, 2),
    fixed(r.report.elu, 2),
    int((1000 * r.report.cpuMs) / r.report.records),
    r.receiver === undefined ? '—' : fixed(r.receiver.cores, 2),
    r.receiver === undefined ? '—' : fixed(r.receiver.elu, 2),
    r.machineBusy === undefined ? '—' : `${fixed(100 * r.machineBusy, 0)}%`,
    mb(r.memory.hwm, 0),
    fixed(r.report.closeMs, 0),
  ];
}

const DRAIN_HEADERS = [
  'drain',
  'backlog',
  'round',
  'batch',
  'workers',
  'drain s',
  'MB/s',
  'records/s',
  'logs/s',
  'walship cores',
  'main thread cores',
  'walship ELU',
  'walship CPU µs/record',
  'receiver cores',
  'receiver ELU',
  'machine busy',
  'peak RSS MB',
  'close ms',
];

// ── 1. Throughput ─────────────────────────────────────────────────────────────────────

interface ThroughputSummary {
  /** The drain's label: `read+ack`, `sls`, `ndjson`, `sls → null sink`, … */
  readonly label: string;
  readonly kind: DrainKind;
  readonly sink: Sink | undefined;
  readonly runs: number;
  readonly mbps: number;
  readonly recordsPerSec: number;
  readonly logsPerSec: number;
  /** median(MB/s) / median(read+ack MB/s). */
  readonly ratio: number;
  /** This drain / read+ack within each round it ran in. */
  readonly roundRatios: number[];
  readonly walshipCores: number;
  readonly mainThreadCores: number;
  readonly walshipElu: number;
  /** CPU of the walship process (every thread) per record, µs. */
  readonly walshipCpuUsPerRecord: number;
  /** CPU of its main thread per record, µs. */
  readonly mainThreadCpuUsPerRecord: number;
  readonly receiverCores: number | undefined;
  readonly receiverElu: number | undefined;
  /** Receiver (or null sink) CPU per request it received, µs. */
  readonly receiverCpuUsPerRequest: number | undefined;
  /**
   * The most this drain could do on this machine at the CPU it took: every core busy with
   * nothing but the walship process and the receiver, each record costing what it cost here
   * (walship CPU per record + receiver CPU per record), as a ratio to read+ack's MB/s. A
   * ceiling below 0.7 means the target cannot be met here without taking less CPU per record.
   */
  readonly cpuCeilingRatio: number;
  readonly peakRss: number;
}

interface ThroughputResults {
  readonly runs: DrainRun[];
  readonly summary: ThroughputSummary[];
}

interface DrainSpec {
  readonly kind: DrainKind;
  readonly sink: Sink;
}

/** `kind` or `kind@null` (into the null sink instead of the receiver). */
function parseDrains(list: string): DrainSpec[] {
  return list
    .split(',')
    .filter((d) => d !== '')
    .map((d) => {
      const [kind, sink] = d.split('@') as [DrainKind, Sink | undefined];
      if (!['read+ack', 'sls', 'sls-raw', 'ndjson'].includes(kind) || (sink !== undefined && sink !== 'null')) {
        throw new Error(`unknown drain ${JSON.stringify(d)}: expected read+ack, sls, sls-raw, ndjson, or one of them @null`);
      }
      return { kind, sink: sink ?? 'receiver' };
    });
}

/** Section 1's drains, every round. */
const THROUGHPUT_DRAINS = parseDrains(flag('drains') ?? 'read+ack,sls,sls-raw,ndjson');
/**
 * Diagnostics, first round only: the same deliveries into the null sink, to show what the
 * walship process can do when the receiver is not the limit. Not a target.
 */
const DIAGNOSTIC_DRAINS = parseDrains(flag('diagnostics') ?? 'sls@null,ndjson@null');

async function benchThroughput(tmp: TempRoot, big: Backlog): Promise<ThroughputResults> {
  const runs: DrainRun[] = [];
  for (let round = 1; round <= CONFIG.rounds; round++) {
    const drains = round === 1 ? [...THROUGHPUT_DRAINS, ...DIAGNOSTIC_DRAINS] : THROUGHPUT_DRAINS;
    for (const { kind, sink } of drains) {
      progress(`throughput round ${round}/${CONFIG.rounds}: ${kind}${sink === 'null' ? ' → null sink' : ''}, ${big.label}`);
      runs.push(await runDrain(tmp, big, kind, round, { sink }));
    }
  }
  return { runs, summary: summarizeThroughput(runs) };
}

function summarizeThroughput(runs: readonly DrainRun[]): ThroughputSummary[] {
  const labels = [...new Set(runs.map((r) => r.label))];
  const base = runs.filter((r) => r.kind === 'read+ack');
  const baseMbps = median(base.map((r) => r.mbps));
  return labels.map((label) => {
    const rs = runs.filter((r) => r.label === label);
    const first = rs[0] as DrainRun;
    const mbps = median(rs.map((r) => r.mbps));
    const roundRatios = rs.flatMap((r) => {
      const b = base.find((x) => x.round === r.round);
      return b === undefined ? [] : [r.mbps / b.mbps];
    });
    const withReceiver = rs.flatMap((r) => (r.receiver === undefined ? [] : [r.receiver]));
    return {
      label,
      kind: first.kind,
      sink: first.sink,
      runs: rs.length,
      mbps,
      recordsPerSec: median(rs.map((r) => r.recordsPerSec)),
      logsPerSec: median(rs.map((r) => r.logsPerSec)),
      ratio: mbps / baseMbps,
      roundRatios,
      walshipCores: median(rs.map((r) => r.walshipCores)),
      mainThreadCores: median(rs.map((r) => r.report.mainThreadCpuMs / r.report.drainMs)),
      walshipElu: median(rs.map((r) => r.report.elu)),
      walshipCpuUsPerRecord: median(rs.map((r) => (1000 * r.report.cpuMs) / r.report.records)),
      mainThreadCpuUsPerRecord: median(rs.map((r) => (1000 * r.report.mainThreadCpuMs) / r.report.records)),
      receiverCores: withReceiver.length > 0 ? median(withReceiver.map((x) => x.cores)) : undefined,
      receiverElu: withReceiver.length > 0 ? median(withReceiver.map((x) => x.elu)) : undefined,
      receiverCpuUsPerRequest:
        withReceiver.length > 0 ? median(withReceiver.map((x) => (1000 * x.cpuMs) / Math.max(1, x.stats.requests))) : undefined,
      cpuCeilingRatio: median(rs.map((r) => cpuCeilingMbps(r) / baseMbps)),
      peakRss: Math.max(...rs.map((r) => r.memory.hwm)),
    };
  });
}

/** MB/s of `r` if every core of the machine did nothing but this drain and its receiver. */
function cpuCeilingMbps(r: DrainRun): number {
  const cpuMsPerRecord = (r.report.cpuMs + (r.receiver?.cpuMs ?? 0)) / r.report.records;
  const ceilingRecordsPerSec = (1000 * cpus().length) / cpuMsPerRecord;
  return r.mbps * (ceilingRecordsPerSec / r.recordsPerSec);
}

function printThroughput(t: ThroughputResults, big: Backlog): void {
  printTable(
    `1. Drain of ${sizeLabel(CONFIG.backlogBytes)} (${int(big.records)} LogGroups of ~${fixed(big.payloadBytes / big.records / KiB, 1)} KiB, ${int(big.logs)} logs): every run`,
    DRAIN_HEADERS,
    t.runs.map(drainRow),
  );
  const main = t.summary.filter((s) => s.sink !== 'null');
  printTable(
    `1b. Drain throughput, median of ${CONFIG.rounds} round(s); ratio = delivery / read+ack MB/s, target ≥ 0.7 (round ratios: each run / the read+ack of its round)`,
    ['drain', 'runs', 'MB/s', 'records/s', 'logs/s', 'ratio', 'round ratios', 'peak RSS MB', 'meets 0.7'],
    main.map((s) => [
      s.label,
      s.runs,
      fixed(s.mbps, 1),
      int(s.recordsPerSec),
      int(s.logsPerSec),
      s.kind === 'read+ack' ? '1.00' : fixed(s.ratio, 2),
      s.kind === 'read+ack' ? '—' : s.roundRatios.map((x) => fixed(x, 2)).join(' '),
      mb(s.peakRss, 0),
      s.kind === 'read+ack' ? '—' : s.ratio >= 0.7 ? 'yes' : 'no',
    ]),
  );
  printTable(
    '1c. Where the time goes (medians): CPU per record in the walship process (all threads, and its main thread alone) and per request in the receiver; the null sink reads each body and answers 200 (diagnostic, no target); CPU ceiling ratio = the MB/s this drain would reach with every core busy at the CPU per record it took (walship + receiver), over read+ack\'s MB/s',
    [
      'drain',
      'MB/s',
      'ratio',
      'walship cores',
      'main thread cores',
      'walship ELU',
      'walship CPU µs/record',
      'main thread µs/record',
      'receiver cores',
      'receiver ELU',
      'receiver CPU µs/request',
      'CPU ceiling ratio',
    ],
    t.summary.map((s) => [
      s.label,
      fixed(s.mbps, 1),
      fixed(s.ratio, 2),
      fixed(s.walshipCores, 2),
      fixed(s.mainThreadCores, 2),
      fixed(s.walshipElu, 2),
      int(s.walshipCpuUsPerRecord),
      int(s.mainThreadCpuUsPerRecord),
      s.receiverCores === undefined ? '—' : fixed(s.receiverCores, 2),
      s.receiverElu === undefined ? '—' : fixed(s.receiverElu, 2),
      s.receiverCpuUsPerRequest === undefined ? '—' : int(s.receiverCpuUsPerRequest),
      fixed(s.cpuCeilingRatio, 2),
    ]),
  );
}

// ── 2. Memory ─────────────────────────────────────────────────────────────────────────

interface MemoryCase {
  readonly kind: DrainKind;
  readonly small: DrainRun;
  /** The big drains of this kind (section 1's, or run here). */
  readonly big: DrainRun[];
  /** Largest VmHWM of the big drains / VmHWM of the small one. */
  readonly ratio: number;
}

async function benchMemory(tmp: TempRoot, small: Backlog, big: Backlog, throughput: ThroughputResults | undefined): Promise<MemoryCase[]> {
  const cases: MemoryCase[] = [];
  for (const kind of ['sls', 'ndjson'] as const) {
    progress(`memory: ${kind}, ${small.label}`);
    const s = await runDrain(tmp, small, kind, 1);
    let bigRuns = throughput?.runs.filter((r) => r.kind === kind && r.sink === 'receiver') ?? [];
    if (bigRuns.length === 0) {
      progress(`memory: ${kind}, ${big.label}`);
      bigRuns = [await runDrain(tmp, big, kind, 1)];
    }
    cases.push({ kind, small: s, big: bigRuns, ratio: Math.max(...bigRuns.map((r) => r.memory.hwm)) / s.memory.hwm });
  }
  return cases;
}

function printMemory(cases: readonly MemoryCase[]): void {
  const rows: Cell[][] = [];
  for (const c of cases) {
    for (const r of [c.small, ...c.big]) {
      rows.push([
        c.kind,
        r.backlog,
        r.round,
        int(r.report.records),
        fixed(r.report.drainMs / 1000, 2),
        mb(r.memory.hwm, 1),
        mb(r.memory.peakRss, 1),
        mb(r.memory.peakRssAnon, 1),
        mb(r.memory.peakRssFile, 1),
        mb(r.report.heapPeak.heapUsed, 1),
        mb(r.report.heapPeak.external, 1),
        mb(r.report.retainedAfterDrain.heapUsed, 1),
        mb(r.report.retainedAfterDrain.arrayBuffers, 1),
        r.report.abortListeners === undefined ? '—' : int(r.report.abortListeners),
        r.memory.samples,
      ]);
    }
  }
  printTable(
    `2. Peak memory of the delivering process (sampled every ${CONFIG.sampleMs} ms from /proc/<pid>/status; VmHWM is the kernel's peak)`,
    [
      'drain',
      'backlog',
      'round',
      'records',
      'drain s',
      'VmHWM MB',
      'peak RSS MB',
      'peak RssAnon MB',
      'peak RssFile MB',
      'peak heapUsed MB',
      'peak external MB',
      'heap after drain+GC MB',
      'ArrayBuffers after drain+GC MB',
      'abort listeners left',
      'samples',
    ],
    rows,
  );
  printTable(
    '2b. Bounded memory (D4): peak RSS of the big drain / the small one (target ≤ 1.2)',
    ['drain', 'small', 'small VmHWM MB', 'big', 'big VmHWM MB (max)', 'ratio', 'RssAnon ratio'],
    cases.map((c) => {
      const bigHwm = Math.max(...c.big.map((r) => r.memory.hwm));
      const bigAnon = Math.max(...c.big.map((r) => r.memory.peakRssAnon));
      return [
        c.kind,
        c.small.backlog,
        mb(c.small.memory.hwm, 1),
        c.big[0]?.backlog,
        mb(bigHwm, 1),
        fixed(c.ratio, 2),
        fixed(bigAnon / c.small.memory.peakRssAnon, 2),
      ];
    }),
  );
}

// ── 3. Faults ─────────────────────────────────────────────────────────────────────────

interface FaultResult {
  readonly run: DrainRun;
  readonly lostLogs: number;
  readonly lostRecords: number;
  /** The clean drain of the same kind in section 1 (median MB/s), if it ran. */
  readonly cleanMbps: number | undefined;
}

async function benchFaults(tmp: TempRoot, big: Backlog, throughput: ThroughputResults | undefined): Promise<FaultResult> {
  const { kind, failRate } = CONFIG.faults;
  progress(`faults: ${kind}, ${big.label}, ${failRate * 100}% ${CONFIG.faults.failStatus}`);
  const run = await runDrain(tmp, big, kind, 1, { failRate, label: `${kind} + ${failRate * 100}% 503` });
  const stored = run.receiver?.stats.logs ?? 0;
  const accepted = run.receiver?.stats.acceptedRequests ?? 0;
  const clean = throughput?.summary.find((s) => s.kind === kind && s.sink === 'receiver')?.mbps;
  return { run, lostLogs: big.logs - stored, lostRecords: big.records - accepted, cleanMbps: clean };
}

function printFaults(f: FaultResult): void {
  const r = f.run;
  const rs = r.receiver?.stats;
  const d = r.report.delivery;
  printTable(
    `3. Drain of ${r.backlog} (sls) with the receiver failing ${r.failRate * 100}% of requests with ${CONFIG.faults.failStatus} (seed ${CONFIG.faults.seed})`,
    DRAIN_HEADERS,
    [drainRow(r)],
  );
  printTable(
    '3b. Delivery under faults: nothing lost',
    [
      'records appended',
      'logs appended',
      'unique logs stored',
      'lost logs',
      'accepted requests',
      'duplicate requests',
      'receiver requests',
      `${CONFIG.faults.failStatus}s answered`,
      'mode reschedules (est.)',
      'manager attempts',
      'manager retries',
      'dead-lettered',
      'WAL pending after',
      'MB/s',
      'vs clean sls',
    ],
    [
      [
        int(r.expectedRecords),
        int(r.expectedLogs),
        int(rs?.logs),
        int(f.lostLogs),
        int(rs?.acceptedRequests),
        int(rs?.duplicateRequests),
        int(rs?.requests),
        int(rs?.faults.fail),
        d === undefined || rs === undefined ? '—' : int(rs.requests - d.attempts),
        int(d?.attempts),
        int(d?.retries),
        int(d?.deadLettered),
        int(r.report.pendingAfter),
        fixed(r.mbps, 1),
        f.cleanMbps === undefined ? '—' : fixed(r.mbps / f.cleanMbps, 2),
      ],
    ],
  );
  if (d !== undefined && Object.keys(d.failures).length > 0) {
    console.log(`   manager retry reasons: ${Object.entries(d.failures).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
}

// ── Targets ───────────────────────────────────────────────────────────────────────────

function evaluateTargets(
  throughput: ThroughputResults | undefined,
  memory: readonly MemoryCase[] | undefined,
  faults: FaultResult | undefined,
): Target[] {
  const out: Target[] = [];
  if (throughput !== undefined) {
    const base = throughput.summary.find((s) => s.kind === 'read+ack');
    for (const kind of ['sls', 'ndjson'] as const) {
      const s = throughput.summary.find((x) => x.kind === kind && x.sink === 'receiver');
      out.push(
        target(
          `${sizeLabel(CONFIG.backlogBytes)} drain, ${kind} (batch ${CONFIG.delivery.batchMaxRecords[kind]}) / read+ack`,
          s?.ratio,
          '>=',
          0.7,
          '×',
          s && base ? `${fixed(s.mbps)} vs ${fixed(base.mbps)} MB/s; rounds ${s.roundRatios.map((x) => fixed(x, 2)).join(' ')}` : '',
        ),
      );
    }
  }
  if (memory !== undefined) {
    for (const c of memory) {
      out.push(
        target(
          `peak RSS ${c.big[0]?.backlog} / ${c.small.backlog} drain, ${c.kind}`,
          c.ratio,
          '<=',
          1.2,
          '×',
          `${mb(Math.max(...c.big.map((r) => r.memory.hwm)), 0)} vs ${mb(c.small.memory.hwm, 0)} MB VmHWM`,
        ),
      );
    }
  }
  if (faults !== undefined) {
    const r = faults.run;
    out.push(
      target(
        `lost logs, ${r.backlog} sls drain with ${r.failRate * 100}% 503`,
        faults.lostLogs,
        '==',
        0,
        'logs',
        `${int(r.receiver?.stats.logs)} of ${int(r.expectedLogs)} stored; ${fixed(r.mbps)} MB/s; ${int(r.receiver?.stats.faults.fail)} 503s, ${int(r.report.delivery?.retries)} manager retries`,
      ),
    );
  }
  return out;
}

// ── Main ──────────────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  const { tmp, machine, startedAt } = startBenchSession({
    name: 'delivery',
    tmpPrefix: 'walship-bench-delivery-',
    quick: QUICK,
    root: ROOT,
  });
  console.log(
    `delivery: LoadBalancerMode over ${CONFIG.delivery.workersPerHost} HttpClients on one loopback receiver (own process); ` +
      `sls batch ${CONFIG.delivery.batchMaxRecords.sls} (lz4), ndjson batch ${CONFIG.delivery.batchMaxRecords.ndjson}; other options default`,
  );

  const sections = new Sections(() => writeResults(OUT, snapshot(false)));
  let pool: { groups: number; meanBytes: number; meanLogs: number; ms: number } | undefined;
  const backlogs: Backlog[] = [];
  let throughput: ThroughputResults | undefined;
  let memory: MemoryCase[] | undefined;
  let faults: FaultResult | undefined;
  const strip = (b: Backlog) => ({ ...b, dir: undefined });
  const snapshot = (finished: boolean) => ({
    bench: 'delivery',
    date: startedAt.toISOString(),
    finished: finished ? new Date().toISOString() : undefined,
    quick: QUICK,
    sections: ONLY,
    node: process.version,
    machine,
    loadavgAtEnd: finished ? machineInfo(ROOT).loadavg : undefined,
    config: CONFIG,
    sectionSeconds: sections.seconds,
    pool,
    backlogs: backlogs.map(strip),
    throughput,
    memory,
    faults,
    targets: evaluateTargets(throughput, memory, faults),
    srcStatus: srcStatus(ROOT),
    parentWarnings: { count: WARNINGS.count(), first: WARNINGS.warnings.slice(0, 5) },
    errors: sections.errors,
  });

  let big: Backlog | undefined;
  let small: Backlog | undefined;
  await sections.run('build', async () => {
    progress(`generating ${CONFIG.groups.pool} distinct LogGroups`);
    const made = await timed(async () => makeGroupPool(CONFIG.groups.pool, CONFIG.groups.targetBytes, CONFIG.groups.seed));
    const groups = made.value;
    pool = {
      groups: groups.payloads.length,
      meanBytes: groups.payloads.reduce((a, p) => a + p.length, 0) / groups.payloads.length,
      meanLogs: groups.logCounts.reduce((a, n) => a + n, 0) / groups.logCounts.length,
      ms: made.ms,
    };
    progress(`building the ${sizeLabel(CONFIG.backlogBytes)} backlog`);
    big = await buildBacklog(tmp, groups, CONFIG.backlogBytes, sizeLabel(CONFIG.backlogBytes));
    backlogs.push(big);
    if (ONLY.includes('memory')) {
      progress(`building the ${sizeLabel(CONFIG.smallBacklogBytes)} backlog`);
      small = await buildBacklog(tmp, groups, CONFIG.smallBacklogBytes, sizeLabel(CONFIG.smallBacklogBytes));
      backlogs.push(small);
    }
    printTable(
      `Backlogs (pool of ${pool.groups} distinct LogGroups, mean ${int(pool.meanBytes)} B and ${fixed(pool.meanLogs, 1)} logs each, generated in ${fixed(pool.ms / 1000, 1)} s; built with sync never)`,
      ['backlog', 'records', 'logs', 'payload MB', 'logical MB', 'on disk MB', 'disk / logical', 'build s', 'build MB/s'],
      backlogs.map((b) => [
        b.label,
        int(b.records),
        int(b.logs),
        mb(b.payloadBytes, 1),
        mb(b.logicalBytes, 1),
        mb(b.diskBytes, 1),
        fixed(b.diskBytes / b.logicalBytes, 2),
        fixed(b.buildMs / 1000, 2),
        fixed(b.buildMbps, 1),
      ]),
    );
  });
  if (big === undefined) {
    console.error('no backlog: nothing to drain');
    return 1;
  }
  const bigBacklog = big;
  if (ONLY.includes('throughput')) {
    await sections.run('throughput', async () => {
      throughput = await benchThroughput(tmp, bigBacklog);
      printThroughput(throughput, bigBacklog);
    });
  }
  if (ONLY.includes('memory') && small !== undefined) {
    const smallBacklog = small;
    await sections.run('memory', async () => {
      memory = await benchMemory(tmp, smallBacklog, bigBacklog, throughput);
      printMemory(memory);
    });
  }
  if (ONLY.includes('faults')) {
    await sections.run('faults', async () => {
      faults = await benchFaults(tmp, bigBacklog, throughput);
      printFaults(faults);
    });
  }

  const result = snapshot(true);
  printTargets(result.targets);
  const childWarnings = [
    ...(throughput?.runs ?? []),
    ...(memory?.flatMap((c) => [c.small]) ?? []),
    ...(faults === undefined ? [] : [faults.run]),
  ].reduce((a, r) => a + r.report.warnings, 0);
  if (childWarnings + WARNINGS.count() > 0) {
    console.log(`\nwalship logged ${childWarnings + WARNINGS.count()} line(s) at warn or above (first lines in the JSON)`);
  }
  console.log(`\nsections (s): ${Object.entries(sections.seconds).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
  console.log(`results: ${await writeResults(OUT, result)}`);
  return sections.errors.length > 0 ? 1 : 0;
}

const worker = flag('worker');
if (worker === 'drain') await workerDrain();
else if (worker === 'receiver') await workerReceiver();
else if (worker !== undefined) throw new Error(`unknown --worker=${worker}`);
else process.exitCode = await main();
