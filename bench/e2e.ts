/**
 * # End-to-end benchmark
 *
 * `npm run bench -- e2e [--quick] [--lines=N] [--rounds=N] [--only=clean,faults,backlog]
 *  [--pipelines=always,never,nowal] [--cpu-prof] [--tsx] [--no-build] [--out=FILE]`
 *
 * What a user runs, measured from the outside: `walship run --config FILE` with
 * input_file (read from the head) → aggregator_default → WAL → flusher_http (ndjson) to a
 * loopback receiver in its own process, which counts unique sequence numbers.
 *
 * ## Input
 *
 * 2 000 000 nginx-style lines of 200 bytes (400 MB), each ending `seq=NNNNNNNNNN`
 * (`writeSeqInput` of src/crashtest; 200 000 with `--quick`), written once; every run reads
 * the same file (each run has its own WAL directory, so each starts from the head).
 *
 * ## Pipelines (side by side, interleaved, in one run)
 *
 * - `always`: the WAL with `Sync: 'always'` (fsync before an append resolves; the default);
 * - `never`: the WAL with `Sync: 'never'` (LevelDB writes, no fsync);
 * - `nowal`: the baseline with the WAL bypassed: walship's own input_file (createInput) and
 *   HTTP sink (planSink + the connection mode + DeliveryManager), with an in-memory
 *   DeliverySource in place of the WAL (bench/lib/memory-source.ts), in its own child
 *   process like `walship run`. The cost of durability is `always / nowal`.
 *
 * Every pipeline uses the user's defaults (read chunk, group limits, delivery batch and
 * windows, retry delays, HTTP concurrency) except for the backlog run (below).
 *
 * ## Scenarios
 *
 * 1. **clean**: the receiver answers 200 to everything. `--rounds` rounds (1), interleaved.
 * 2. **faults**: the receiver answers 20% of requests 503 (seeded, `Retry-After: 0`).
 * 3. **backlog** (`always` only): the receiver is down (port closed) until the input has
 *    made half the lines durable (polled on walship's admin `/status`), then up; time to drain
 *    is from the receiver coming up to the last record received. Peak RSS is compared with
 *    the clean `always` run. This run sets `RetryMaxDelayMs: 1s` and `MaxWaitRetryMs: 1s`,
 *    so that the drain is not hidden behind a 30 s retry backoff (said in the table).
 *
 * ## What is measured
 *
 * - **rate**: records (lines) / s and MB / s (10^6 bytes of input lines) from the start of
 *   the input (the time of walship's `input_file started` log line; the baseline worker logs
 *   the same moment) to the moment the receiver got the last new sequence number (the
 *   receiver's clock: both are epoch milliseconds on the same machine). The rate from the
 *   process spawn (startup, WAL open included) is reported beside it.
 * - **CPU s** of the walship process: user + system of all its threads (LevelDB's and
 *   libuv's included) from `/proc/<pid>/stat`, read when the receiver has everything (before
 *   the SIGTERM); the main thread's apart. The receiver's CPU is reported apart.
 * - **peak RSS**: VmHWM of the walship process (the kernel's high-water mark), and RSS
 *   sampled from the outside every 50 ms (anonymous / file-backed split).
 * - **lost** = lines − unique sequence numbers received; **duplicates** before and after the
 *   receiver's deduplication by idempotency key.
 * - **stop s**: SIGTERM to exit (graceful stop: compaction on close), timed apart.
 *
 * The walship process runs the built JavaScript (`dist/cli/main.js`; the build is run first
 * when src/ is newer than dist/, unless `--no-build`), not tsx; the baseline worker runs
 * under tsx but imports the same built modules from dist/, so the hot code is the same.
 * `--tsx` runs walship from src/ through tsx instead. `--cpu-prof` writes each walship
 * process's CPU profile to `bench/results/e2e-<run>.cpuprofile` and prints its main thread's
 * self time by area of the code and by function (./lib/cpu-profile.ts).
 *
 * Writes `bench/results/e2e.json` (every measurement, machine info) and
 * `bench/results/e2e.svg` (records/s per configuration, hand-written SVG).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WALSHIP_NODE_FLAGS } from '../src/cli/node-flags.ts';
import { SeqReceiver, writeSeqInput } from '../src/crashtest/index.ts';
import { flag } from './lib/args.ts';
import { type ChildMessage, forkTs, sendToParent } from './lib/child.ts';
import { MemorySource } from './lib/memory-source.ts';
import { MemorySampler, type MemoryPeaks, procMemorySync, threadCpuByName, threadCpuMs } from './lib/proc.ts';
import { writeResults } from './lib/results.ts';
import { startBenchSession } from './lib/session.ts';
import { readCpuProfile, type SelfTime, summarizeCpuProfile } from './lib/cpu-profile.ts';
import { fixed, int, mb, printTable } from './lib/table.ts';
import { meets, printTargets, type TargetOp } from './lib/targets.ts';
import type { TempRoot } from './lib/temp.ts';
import { now, sleep } from './lib/timing.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..');
const DIST = join(ROOT, 'dist');

// ── Command line ──────────────────────────────────────────────────────────────────────

const QUICK = process.argv.includes('--quick');
const CPU_PROF = process.argv.includes('--cpu-prof');
const USE_TSX = process.argv.includes('--tsx');
const NO_BUILD = process.argv.includes('--no-build');
const SCENARIOS = ['clean', 'faults', 'backlog'] as const;
type Scenario = (typeof SCENARIOS)[number];
const PIPELINES = ['always', 'never', 'nowal'] as const;
type Pipeline = (typeof PIPELINES)[number];
const ONLY = (flag('only')?.split(',') ?? [...SCENARIOS]) as Scenario[];
const ONLY_PIPELINES = (flag('pipelines')?.split(',') ?? [...PIPELINES]) as Pipeline[];
const OUT = resolve(ROOT, flag('out') ?? 'bench/results/e2e.json');

const CONFIG = {
  quick: QUICK,
  lines: Number(flag('lines') ?? (QUICK ? 200_000 : 2_000_000)),
  lineBytes: 200,
  rounds: Number(flag('rounds') ?? 1),
  faults: { failRate: 0.2, failStatus: 503, seed: 11 },
  /** The baseline's in-memory queue bound (the WAL's quota stands in for it in walship). */
  nowalMaxBytes: 256 * 1024 * 1024,
  walMaxBytes: '2GiB',
  sampleMs: 50,
  /** A run that has not delivered everything by then counts as failed (lost > 0). */
  runTimeoutMs: 10 * 60_000,
  backlog: { downUntilShare: 0.5, retryMaxDelay: '1s', maxWaitRetry: '1s' },
} as const;

const TARGETS = {
  alwaysRecordsPerSec: 300_000,
  alwaysVsNowal: 0.75,
  alwaysCpuSecondsPer2M: 6,
  peakRssMB: 120,
  backlogRssRatio: 1.1,
  faultsRecordsPerSec: 150_000,
} as const;

function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}

// ── Worker: the receiver ──────────────────────────────────────────────────────────────

async function workerReceiver(): Promise<void> {
  const expected = Number(flag('expected'));
  const receiver = await SeqReceiver.start({
    expected,
    failRate: Number(flag('fail') ?? 0),
    failStatus: CONFIG.faults.failStatus,
    seed: Number(flag('seed') ?? 1),
    down: process.argv.includes('--down'),
  });
  // The port is known only once listening: a receiver that starts down listens once, closes.
  if (process.argv.includes('--down')) {
    await receiver.up();
    await receiver.down();
  }
  const epoch = (t: number | undefined) => (t === undefined ? undefined : performance.timeOrigin + t);
  const report = (type: string) => {
    const s = receiver.stats();
    const cpu = process.cpuUsage();
    return {
      type,
      stats: { ...s, firstAt: epoch(s.firstAt), lastAt: epoch(s.lastAt) },
      cpuMs: (cpu.user + cpu.system) / 1000,
      memory: procMemorySync('self'),
    };
  };
  // Tells the parent once every sequence number is in (checked every 5 ms: cheap).
  const watch = setInterval(() => {
    if (receiver.stats().unique >= expected) {
      clearInterval(watch);
      void sendToParent(report('done'));
    }
  }, 5);
  process.on('message', (m: ChildMessage) => {
    if (m.type === 'up') void receiver.up().then(() => sendToParent({ type: 'upped', at: Date.now() }));
    else if (m.type === 'stats') void sendToParent(report('stats'));
    else if (m.type === 'close') void receiver.close().then(() => process.exit(0));
  });
  await sendToParent({ type: 'ready', url: `http://127.0.0.1:${receiver.port}` });
}

// ── Worker: the no-WAL baseline ───────────────────────────────────────────────────────

/**
 * walship's input and HTTP sink with the WAL replaced by {@link MemorySource}: the same
 * built modules `walship run` uses (imported from dist/), wired as DurableFlusher wires them.
 */
async function workerNoWal(): Promise<void> {
  const configPath = flag('config') as string;
  const imp = (p: string) => import(pathToFileURL(join(DIST, p)).href);
  const [{ loadConfig }, inputs, delivery, registry, model, cliLogger] = await Promise.all([
    imp('config/index.js'),
    imp('inputs/index.js'),
    imp('delivery/index.js'),
    imp('sinks/registry.js'),
    imp('model/index.js'),
    imp('cli/cli-logger.js'),
    imp('sinks/builtin.js'),
  ]);
  const config = await loadConfig(configPath);
  const logger = cliLogger.createCliLogger(process.env.WALSHIP_LOG_LEVEL ?? 'info');
  const fc = config.flushers[0];
  const plan = registry.planSink(fc.sink, logger);
  const modeName = fc.mode ?? plan.defaultMode;
  const modeOptions = { ...fc.modeOptions, logger };
  const mode =
    modeName === 'single'
      ? new delivery.SingleConnectionMode(plan.clients[0], modeOptions)
      : modeName === 'failover'
        ? new delivery.FailOverConnectionMode(plan.clients, modeOptions)
        : new delivery.LoadBalancerMode(plan.clients, modeOptions);
  const source = new MemorySource(model.encodeLogGroup, CONFIG.nowalMaxBytes);
  const manager = new delivery.DeliveryManager({
    ...(plan.batchMaxRecords === undefined ? {} : { batchMaxRecords: plan.batchMaxRecords }),
    ...fc.delivery,
    source,
    mode,
    logger,
  });
  manager.start();
  const input = inputs.createInput(config.inputs[0], {
    flusher: source,
    project: config.project,
    logstore: config.logstore,
    configName: config.configName,
    logger: logger.child({ input: 'input_file' }),
  });
  await input.start(); // logs 'input_file started', the clock's start, like walship run
  process.once('SIGTERM', () => {
    void (async () => {
      await input.stop();
      await manager.stop(1000);
      source.close();
      process.exit(0);
    })();
  });
}

// ── Processes ─────────────────────────────────────────────────────────────────────────

/** CPU (ms, user + system, every thread) of a process, from /proc/<pid>/stat. */
function processCpuMs(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** The epoch ms of the first log line with this `msg` in a pino log file (undefined if none yet). */
function logTime(path: string, msg: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const v = JSON.parse(line) as { msg?: string; time?: number };
      if (v.msg === msg && typeof v.time === 'number') return v.time;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

function logLines(path: string, level: number): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => {
        try {
          return (JSON.parse(l) as { level?: number }).level! >= level;
        } catch {
          return l.trim() !== '';
        }
      });
  } catch {
    return [];
  }
}

// ── One run ───────────────────────────────────────────────────────────────────────────

interface ReceiverReport {
  readonly stats: ReturnType<SeqReceiver['stats']>;
  readonly cpuMs: number;
  readonly memory: ReturnType<typeof procMemorySync>;
}

interface RunResult {
  readonly label: string;
  readonly scenario: Scenario;
  readonly pipeline: Pipeline;
  readonly round: number;
  readonly lines: number;
  readonly inputBytes: number;
  readonly completed: boolean;
  /** Spawn → input started (WAL opened, files opened). */
  readonly startupMs: number | undefined;
  /** Input started → last new record at the receiver. */
  readonly runMs: number | undefined;
  readonly recordsPerSec: number | undefined;
  readonly mbPerSec: number | undefined;
  /** Spawn → last new record. */
  readonly fromSpawnRecordsPerSec: number | undefined;
  readonly cpuMs: number | undefined;
  readonly mainThreadCpuMs: number | undefined;
  /** CPU ms by thread name (see threadCpuByName). */
  readonly threadsCpuMs: Record<string, number>;
  readonly memory: MemoryPeaks;
  readonly stopMs: number;
  readonly exitCode: number | null;
  readonly receiver: ReceiverReport | undefined;
  readonly lost: number;
  readonly duplicatesBeforeDedup: number;
  readonly duplicatesAfterDedup: number;
  /** Backlog: receiver up → last new record; lines durable when it came up. */
  readonly backlog?: { readonly linesBeforeUp: number; readonly downMs: number; readonly drainMs: number | undefined };
  readonly warnings: number;
  readonly firstWarnings: string[];
  readonly cpuProfile?: string;
}

function walshipConfig(dir: string, input: string, url: string, pipeline: Pipeline, scenario: Scenario): object {
  const flusher: Record<string, unknown> = { Type: 'flusher_http', RemoteURL: `${url}/ingest`, Encoding: 'ndjson' };
  if (scenario === 'backlog') {
    flusher.RetryMaxDelayMs = CONFIG.backlog.retryMaxDelay;
    flusher.MaxWaitRetryMs = CONFIG.backlog.maxWaitRetry;
  }
  // BENCH_E2E_CONFIG (environment, JSON): fields merged into the config's parts, to try
  // settings side by side, e.g. {"flusher":{"InFlightBytes":"8MiB"},"wal":{"ReadAheadBytes":"4MiB"}}.
  const extra = JSON.parse(process.env.BENCH_E2E_CONFIG ?? '{}') as Partial<Record<'input' | 'flusher' | 'wal', object>>;
  return {
    inputs: [{ Type: 'input_file', Path: input, ReadFromHead: true, ...extra.input }],
    aggregators: [{ Type: 'aggregator_default' }],
    flushers: [{ ...flusher, ...extra.flusher }],
    wal: { Dir: join(dir, 'wal'), MaxBytes: CONFIG.walMaxBytes, Sync: pipeline === 'never' ? 'never' : 'always', ...extra.wal },
  };
}

async function adminLogs(walDir: string): Promise<number | undefined> {
  try {
    const admin = JSON.parse(await readFile(join(walDir, 'walship.admin.json'), 'utf8')) as { url: string };
    const status = (await (await fetch(`${admin.url}/status`)).json()) as { inputs?: Array<{ logs?: number }> };
    return status.inputs?.[0]?.logs;
  } catch {
    return undefined;
  }
}

async function runOne(tmp: TempRoot, input: string, scenario: Scenario, pipeline: Pipeline, round: number, n: number): Promise<RunResult> {
  const label = `${scenario}-${pipeline}-${round}`;
  const dir = await tmp.dir(label);
  const failRate = scenario === 'faults' ? CONFIG.faults.failRate : 0;
  const down = scenario === 'backlog';
  const receiver = forkTs(
    SELF,
    [`--worker=receiver`, `--expected=${CONFIG.lines}`, `--fail=${failRate}`, `--seed=${CONFIG.faults.seed + round}`, ...(down ? ['--down'] : [])],
    ROOT,
  );
  const { url } = (await receiver.message('ready')) as unknown as { url: string };
  const configPath = join(dir, 'walship.json');
  await writeFile(configPath, `${JSON.stringify(walshipConfig(dir, input, url, pipeline, scenario), null, 2)}\n`);
  const logPath = join(dir, 'walship.log');
  const log = openSync(logPath, 'w');
  const profDir = join(ROOT, 'bench/results');
  const profName = `e2e-${label}.cpuprofile`;
  // The flags of the `walship` command's launcher (as it ships), then BENCH_NODE_FLAGS
  // (environment, space-separated; later flags win), e.g. --trace-gc.
  const extraFlags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const nodeFlags = [...WALSHIP_NODE_FLAGS, ...extraFlags, ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${profName}`] : [])];
  const args =
    pipeline === 'nowal'
      ? [...nodeFlags, '--import', 'tsx', SELF, '--worker=nowal', `--config=${configPath}`]
      : USE_TSX
        ? [...nodeFlags, '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'run', '--config', configPath]
        : [...nodeFlags, join(DIST, 'cli/main.js'), 'run', '--config', configPath];
  const spawnedAt = performance.timeOrigin + performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', log, log],
    env: { ...process.env, WALSHIP_LOG_LEVEL: 'info' },
  });
  closeSync(log);
  const pid = child.pid as number;
  const sampler = new MemorySampler(pid, CONFIG.sampleMs);
  let backlog: RunResult['backlog'];
  let done: ReceiverReport | undefined;
  let cpuMs: number | undefined;
  let mainThreadCpuMs: number | undefined;
  let threadsCpuMs: Record<string, number> = {};
  let memory: MemoryPeaks;
  try {
    if (down) {
      // Down until the input has made half the lines durable, then up.
      const want = Math.floor(n * CONFIG.backlog.downUntilShare);
      let durable = 0;
      const deadline = now() + CONFIG.runTimeoutMs;
      while (now() < deadline && child.exitCode === null) {
        durable = (await adminLogs(join(dir, 'wal'))) ?? 0;
        if (durable >= want) break;
        await sleep(20);
      }
      await receiver.send({ type: 'up' });
      const upped = (await receiver.message('upped')) as unknown as { at: number };
      backlog = { linesBeforeUp: durable, downMs: upped.at - spawnedAt, drainMs: undefined };
    }
    const exitedEarly = exited(child).then(() => undefined);
    done = (await Promise.race([receiver.message('done', CONFIG.runTimeoutMs).catch(() => undefined), exitedEarly])) as ReceiverReport | undefined;
  } finally {
    // Read before the SIGTERM: the graceful stop is timed apart.
    cpuMs = processCpuMs(pid);
    mainThreadCpuMs = threadCpuMs(pid, pid);
    threadsCpuMs = threadCpuByName(pid);
    memory = sampler.stop();
  }
  const stopStart = now();
  child.kill('SIGTERM');
  await Promise.race([exited(child), sleep(30_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited(child);
  const stopMs = now() - stopStart;
  await receiver.send({ type: 'stats' });
  const final = (await receiver.message('stats')) as unknown as ReceiverReport;
  await receiver.send({ type: 'close' });
  await receiver.exited;

  const inputStart = logTime(logPath, 'input_file started');
  const last = final.stats.lastAt;
  const completed = done !== undefined && final.stats.unique >= n;
  const runMs = completed && inputStart !== undefined && last !== undefined ? last - inputStart : undefined;
  const fromSpawnMs = completed && last !== undefined ? last - spawnedAt : undefined;
  if (backlog !== undefined && completed && last !== undefined) {
    backlog = { ...backlog, drainMs: last - (spawnedAt + backlog.downMs) };
  }
  const warnings = logLines(logPath, 40);
  let cpuProfile: string | undefined;
  if (CPU_PROF && existsSync(join(profDir, profName))) cpuProfile = join('bench/results', profName);
  return {
    label,
    scenario,
    pipeline,
    round,
    lines: n,
    inputBytes: n * CONFIG.lineBytes,
    completed,
    startupMs: inputStart === undefined ? undefined : inputStart - spawnedAt,
    runMs,
    recordsPerSec: runMs === undefined ? undefined : n / (runMs / 1000),
    mbPerSec: runMs === undefined ? undefined : (n * CONFIG.lineBytes) / 1e6 / (runMs / 1000),
    fromSpawnRecordsPerSec: fromSpawnMs === undefined ? undefined : n / (fromSpawnMs / 1000),
    cpuMs,
    mainThreadCpuMs,
    threadsCpuMs,
    memory,
    stopMs,
    exitCode: child.exitCode,
    receiver: final,
    lost: n - final.stats.unique,
    duplicatesBeforeDedup: final.stats.duplicatesBeforeDedup,
    duplicatesAfterDedup: final.stats.duplicatesAfterDedup,
    ...(backlog === undefined ? {} : { backlog }),
    warnings: warnings.length,
    firstWarnings: warnings.slice(0, 5),
    ...(cpuProfile === undefined ? {} : { cpuProfile }),
  };
}

// ── Tables ────────────────────────────────────────────────────────────────────────────

const RUN_HEADERS = [
  'run',
  'records/s',
  'MB/s',
  'vs nowal',
  'from spawn rec/s',
  'startup s',
  'run s',
  'CPU s',
  'main thread CPU s',
  'CPU s / 2M lines',
  'VmHWM MB',
  'peak RssAnon MB',
  'peak RssFile MB',
  'receiver CPU s',
  'receiver MB',
  'requests',
  '503s',
  'lost',
  'dup before dedup',
  'dup after dedup',
  'stop s',
  'warn lines',
];

function median(values: number[]): number | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m] : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

function rateOf(runs: RunResult[], scenario: Scenario, pipeline: Pipeline): number | undefined {
  return median(runs.filter((r) => r.scenario === scenario && r.pipeline === pipeline).map((r) => r.recordsPerSec ?? Number.NaN));
}

function runRow(r: RunResult, runs: RunResult[]): (string | number | undefined)[] {
  const base = rateOf(runs, r.scenario === 'backlog' ? 'clean' : r.scenario, 'nowal');
  const s = r.receiver?.stats;
  return [
    `${r.scenario} ${r.pipeline}${CONFIG.rounds > 1 ? ` #${r.round}` : ''}`,
    int(r.recordsPerSec),
    fixed(r.mbPerSec, 1),
    r.pipeline === 'nowal' || base === undefined || r.recordsPerSec === undefined ? '—' : fixed(r.recordsPerSec / base, 2),
    int(r.fromSpawnRecordsPerSec),
    fixed((r.startupMs ?? Number.NaN) / 1000, 2),
    fixed((r.runMs ?? Number.NaN) / 1000, 2),
    fixed((r.cpuMs ?? Number.NaN) / 1000, 2),
    fixed((r.mainThreadCpuMs ?? Number.NaN) / 1000, 2),
    fixed(((r.cpuMs ?? Number.NaN) / 1000) * (2_000_000 / r.lines), 2),
    mb(r.memory.hwm, 0),
    mb(r.memory.peakRssAnon, 0),
    mb(r.memory.peakRssFile, 0),
    fixed((r.receiver?.cpuMs ?? Number.NaN) / 1000, 2),
    mb(r.receiver?.memory?.hwm, 0),
    int(s?.requests),
    int(s?.failed),
    int(r.lost),
    int(r.duplicatesBeforeDedup),
    int(r.duplicatesAfterDedup),
    fixed(r.stopMs / 1000, 2),
    r.warnings,
  ];
}

// ── Targets ───────────────────────────────────────────────────────────────────────────

/** As ./lib/targets.ts's, but the goal is named `goal` in e2e.json. */
interface Target {
  readonly name: string;
  readonly measured: number | undefined;
  readonly unit: string;
  readonly op: TargetOp;
  readonly goal: number;
  readonly pass: boolean | undefined;
  readonly context: string;
}

function target(name: string, measured: number | undefined, op: TargetOp, goal: number, unit: string, context = ''): Target {
  return { name, measured, unit, op, goal, pass: meets(measured, op, goal), context };
}

function evaluateTargets(runs: RunResult[]): Target[] {
  const out: Target[] = [];
  const of = (scenario: Scenario, pipeline: Pipeline) => runs.filter((r) => r.scenario === scenario && r.pipeline === pipeline);
  const always = of('clean', 'always');
  if (always.length > 0) {
    const rate = rateOf(runs, 'clean', 'always');
    out.push(target('sync always: records/s end to end', rate, '>=', TARGETS.alwaysRecordsPerSec, 'rec/s', `${fixed(median(always.map((r) => r.mbPerSec ?? Number.NaN)), 1)} MB/s`));
    const base = rateOf(runs, 'clean', 'nowal');
    out.push(
      target(
        'sync always / no-WAL baseline (records/s)',
        rate !== undefined && base !== undefined ? rate / base : undefined,
        '>=',
        TARGETS.alwaysVsNowal,
        '×',
        `${int(rate)} vs ${int(base)} rec/s; never: ${int(rateOf(runs, 'clean', 'never'))}`,
      ),
    );
    const cpu = median(always.map((r) => ((r.cpuMs ?? Number.NaN) / 1000) * (2_000_000 / r.lines)));
    out.push(target('sync always: CPU s per 2 000 000 lines (walship process)', cpu, '<=', TARGETS.alwaysCpuSecondsPer2M, 's', `main thread ${fixed(median(always.map((r) => (r.mainThreadCpuMs ?? Number.NaN) / 1000)), 2)} s`));
    const hwm = Math.max(...always.map((r) => r.memory.hwm));
    out.push(target('sync always: peak RSS (VmHWM)', hwm / 1e6, '<=', TARGETS.peakRssMB, 'MB', `RssAnon ${mb(Math.max(...always.map((r) => r.memory.peakRssAnon)), 0)} MB`));
    const backlog = of('backlog', 'always')[0];
    if (backlog !== undefined) {
      out.push(
        target(
          'backlog run peak RSS / clean run',
          backlog.memory.hwm / hwm,
          '<=',
          TARGETS.backlogRssRatio,
          '×',
          `${mb(backlog.memory.hwm, 0)} vs ${mb(hwm, 0)} MB; drain ${fixed((backlog.backlog?.drainMs ?? Number.NaN) / 1000, 2)} s for ${int(CONFIG.lines - (backlog.backlog?.linesBeforeUp ?? 0))}+ lines behind`,
        ),
      );
    }
  }
  const faults = of('faults', 'always');
  if (faults.length > 0) {
    out.push(target('sync always, 20% 503: records/s', rateOf(runs, 'faults', 'always'), '>=', TARGETS.faultsRecordsPerSec, 'rec/s', `${int(faults[0]?.receiver?.stats.failed)} 503s`));
  }
  const lossy = runs.filter((r) => r.pipeline !== 'nowal');
  if (lossy.length > 0) {
    out.push(target('lost, every WAL run (clean, 503, backlog)', lossy.reduce((a, r) => a + r.lost, 0), '==', 0, 'lines', `${lossy.length} runs`));
    out.push(target('duplicates after receiver dedup, every WAL run', lossy.reduce((a, r) => a + r.duplicatesAfterDedup, 0), '==', 0, 'lines', `before dedup: ${int(lossy.reduce((a, r) => a + r.duplicatesBeforeDedup, 0))}`));
  }
  return out;
}

// ── The chart ─────────────────────────────────────────────────────────────────────────

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A horizontal bar chart of records/s per configuration (median of the rounds), plain SVG. */
function chartSvg(runs: RunResult[], title: string): string {
  const bars: Array<{ label: string; value: number; color: string }> = [];
  const colors: Record<Pipeline, string> = { always: '#2f6fb0', never: '#6aa84f', nowal: '#999999' };
  for (const scenario of SCENARIOS) {
    for (const pipeline of PIPELINES) {
      const v = rateOf(runs, scenario, pipeline);
      if (v === undefined) continue;
      const name = { clean: 'clean', faults: '20% 503', backlog: 'backlog' }[scenario];
      const pipe = { always: "sync 'always'", never: "sync 'never'", nowal: 'no WAL (baseline)' }[pipeline];
      bars.push({ label: `${name}, ${pipe}`, value: v, color: colors[pipeline] });
    }
  }
  const left = 190;
  const width = 760;
  const barH = 22;
  const gap = 8;
  const top = 48;
  const plotW = width - left - 90;
  const max = Math.max(TARGETS.alwaysRecordsPerSec, ...bars.map((b) => b.value)) * 1.05;
  const height = top + bars.length * (barH + gap) + 40;
  const x = (v: number) => left + (v / max) * plotW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  parts.push(`<text x="${width / 2}" y="36" text-anchor="middle" fill="#555">records/s end to end (input start → last record at the receiver)</text>`);
  bars.forEach((b, i) => {
    const y = top + i * (barH + gap);
    parts.push(`<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${escapeXml(b.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(b.value) - left).toFixed(1)}" height="${barH}" fill="${b.color}"/>`);
    parts.push(`<text x="${(x(b.value) + 6).toFixed(1)}" y="${y + barH / 2 + 4}">${Math.round(b.value).toLocaleString('en-US')}</text>`);
  });
  const bottom = top + bars.length * (barH + gap);
  for (const [v, text, dash] of [
    [TARGETS.alwaysRecordsPerSec, `target ${TARGETS.alwaysRecordsPerSec.toLocaleString('en-US')} (sync always)`, '6 3'],
    [TARGETS.faultsRecordsPerSec, `target ${TARGETS.faultsRecordsPerSec.toLocaleString('en-US')} (503s)`, '2 3'],
  ] as const) {
    parts.push(`<line x1="${x(v).toFixed(1)}" y1="${top - 6}" x2="${x(v).toFixed(1)}" y2="${bottom}" stroke="#c00" stroke-dasharray="${dash}"/>`);
    parts.push(`<text x="${x(v).toFixed(1)}" y="${bottom + 14}" text-anchor="middle" fill="#c00" font-size="11">${escapeXml(text)}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${top - 6}" x2="${left}" y2="${bottom}" stroke="#333"/>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

// ── Main ──────────────────────────────────────────────────────────────────────────────

/** Builds dist/ when a file under src/ is newer than dist/cli/main.js. */
function ensureBuilt(): void {
  const marker = join(DIST, 'cli/main.js');
  const builtAt = existsSync(marker) ? statSync(marker).mtimeMs : 0;
  let newest = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(ROOT, 'src'));
  if (newest <= builtAt) return;
  progress('src/ is newer than dist/: npm run build');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

async function main(): Promise<number> {
  if (!USE_TSX && !NO_BUILD) ensureBuilt();
  const { tmp, machine, startedAt } = startBenchSession({
    name: 'end-to-end',
    tmpPrefix: 'walship-bench-e2e-',
    quick: QUICK,
    root: ROOT,
    brief: true,
  });
  console.log(
    `input_file → aggregator_default → WAL → flusher_http ndjson → SeqReceiver (own process); ${int(CONFIG.lines)} lines of ${CONFIG.lineBytes} B; ` +
      `walship from ${USE_TSX ? 'src/ through tsx' : 'dist/ (built JS)'}; defaults otherwise`,
  );
  const input = join(tmp.path, 'input.log');
  progress(`writing ${int(CONFIG.lines)} lines`);
  writeSeqInput(input, CONFIG.lines);

  const runs: RunResult[] = [];
  const snapshot = (finished: boolean) => ({
    bench: 'e2e',
    date: startedAt.toISOString(),
    finished: finished ? new Date().toISOString() : undefined,
    quick: QUICK,
    walship: USE_TSX ? 'src (tsx)' : 'dist (built JS)',
    machine,
    config: CONFIG,
    targets: evaluateTargets(runs),
    runs,
  });
  const order: Array<[Scenario, Pipeline, number]> = [];
  if (ONLY.includes('clean')) for (let r = 1; r <= CONFIG.rounds; r++) for (const p of ONLY_PIPELINES) order.push(['clean', p, r]);
  if (ONLY.includes('faults')) for (const p of ONLY_PIPELINES) order.push(['faults', p, 1]);
  if (ONLY.includes('backlog') && ONLY_PIPELINES.includes('always')) order.push(['backlog', 'always', 1]);
  for (const [scenario, pipeline, round] of order) {
    progress(`${scenario} ${pipeline} round ${round}`);
    const r = await runOne(tmp, input, scenario, pipeline, round, CONFIG.lines);
    runs.push(r);
    progress(
      `  ${int(r.recordsPerSec)} rec/s, CPU ${fixed((r.cpuMs ?? Number.NaN) / 1000, 2)} s, VmHWM ${mb(r.memory.hwm, 0)} MB, lost ${int(r.lost)}`,
    );
    await writeResults(OUT, snapshot(false));
  }

  printTable(
    `Runs (${int(CONFIG.lines)} lines, ${mb(CONFIG.lines * CONFIG.lineBytes, 0)} MB; records/s from input start to the last record received)`,
    RUN_HEADERS,
    runs.map((r) => runRow(r, runs)),
  );
  const threadNames = [...new Set(runs.flatMap((r) => Object.keys(r.threadsCpuMs)))].sort((a, b) =>
    a === 'main' ? -1 : b === 'main' ? 1 : a.localeCompare(b),
  );
  printTable(
    'Where the walship process spent its CPU: seconds by thread (main = the JavaScript thread; libuv-worker = fs and LevelDB calls; V8 DefaultWorke = GC and compiler helpers; node = unnamed threads such as LevelDB compaction)',
    ['run', ...threadNames, 'total'],
    runs.map((r) => [
      r.label,
      ...threadNames.map((t) => fixed((r.threadsCpuMs[t] ?? 0) / 1000, 2)),
      fixed((r.cpuMs ?? Number.NaN) / 1000, 2),
    ]),
  );
  for (const r of runs) {
    if (r.cpuProfile === undefined) continue;
    const summary = summarizeCpuProfile(readCpuProfile(join(ROOT, r.cpuProfile)));
    const busy = summary.sampledMs - summary.idleMs;
    const rows = (list: readonly SelfTime[]) => list.map((x) => [x.name, fixed(x.ms, 0), fixed(x.share * 100, 1)]);
    const title = `${r.label}: main thread self time by area (${r.cpuProfile}; ${fixed(busy, 0)} ms busy of ${fixed(summary.sampledMs, 0)} ms sampled)`;
    printTable(title, ['area', 'ms', '% of busy'], rows(summary.areas));
    printTable(`${r.label}: main thread self time by function`, ['function', 'ms', '% of busy'], rows(summary.functions));
  }
  const backlogRuns = runs.filter((r) => r.backlog !== undefined);
  if (backlogRuns.length > 0) {
    printTable(
      `Backlog: receiver down until ${CONFIG.backlog.downUntilShare * 100}% of the lines were durable, then up (RetryMaxDelayMs ${CONFIG.backlog.retryMaxDelay}, MaxWaitRetryMs ${CONFIG.backlog.maxWaitRetry})`,
      ['run', 'lines durable when up', 'down s', 'drain s (up → last)', 'drain rec/s (all lines / drain s)', 'VmHWM MB', 'clean VmHWM MB', 'ratio', 'lost', 'dup after dedup'],
      backlogRuns.map((r) => {
        const clean = runs.filter((c) => c.scenario === 'clean' && c.pipeline === r.pipeline);
        const cleanHwm = clean.length > 0 ? Math.max(...clean.map((c) => c.memory.hwm)) : Number.NaN;
        const drain = r.backlog?.drainMs;
        return [
          `backlog ${r.pipeline}`,
          int(r.backlog?.linesBeforeUp),
          fixed((r.backlog?.downMs ?? Number.NaN) / 1000, 2),
          fixed((drain ?? Number.NaN) / 1000, 2),
          int(drain === undefined ? undefined : r.lines / (drain / 1000)),
          mb(r.memory.hwm, 0),
          mb(cleanHwm, 0),
          fixed(r.memory.hwm / cleanHwm, 2),
          int(r.lost),
          int(r.duplicatesAfterDedup),
        ];
      }),
    );
  }
  const result = snapshot(true);
  printTargets(result.targets.map(({ goal, ...t }) => ({ ...t, target: goal })));
  console.log(`\nresults: ${await writeResults(OUT, result)}`);
  const svg = OUT.replace(/\.json$/, '.svg');
  await writeFile(svg, chartSvg(runs, `walship end to end: ${int(CONFIG.lines)} lines, ${machine.cpuCount} cores (${startedAt.toISOString().slice(0, 10)})`));
  console.log(`chart: ${svg}`);
  return runs.every((r) => r.completed) ? 0 : 1;
}

const worker = flag('worker');
if (worker === 'receiver') await workerReceiver();
else if (worker === 'nowal') await workerNoWal();
else if (worker !== undefined) throw new Error(`unknown --worker=${worker}`);
else process.exitCode = await main();
