/**
 * `runCrashtest()`: the kill loop (./kill-loop.ts) and the scenarios asked for
 * (./scenarios.ts), each in its own sub-directory of the working directory, and one report.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalshipError, ErrorCodes } from '../errors.ts';
import { type KillLoopReport, runKillLoop } from './kill-loop.ts';
import { runScenario, SCENARIOS, type ScenarioName, type ScenarioReport } from './scenarios.ts';

/** @defaultValue for {@link CrashtestOptions.records} */
export const DEFAULT_CRASHTEST_RECORDS = 20_000;
/** @defaultValue for {@link CrashtestOptions.kills} */
export const DEFAULT_CRASHTEST_KILLS = 20;
/** @defaultValue for {@link CrashtestOptions.failRate} */
export const DEFAULT_CRASHTEST_FAIL_RATE = 0.1;
/** @defaultValue for {@link CrashtestOptions.timeoutMs} */
export const DEFAULT_CRASHTEST_TIMEOUT_MS = 120_000;

export interface CrashtestOptions {
  /** Input lines (sequence numbers 1 … records). @defaultValue {@link DEFAULT_CRASHTEST_RECORDS} */
  readonly records?: number;
  /** SIGKILLs of `walship run` in the kill loop. @defaultValue {@link DEFAULT_CRASHTEST_KILLS} */
  readonly kills?: number;
  /** Share of requests the receiver answers 503 (a quarter of that again resets). @defaultValue {@link DEFAULT_CRASHTEST_FAIL_RATE} */
  readonly failRate?: number;
  /** Seed of every random choice. @defaultValue a random seed (reported, to replay the run) */
  readonly seed?: number;
  /** Scenarios to run after the kill loop. @defaultValue none */
  readonly scenarios?: readonly ScenarioName[];
  /** Where to work. @defaultValue a new temporary directory, removed when everything passed */
  readonly dir?: string;
  /** How long the last life (and each scenario's delivery) may take (ms). @defaultValue {@link DEFAULT_CRASHTEST_TIMEOUT_MS} */
  readonly timeoutMs?: number;
  /** How to start `walship` (argv before the subcommand). @defaultValue this process's node, flags and script */
  readonly command?: readonly string[];
  /** Progress lines (one per life, one per scenario step). @defaultValue none */
  readonly onProgress?: (line: string) => void;
}

export interface CrashtestReport extends Omit<KillLoopReport, 'passed' | 'durationMs'> {
  readonly seed: number;
  readonly failRate: number;
  readonly scenarios: readonly ScenarioReport[];
  readonly durationMs: number;
  readonly dir: string;
  /** Kill loop lost nothing and its WAL is consistent, and no scenario failed (skipped ones do not count). */
  readonly passed: boolean;
}

export interface ResolvedCrashtestOptions {
  readonly records: number;
  readonly kills: number;
  readonly failRate: number;
  readonly seed: number;
  readonly scenarios: readonly ScenarioName[];
  readonly timeoutMs: number;
}

function invalid(message: string): WalshipError {
  return new WalshipError(ErrorCodes.INVALID_OPTIONS, message);
}

/** Defaults merged and every option checked ("Expected `x` to be …, got …"). */
export function resolveCrashtestOptions(o: CrashtestOptions): ResolvedCrashtestOptions {
  const records = o.records ?? DEFAULT_CRASHTEST_RECORDS;
  const kills = o.kills ?? DEFAULT_CRASHTEST_KILLS;
  const failRate = o.failRate ?? DEFAULT_CRASHTEST_FAIL_RATE;
  const seed = o.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const timeoutMs = o.timeoutMs ?? DEFAULT_CRASHTEST_TIMEOUT_MS;
  const scenarios = o.scenarios ?? [];
  if (!Number.isSafeInteger(records) || records < 1 || records > 9_999_999_999) throw invalid(`Expected \`records\` to be an integer from 1 to 9999999999, got ${records}`);
  if (!Number.isSafeInteger(kills) || kills < 0) throw invalid(`Expected \`kills\` to be a non-negative integer, got ${kills}`);
  if (!(failRate >= 0 && failRate < 1)) throw invalid(`Expected \`failRate\` to be a number from 0 to below 1, got ${failRate}`);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw invalid(`Expected \`seed\` to be an integer from 0 to 4294967295, got ${seed}`);
  if (!(timeoutMs > 0)) throw invalid(`Expected \`timeoutMs\` to be a positive number, got ${timeoutMs}`);
  for (const s of scenarios) if (!SCENARIOS.includes(s)) throw invalid(`Expected \`scenarios\` to hold only ${SCENARIOS.join(', ')}, got ${JSON.stringify(s)}`);
  return { records, kills, failRate, seed, scenarios, timeoutMs };
}

function defaultCommand(): string[] {
  const script = process.argv[1];
  if (script === undefined) throw invalid('Expected `command` to be given when the process has no script, got none');
  return [process.execPath, ...process.execArgv, script];
}

export async function runCrashtest(options: CrashtestOptions = {}): Promise<CrashtestReport> {
  const r = resolveCrashtestOptions(options);
  const command = options.command ?? defaultCommand();
  const progress = options.onProgress ?? (() => undefined);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'walship-crashtest-'));
  mkdirSync(dir, { recursive: true });
  const started = performance.now();

  progress(`kill loop: ${r.records} lines, ${r.kills} kills, fail rate ${r.failRate}, seed ${r.seed}, in ${dir}`);
  const loop = await runKillLoop({ dir: join(dir, 'kills'), command, records: r.records, kills: r.kills, failRate: r.failRate, seed: r.seed, timeoutMs: r.timeoutMs, onProgress: progress });
  const scenarios: ScenarioReport[] = [];
  for (const name of r.scenarios) {
    progress(`scenario ${name}`);
    scenarios.push(await runScenario(name, { dir: join(dir, name), command, records: r.records, seed: r.seed, timeoutMs: r.timeoutMs, onProgress: (l) => progress(`  ${name}: ${l}`) }));
  }
  const { passed: loopPassed, durationMs: _loopMs, ...loopReport } = loop;
  const passed = loopPassed && scenarios.every((s) => s.passed || s.skipped !== undefined);
  const report: CrashtestReport = {
    seed: r.seed,
    failRate: r.failRate,
    ...loopReport,
    scenarios,
    durationMs: Math.round(performance.now() - started),
    dir,
    passed,
  };
  if (passed && options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  return report;
}
