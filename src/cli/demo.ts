/**
 * `walship demo` (= `npm start`): the sample logs in data/sample travel the same path as
 * `walship run`, with nothing to install. A JSON config (the one a user would write) is checked
 * by the config loader; then, as `walship run` does, a DurableFlusher per flusher (WAL +
 * delivery), one `input_file` per sample file reading into it, and a `flusher_http` sink
 * (NDJSON, or SLS protobuf with `--encoding sls`) posting to a flaky receiver on 127.0.0.1
 * (src/receiver: 20% 503s, 5% connection resets, 10–80 ms latency, deduplication by
 * idempotency key). A progress line shows acked/total logs, the rate, the retries and the
 * time; a summary table ends the run.
 *
 * ## Files (all under `walDir`, by default ./data/wal/demo)
 *
 * - `http/`: the flusher's WAL (LevelDB), which also holds the inputs' checkpoints;
 * - `received.ndjson` (+ `.keys`): what the receiver stored and the idempotency keys it
 *   stored them under, so a receiver restarted by a rerun keeps deduplicating;
 * - `demo-state.json`: `{"status": "running" | "complete", ...}`.
 *
 * ## Invariants
 *
 * - **M1** `lost` is computed, never assumed: the sample files' lines (by file and content,
 *   as a multiset) minus the logs the receiver stored in `received.ndjson` over all runs of
 *   this demo. Exit code 1 when it is not 0.
 * - **M2** The demo ends when every line of both files is durable in the WAL (the inputs'
 *   checkpoints in the WAL reach the files' sizes) and the WAL holds nothing pending; or when
 *   nothing moved for {@link DEMO_STALL_TIMEOUT_MS}, and then what is left is reported as
 *   pending (not hidden).
 * - **M3** A demo that did not finish (`kill -9`, Ctrl-C, a crash) leaves `status:
 *   "running"`; the next run resumes it: the WAL delivers what it still holds, the inputs go
 *   on from their checkpoints, and the receiver reloads what it stored. Only a finished demo
 *   (or none) makes the next run start afresh, and then only the files above are removed.
 * - **M4** Ctrl-C (or SIGTERM) stops at once but in order: the inputs stop (what they read is
 *   appended), then delivery stops without waiting (requests in flight are abandoned, their
 *   records stay in the WAL: a rerun sends them again and the receiver drops the duplicates).
 *   The summary counts what is still to deliver and says to run the demo again; exit code 130.
 *   A second Ctrl-C exits at once.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { WalshipConfig } from '../config/index.ts';
import { validateConfig } from '../config/index.ts';
import { DurableFlusher } from '../flusher/index.ts';
import { createInput, fileCheckpointKey, type Input, PATH_TAG_KEY } from '../inputs/index.ts';
import type { Logger } from '../logging/logger.ts';
import { type ReceivedLog, startReceiver } from '../receiver/index.ts';
import { createCliLogger } from './cli-logger.ts';
import { ProgressPrinter, type SummaryRow, summaryTable } from './demo-report.ts';
import { fanOut } from './run-command.ts';

/** The sample files shipped by the demo, in data/sample. */
export const DEMO_SAMPLE_FILES = ['nginx-access.txt', 'app.jsonl'] as const;
/** Share of requests the receiver answers 503. @defaultValue 0.2 */
export const DEMO_FAIL_RATE = 0.2;
/** Share of requests whose connection the receiver resets. @defaultValue 0.05 */
export const DEMO_RESET_RATE = 0.05;
/** The receiver's latency per request, ms. @defaultValue [10, 80] */
export const DEMO_LATENCY_MS: readonly [number, number] = [10, 80];
/** Logs per LogGroup: small, so the demo makes many requests (and meets many faults). @defaultValue 10 */
export const DEMO_LOGS_PER_GROUP = 10;
/** Bytes an input reads per round (one fsynced WAL append each). @defaultValue 16 KiB */
export const DEMO_READ_CHUNK_BYTES = 16 * 1024;
/** Nothing moved (read, acked, pending) for this long: the demo gives up and reports. @defaultValue 30000 */
export const DEMO_STALL_TIMEOUT_MS = 30_000;
/** How often the demo looks at its counters (ms). @defaultValue 50 */
export const DEMO_POLL_MS = 50;
/** The flusher's name, hence its WAL sub-directory. */
export const DEMO_FLUSHER_NAME = 'http';
const STATE_FILE = 'demo-state.json';
const RECEIVED_FILE = 'received.ndjson';

export interface DemoOptions {
  /** The directory of the sample files (data/sample of the package). */
  readonly dataDir: string;
  /** Where the demo keeps its WAL, the receiver's file and its state (see the top comment). */
  readonly walDir: string;
  /** Progress and summary go here; a TTY gets the redrawn progress line. */
  readonly out: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** The flusher_http encoding. @defaultValue 'ndjson' */
  readonly encoding?: 'ndjson' | 'sls';
  /** pino level of the pipeline's logs (stderr). @defaultValue 'error' */
  readonly logLevel?: string;
  /** Seed of the receiver's faults. @defaultValue a random one (printed) */
  readonly seed?: number;
  /** Handle Ctrl-C gracefully (M4). @defaultValue true */
  readonly handleSignals?: boolean;
}

export interface DemoSummary {
  /** This run resumed an interrupted one (M3). */
  readonly resumed: boolean;
  /** Ctrl-C stopped it (M4). */
  readonly interrupted: boolean;
  /** Logs in the sample files. */
  readonly logsTotal: number;
  /** Logs the inputs read and made durable in the WAL in this run. */
  readonly logsRead: number;
  /** WAL records (LogGroups) appended in this run. */
  readonly groupsAppended: number;
  /** Logs the receiver stored and answered 2xx for in this run (each once). */
  readonly logsAcked: number;
  /** Logs the receiver had stored in earlier runs of this demo. */
  readonly logsAckedBefore: number;
  /** WAL records acknowledged in this run. */
  readonly groupsAcked: number;
  /** Requests retried (after a 503, a reset, a timeout). */
  readonly retries: number;
  /** Logs the receiver answered 200 without storing them again (idempotency key seen). */
  readonly duplicatesDropped: number;
  /** Records moved to the dead-letter space in this run. */
  readonly deadLettered: number;
  /** Records still in the WAL at the end (only after a stall or Ctrl-C). */
  readonly pendingRecords: number;
  /**
   * Sample logs the receiver has not stored (M1): lost when the demo finished, still to
   * deliver (in the WAL or not read yet) when it was interrupted or stalled.
   */
  readonly lost: number;
  readonly seconds: number;
}

interface DemoState {
  readonly status: 'running' | 'complete';
  readonly startedAt: string;
  readonly runs: number;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const say = (s = ''): void => {
    options.out.write(`${s}\n`);
  };
  const started = performance.now();
  const walDir = options.walDir;
  const encoding = options.encoding ?? 'ndjson';
  const logger = createCliLogger(options.logLevel ?? process.env.WALSHIP_LOG_LEVEL ?? 'error');
  const shown = (p: string): string => (relative(process.cwd(), p).startsWith('..') ? p : `./${relative(process.cwd(), p)}`);

  // What must arrive (M1): every line of the sample files, by file and content.
  const files = DEMO_SAMPLE_FILES.map((name) => join(options.dataDir, name));
  const expected = new Map<string, number>();
  let logsTotal = 0;
  for (const file of files) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (line === '') continue;
      const key = contentKey(basename(file), line);
      expected.set(key, (expected.get(key) ?? 0) + 1);
      logsTotal++;
    }
  }

  // Fresh start or resume (M3).
  await mkdir(walDir, { recursive: true });
  const previous = await readState(walDir);
  const resumed = previous?.status === 'running';
  if (!resumed) {
    for (const name of [DEMO_FLUSHER_NAME, RECEIVED_FILE, `${RECEIVED_FILE}.keys`]) await rm(join(walDir, name), { recursive: true, force: true });
  }
  await writeState(walDir, { status: 'running', startedAt: resumed ? previous.startedAt : new Date().toISOString(), runs: (resumed ? previous.runs : 0) + 1 });
  const receivedFile = join(walDir, RECEIVED_FILE);

  const receiver = await startReceiver({
    failRate: DEMO_FAIL_RATE,
    resetRate: DEMO_RESET_RATE,
    latencyMs: DEMO_LATENCY_MS,
    out: receivedFile,
    keepLogs: false,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    logger,
  });
  // Read once the receiver has started: it cuts from the file what it had not committed.
  const storedBefore = resumed ? await readStored(receivedFile) : new Map<string, number>();
  const logsAckedBefore = uniqueCovered(expected, storedBefore);
  const config = demoConfig(walDir, files, `${receiver.url}/ingest`, encoding);
  const flusherConfig = config.flushers[0]!;
  const { name: _name, ...flusherOptions } = flusherConfig;
  const flusher = new DurableFlusher({ ...flusherOptions, logger: logger.child({ flusher: flusherConfig.name }) });
  const inputs: Input[] = [];
  const stopSignals = options.handleSignals === false ? undefined : installSignals();
  let interrupted = false;
  try {
    await flusher.init();
    const atStart = (await flusher.stats())!;
    say(`walship demo: ${DEMO_SAMPLE_FILES.length} sample files (${logsTotal} logs) → input_file → WAL ${shown(flusherConfig.dir)} (fsync always) → flusher_http ${encoding} → ${receiver.url}`);
    say(`  the receiver is flaky: ${DEMO_FAIL_RATE * 100}% 503s, ${DEMO_RESET_RATE * 100}% connection resets, ${DEMO_LATENCY_MS[0]}–${DEMO_LATENCY_MS[1]} ms latency (seed ${receiver.seed}); it deduplicates by idempotency key`);
    if (resumed) {
      say(
        `  resuming an interrupted demo (run ${previous.runs + 1}): ${atStart.wal.pendingRecords} records left in the WAL are delivered now, ` +
          `the inputs go on from their checkpoints, and the receiver already holds ${logsAckedBefore} logs from before`,
      );
    }

    const target = fanOut([flusher]);
    for (const ic of config.inputs) {
      const input = createInput(ic, { flusher: target, project: config.project, logstore: config.logstore, configName: config.configName, logger: logger.child({ input: ic.type }) });
      inputs.push(input);
      await input.start();
    }

    const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
    const printer = new ProgressPrinter(options.out, options.out.isTTY === true);
    const progress = (retries: number) => {
      const ackedThisRun = receiver.stats().logs;
      return { acked: Math.min(logsTotal, logsAckedBefore + ackedThisRun), total: logsTotal, ackedThisRun, retries, elapsedMs: performance.now() - started };
    };
    let lastChange = performance.now();
    let lastSeen = '';
    for (;;) {
      const s = (await flusher.stats())!;
      printer.update(progress(s.delivery.retries));
      const allRead = await inputsAtEnd(flusher, config, files, sizes);
      if (allRead && s.wal.pendingRecords === 0) break;
      if (stopSignals?.signal.aborted === true) {
        interrupted = true;
        break;
      }
      const seen = `${allRead}/${s.wal.nextSeq}/${s.wal.pendingRecords}/${receiver.stats().requests}`;
      if (seen !== lastSeen) {
        lastSeen = seen;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > DEMO_STALL_TIMEOUT_MS) {
        say();
        say(`  nothing moved for ${DEMO_STALL_TIMEOUT_MS / 1000}s: stopping; what is left stays in the WAL`);
        break;
      }
      await new Promise((r) => setTimeout(r, DEMO_POLL_MS));
    }
    const end = (await flusher.stats())!;
    printer.update(progress(end.delivery.retries), true);
    printer.done();

    // Stop as `walship run` does: inputs first (what they read is appended), then delivery.
    flusher.setUrgent(true);
    await Promise.allSettled(inputs.map((i) => i.stop()));
    const beforeStop = (await flusher.stats())!;
    await flusher.stop();
    // Requests the receiver was still working on are stored by close (R3): count after it.
    await receiver.close();
    const rs = receiver.stats();

    const stored = await readStored(receivedFile);
    const lost = missing(expected, stored);
    const logsRead = inputs.reduce((n, i) => n + i.stats().logs, 0);
    const summary: DemoSummary = {
      resumed,
      interrupted,
      logsTotal,
      logsRead,
      groupsAppended: beforeStop.wal.nextSeq - atStart.wal.nextSeq,
      logsAcked: rs.logs,
      logsAckedBefore,
      groupsAcked: beforeStop.delivery.deliveredRecords,
      retries: beforeStop.delivery.retries,
      duplicatesDropped: rs.duplicateLogs,
      deadLettered: beforeStop.delivery.deadLettered,
      pendingRecords: beforeStop.wal.pendingRecords,
      lost,
      seconds: (performance.now() - started) / 1000,
    };
    printSummary(say, summary, shown(walDir));
    if (lost === 0 && summary.pendingRecords === 0 && !interrupted) {
      await writeState(walDir, { status: 'complete', startedAt: previous?.startedAt ?? new Date().toISOString(), runs: (resumed ? previous.runs : 0) + 1 });
    }
    return summary;
  } finally {
    stopSignals?.remove();
    await Promise.allSettled(inputs.map((i) => i.stop()));
    await flusher.stop().catch(() => {});
    await receiver.close();
  }
}

/** The demo's pipeline as a `walship run` JSON config, checked by the same loader. */
export function demoConfig(walDir: string, files: readonly string[], url: string, encoding: 'ndjson' | 'sls'): WalshipConfig {
  return validateConfig({
    global: { ConfigName: 'demo', Project: 'demo', Logstore: 'demo' },
    inputs: files.map((Path) => ({ Type: 'input_file', Path, ReadFromHead: true, ReadChunkBytes: DEMO_READ_CHUNK_BYTES })),
    aggregators: [{ Type: 'aggregator_default', MaxLogsPerGroup: DEMO_LOGS_PER_GROUP }],
    flushers: [
      {
        Type: 'flusher_http',
        Name: DEMO_FLUSHER_NAME,
        RemoteURL: url,
        Encoding: encoding,
        Concurrency: 2,
        BatchMaxRecords: 1,
        InFlightBatches: 4,
        RetryMinDelayMs: 50,
        RetryMaxDelayMs: 500,
        WaitRetryMs: 50,
        MaxWaitRetryMs: 500,
        // The demo's loop waits for delivery itself (M2); stop only closes (M4).
        StopTimeoutMs: 0,
      },
    ],
    // The demo's WAL stays under 1 MiB: it must run on a nearly full disk too.
    wal: { Dir: walDir, Sync: 'always', FreeSpaceFloor: '8MiB' },
  });
}

/** True when every sample line is durable in the WAL: the checkpoints reach the file sizes (M2). */
async function inputsAtEnd(flusher: DurableFlusher, config: WalshipConfig, files: readonly string[], sizes: readonly number[]): Promise<boolean> {
  for (const [i, file] of files.entries()) {
    const raw = await flusher.getCheckpoint(fileCheckpointKey(config.configName, file));
    if (raw === undefined) return false;
    const entries = (JSON.parse(raw.toString('utf8')) as { files?: Array<{ path?: string; offset?: number }> }).files ?? [];
    if (!entries.some((e) => e.path === file && e.offset === sizes[i])) return false;
  }
  return true;
}

function contentKey(file: string, line: string): string {
  return `${file}\n${line}`;
}

/** The logs in the receiver's file, by file and content, counted. */
async function readStored(file: string): Promise<Map<string, number>> {
  const stored = new Map<string, number>();
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const line of text.split('\n')) {
    let log: ReceivedLog;
    try {
      log = JSON.parse(line) as ReceivedLog;
    } catch {
      continue; // '' after the last newline, or a line torn by a kill: its logs were not acked
    }
    const path = log.tags?.[PATH_TAG_KEY];
    const content = log.contents?.content;
    if (path === undefined || content === undefined) continue;
    const key = contentKey(basename(path), content);
    stored.set(key, (stored.get(key) ?? 0) + 1);
  }
  return stored;
}

/** How many expected logs `stored` does not cover (a multiset difference). */
function missing(expected: ReadonlyMap<string, number>, stored: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const [key, count] of expected) n += Math.max(0, count - (stored.get(key) ?? 0));
  return n;
}

function uniqueCovered(expected: ReadonlyMap<string, number>, stored: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const [key, count] of expected) n += Math.min(count, stored.get(key) ?? 0);
  return n;
}

async function readState(dir: string): Promise<DemoState | undefined> {
  try {
    const s = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as Partial<DemoState>;
    if (s.status !== 'running' && s.status !== 'complete') return undefined;
    return { status: s.status, startedAt: String(s.startedAt ?? ''), runs: Number.isSafeInteger(s.runs) ? (s.runs as number) : 1 };
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed, so a kill never leaves half a state. */
async function writeState(dir: string, state: DemoState): Promise<void> {
  const tmp = join(dir, `${STATE_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(state)}\n`);
  await rename(tmp, join(dir, STATE_FILE));
}

/** First SIGINT/SIGTERM: abort the demo's wait (graceful stop). Second: exit at once. */
function installSignals(): { signal: AbortSignal; remove(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    process.stderr.write(`\nwalship demo: ${signal}: stopping (again to exit at once; nothing accepted is lost either way)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    remove: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function printSummary(say: (s?: string) => void, s: DemoSummary, walDir: string): void {
  const rows: SummaryRow[] = [
    { name: 'read', value: s.logsRead, unit: 'logs', meaning: `read from data/sample and appended to the WAL (fsynced) in this run, of ${s.logsTotal}` },
    { name: 'appended', value: s.groupsAppended, unit: 'groups', meaning: `WAL records (LogGroups of up to ${DEMO_LOGS_PER_GROUP} logs)` },
    { name: 'acked', value: s.logsAcked, unit: 'logs', meaning: `stored by the receiver and answered 2xx, each counted once (${s.groupsAcked} groups)` },
  ];
  if (s.resumed) rows.push({ name: 'acked before', value: s.logsAckedBefore, unit: 'logs', meaning: 'stored by the receiver in the interrupted run(s)' });
  rows.push(
    { name: 'retried', value: s.retries, unit: 'requests', meaning: 'sent again after a 503, a reset or a timeout' },
    { name: 'duplicates', value: s.duplicatesDropped, unit: 'logs', meaning: 'dropped by the receiver: sent again under an idempotency key it had stored' },
    { name: 'dead-lettered', value: s.deadLettered, unit: 'groups', meaning: 'rejected for good (a 4xx); none expected here' },
  );
  const unfinished = s.interrupted || s.pendingRecords > 0;
  if (unfinished) {
    rows.push(
      { name: 'pending', value: s.pendingRecords, unit: 'groups', meaning: 'still in the WAL: the next run delivers them' },
      { name: 'not delivered', value: s.lost, unit: 'logs', meaning: 'in data/sample but not at the receiver yet (in the WAL, or not read yet)' },
    );
  } else {
    rows.push({ name: 'lost', value: s.lost, unit: 'logs', meaning: 'in data/sample but not at the receiver, checked line by line' });
  }
  say();
  say(summaryTable(rows));
  say();
  if (unfinished) {
    const why = s.interrupted ? 'Interrupted' : 'Stopped';
    say(`${why} after ${s.seconds.toFixed(1)}s: ${s.pendingRecords} records stay in the WAL in ${walDir}. Run the demo again (npm start): it resumes and delivers them.`);
  } else if (s.lost === 0) {
    say(`Every sample log reached the receiver, stored once, in ${s.seconds.toFixed(1)}s despite ${s.retries} retries.`);
    say('Interrupt a run (Ctrl-C, or kill -9) and start it again: it resumes where it stopped, and still loses nothing.');
  } else {
    say(`${s.lost} logs did not arrive: this is a bug, please report it. The WAL and the receiver's file are in ${walDir}; remove that directory to start afresh.`);
  }
}
