/**
 * One life of `walship run` as a child process: started with its JSON logs (stderr and
 * stdout) in a file, watched through those logs (which phase it reached, which coded errors it
 * logged), stopped with SIGTERM or killed with SIGKILL.
 *
 * Phases, from the log lines `walship run` writes (pino `msg`):
 * `booting` (nothing yet: node, modules, config) → `opening` ("flusher started": the WAL is open
 * and delivery started; the input restores its checkpoint) → `running` ("walship running":
 * reading, appending, delivering, compacting) → `stopping` ("stopping gracefully") →
 * `stopped` ("walship stopped").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { request } from 'node:http';
import { readAdminFile } from '../metrics/index.ts';

export const LIFE_PHASES = ['booting', 'opening', 'running', 'stopping', 'stopped'] as const;
export type LifePhase = (typeof LIFE_PHASES)[number];

const PHASE_OF_MSG: ReadonlyMap<string, LifePhase> = new Map([
  ['flusher started', 'opening'],
  ['walship running', 'running'],
  ['stopping gracefully (send the signal again to exit at once)', 'stopping'],
  ['walship stopped', 'stopped'],
]);

/** Polling interval of the log file and of exit conditions (ms). */
const POLL_MS = 5;

export interface LogLine {
  readonly msg?: string;
  readonly level?: number;
  readonly code?: string;
  readonly err?: unknown;
  readonly [key: string]: unknown;
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class RunChild {
  readonly child: ChildProcess;
  readonly spawnedAt = performance.now();
  readonly #spawnedEpoch = Date.now();
  readonly exited: Promise<ChildExit>;
  readonly logPath: string;
  #phase: LifePhase = 'booting';
  /** When each phase was first seen (ms since spawn, as far as polling tells). */
  readonly phaseAt: Partial<Record<LifePhase, number>> = {};
  readonly #lines: LogLine[] = [];
  #fd: number | undefined;
  #pos = 0;
  #partial = '';
  #exit: ChildExit | undefined;

  /** Starts `<command> [--log-level L] run --config <configPath>`, logging into `logPath`. */
  constructor(command: readonly string[], configPath: string, logPath: string, env: NodeJS.ProcessEnv = {}) {
    const [exe, ...args] = command as [string, ...string[]];
    this.logPath = logPath;
    const out = openSync(logPath, 'w');
    this.child = spawn(exe, [...args, 'run', '--config', configPath], { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
    closeSync(out);
    this.#fd = openSync(logPath, 'r');
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exit(): ChildExit | undefined {
    return this.#exit;
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** The furthest phase its log shows so far. */
  phase(): LifePhase {
    this.#read();
    return this.#phase;
  }

  /** Every log line so far (JSON lines parsed; others as `{ msg }`). */
  lines(): readonly LogLine[] {
    this.#read();
    return this.#lines;
  }

  /** The coded errors its log names (a `code` field or a `WALSHIP_…` word in a message). */
  codes(): Set<string> {
    const codes = new Set<string>();
    for (const l of this.lines()) {
      if (typeof l.code === 'string') codes.add(l.code);
      for (const m of JSON.stringify(l).matchAll(/WALSHIP_[A-Z_]+/g)) codes.add(m[0]);
    }
    return codes;
  }

  /** Resolves true once `phase` (or a later one) is reached, false if it exits or `timeoutMs` passes first. */
  async reached(phase: LifePhase, timeoutMs: number): Promise<boolean> {
    const want = LIFE_PHASES.indexOf(phase);
    return this.until(() => LIFE_PHASES.indexOf(this.phase()) >= want, timeoutMs);
  }

  /** Polls `condition` until it holds (true), the child exits or `timeoutMs` passes (false). */
  async until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (condition()) return true;
      if (!this.alive || performance.now() > deadline) return condition();
      await sleep(POLL_MS);
    }
  }

  /** SIGKILL (if still alive); resolves when it is gone. */
  async kill(): Promise<ChildExit> {
    if (this.alive) this.child.kill('SIGKILL');
    const exit = await this.exited;
    this.#read();
    this.#close();
    return exit;
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<ChildExit> {
    if (this.alive) this.child.kill('SIGTERM');
    await Promise.race([this.exited, sleep(timeoutMs)]);
    return this.kill();
  }

  #read(): void {
    if (this.#fd === undefined) return;
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = readSync(this.#fd, buf, 0, buf.length, this.#pos);
      if (n <= 0) break;
      this.#pos += n;
      const text = this.#partial + buf.toString('utf8', 0, n);
      const parts = text.split('\n');
      this.#partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim() !== '') this.#take(p);
    }
  }

  #take(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text };
    }
    this.#lines.push(line);
    const p = typeof line.msg === 'string' ? PHASE_OF_MSG.get(line.msg) : undefined;
    if (p !== undefined && LIFE_PHASES.indexOf(p) > LIFE_PHASES.indexOf(this.#phase)) {
      this.#phase = p;
      // pino's `time` (epoch ms) says when it was logged, whenever the harness reads it.
      this.phaseAt[p] ??= typeof line.time === 'number' ? line.time - this.#spawnedEpoch : performance.now() - this.spawnedAt;
    }
  }

  #close(): void {
    if (this.#fd === undefined) return;
    if (this.#partial.trim() !== '') this.#take(this.#partial);
    this.#partial = '';
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** What `walship run`'s admin endpoint says (`/status`), found through the admin file of `walRoot`. */
export async function runStatus(walRoot: string): Promise<RunStatusView | undefined> {
  const admin = await readAdminFile(walRoot);
  if (admin === undefined) return undefined;
  return new Promise((resolve) => {
    const req = request(`${admin.url}/status`, { timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as RunStatusView);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** The parts of `/status` the harness reads. */
export interface RunStatusView {
  readonly pid: number;
  readonly state: string;
  readonly flushers: ReadonlyArray<{
    readonly name: string;
    readonly wal?: { readonly pendingRecords: number; readonly heldBytes: number; readonly maxBytes: number; readonly overQuota: boolean; readonly state: string; readonly quarantineRecords: number; readonly failure?: { code: string } | null };
  }>;
  readonly inputs: ReadonlyArray<{ readonly bytesRead: number; readonly logs: number; readonly paused: boolean; readonly pauses: number }>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
