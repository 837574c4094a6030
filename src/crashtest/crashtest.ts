/**
 * `walship crashtest`: proves, on the user's own machine, that `walship run` loses nothing
 * when it is killed.
 *
 * 1. Writes an input file of `records` lines, each ending `seq=NNNNNNNNNN` (1 … records).
 * 2. Starts a {@link SeqReceiver} in this process (faults: `failRate` 503s, resets, latency)
 *    and a config: input_file (read from the head) → aggregator_default → WAL (`sync:
 *    'always'`) → flusher_http (ndjson) to the receiver.
 * 3. Runs `walship run --config …` as a child process and SIGKILLs it `kills` times at random
 *    moments (a seeded PRNG picks how long each life lasts, from a few milliseconds, while it
 *    opens and reads input, to a second or more, while it delivers; some lives end with a
 *    SIGTERM followed by a SIGKILL during the graceful stop), restarting it each time. Every
 *    few kills the receiver restarts too.
 * 4. Lets the last life run until every sequence number has arrived (or `timeoutMs`), stops
 *    it with SIGTERM and reports: lost (must be 0), duplicates before and after the
 *    receiver's deduplication, the worst restart-to-first-delivery time, and the seed.
 *
 * The child's stderr is kept in `<dir>/run-<n>.log`; on failure the report names the dir.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../receiver/prng.ts';
import { SeqReceiver } from './seq-receiver.ts';

export interface CrashtestOptions {
  /** Input lines. @defaultValue 20000 */
  readonly records?: number;
  /** SIGKILLs of `walship run`. @defaultValue 20 */
  readonly kills?: number;
  /** Share of requests the receiver answers 503. @defaultValue 0.1 */
  readonly failRate?: number;
  /** @defaultValue a random seed (printed, to replay the run) */
  readonly seed?: number;
  /** Where to work. @defaultValue a new temporary directory, removed when the run passes */
  readonly dir?: string;
  /** How long the last life may take to deliver everything. @defaultValue 120000 */
  readonly timeoutMs?: number;
  /** How to start `walship` (argv before `run`). @defaultValue this process's node, flags and script */
  readonly command?: readonly string[];
  /** Progress lines (one per life). @defaultValue none */
  readonly onProgress?: (line: string) => void;
}

export interface CrashtestReport {
  readonly seed: number;
  readonly records: number;
  readonly kills: number;
  readonly receiverRestarts: number;
  readonly lost: number;
  /** The first few lost sequence numbers. */
  readonly lostSample: readonly number[];
  readonly duplicatesBeforeDedup: number;
  readonly duplicatesAfterDedup: number;
  readonly worstRestartToFirstDeliveryMs: number | undefined;
  readonly requests: number;
  readonly failedRequests: number;
  readonly resets: number;
  readonly durationMs: number;
  readonly dir: string;
  readonly passed: boolean;
}

const LINE_BYTES = 200;

/** Writes `records` lines of LINE_BYTES bytes (newline included), each ending `seq=<10 digits>`. */
export function writeSeqInput(path: string, records: number, from = 1): void {
  const fd = openSync(path, 'a');
  try {
    const chunk = 4096;
    for (let start = from; start < from + records; start += chunk) {
      const n = Math.min(chunk, from + records - start);
      const buf = Buffer.allocUnsafe(n * LINE_BYTES);
      for (let i = 0; i < n; i++) {
        const seq = start + i;
        const line = seqLine(seq);
        buf.write(line, i * LINE_BYTES, 'latin1');
      }
      writeSync(fd, buf);
    }
  } finally {
    closeSync(fd);
  }
}

/** One nginx-style access line of exactly LINE_BYTES bytes with its newline. */
export function seqLine(seq: number): string {
  const ip = `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`;
  const head = `${ip} - - [22/Nov/2026:10:00:00 +0000] "GET /api/v1/items/${seq % 9973} HTTP/1.1" 200 ${512 + (seq % 4096)} "-" "walship-crashtest/1.0" rt=0.${String(seq % 1000).padStart(3, '0')} `;
  const tail = `seq=${String(seq).padStart(10, '0')}\n`;
  return head.padEnd(LINE_BYTES - tail.length, '-') + tail;
}

/** The config `walship run` gets: the one a user would write for this pipeline. */
export function crashtestConfig(dir: string, input: string, receiverUrl: string): object {
  return {
    inputs: [{ Type: 'input_file', Path: input, ReadFromHead: true }],
    aggregators: [{ Type: 'aggregator_default' }],
    flushers: [{ Type: 'flusher_http', RemoteURL: `${receiverUrl}/ingest`, Encoding: 'ndjson', RetryMinDelayMs: '20ms', RetryMaxDelayMs: '500ms' }],
    wal: { Dir: join(dir, 'wal'), MaxBytes: '256MiB', Sync: 'always' },
  };
}

function defaultCommand(): string[] {
  const script = process.argv[1];
  if (script === undefined) throw new Error('cannot tell how walship was started: pass `command`');
  return [process.execPath, ...process.execArgv, script];
}

export async function runCrashtest(options: CrashtestOptions = {}): Promise<CrashtestReport> {
  const records = options.records ?? 20_000;
  const kills = options.kills ?? 20;
  const failRate = options.failRate ?? 0.1;
  const seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const progress = options.onProgress ?? (() => undefined);
  if (!Number.isSafeInteger(records) || records < 1) throw new TypeError(`Expected \`records\` to be a positive integer, got ${records}`);
  if (!Number.isSafeInteger(kills) || kills < 0) throw new TypeError(`Expected \`kills\` to be a non-negative integer, got ${kills}`);
  if (!(failRate >= 0 && failRate < 1)) throw new TypeError(`Expected \`failRate\` to be in [0, 1), got ${failRate}`);

  const random = mulberry32(seed);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'walship-crashtest-'));
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'input.log');
  writeSeqInput(input, records);
  const receiver = await SeqReceiver.start({ expected: records, failRate, resetRate: failRate / 4, latencyMs: 0, seed });
  const configPath = join(dir, 'walship.json');
  writeFileSync(configPath, `${JSON.stringify(crashtestConfig(dir, input, receiver.url), null, 2)}\n`);
  const command = options.command ?? defaultCommand();
  const started = performance.now();

  let life = 0;
  let receiverRestarts = 0;
  let worst: number | undefined;
  try {
    for (let k = 0; k <= kills; k++) {
      const last = k === kills;
      const child = launch(command, configPath, join(dir, `run-${++life}.log`));
      const spawnedAt = performance.now();
      const requestsBefore = receiver.stats().acceptedRequests + receiver.stats().duplicateRequests;
      const firstDelivery = watchFirstDelivery(receiver, requestsBefore);
      if (last) {
        await waitUntil(() => receiver.stats().unique >= records || child.exitCode !== null, timeoutMs);
        await stopGracefully(child, 15_000);
      } else {
        // Lives from ~5 ms (opening, reading input) to ~1.5 s (delivering); one in four ends
        // with a SIGTERM and a SIGKILL during the graceful stop.
        const lifeMs = 5 + Math.floor(random() ** 2 * 1500);
        await Promise.race([sleep(lifeMs), exited(child)]);
        if (random() < 0.25 && child.exitCode === null) {
          child.kill('SIGTERM');
          await Promise.race([sleep(Math.floor(random() * 50)), exited(child)]);
        }
        await kill(child);
        if (random() < 0.2) {
          await receiver.restart();
          receiverRestarts++;
        }
      }
      const first = await firstDelivery.settle();
      if (first !== undefined) worst = Math.max(worst ?? 0, first - spawnedAt);
      const s = receiver.stats();
      progress(`life ${life}: ${last ? 'stopped' : 'killed'}; received ${s.unique}/${records}, requests ${s.requests}`);
    }
  } finally {
    await receiver.close();
  }

  const s = receiver.stats();
  const lostSample = receiver.missing(10);
  const lost = records - s.unique;
  const report: CrashtestReport = {
    seed,
    records,
    kills,
    receiverRestarts,
    lost,
    lostSample,
    duplicatesBeforeDedup: s.duplicatesBeforeDedup,
    duplicatesAfterDedup: s.duplicatesAfterDedup,
    worstRestartToFirstDeliveryMs: worst,
    requests: s.requests,
    failedRequests: s.failed,
    resets: s.resets,
    durationMs: performance.now() - started,
    dir,
    passed: lost === 0,
  };
  if (report.passed && options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  return report;
}

function launch(command: readonly string[], configPath: string, logPath: string): ChildProcess {
  const [exe, ...args] = command as [string, ...string[]];
  const log = openSync(logPath, 'w');
  const child = spawn(exe, [...args, 'run', '--config', configPath], {
    stdio: ['ignore', log, log],
    env: { ...process.env, WALSHIP_LOG_LEVEL: process.env.WALSHIP_LOG_LEVEL ?? 'info' },
  });
  closeSync(log);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited(child);
}

async function stopGracefully(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await Promise.race([exited(child), sleep(timeoutMs)]);
  await kill(child);
}

/** Resolves with the time the receiver got its first request after `before` requests. */
function watchFirstDelivery(receiver: SeqReceiver, before: number): { settle(): Promise<number | undefined> } {
  let at: number | undefined;
  let done = false;
  const poll = async (): Promise<void> => {
    while (!done && at === undefined) {
      const s = receiver.stats();
      if (s.acceptedRequests + s.duplicateRequests > before) at = performance.now();
      else await sleep(2);
    }
  };
  const polling = poll();
  return {
    async settle() {
      done = true;
      await polling;
      return at;
    },
  };
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline) await sleep(20);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
