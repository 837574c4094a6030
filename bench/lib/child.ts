/**
 * Child processes for benchmarks that need a fresh process or a real `kill -9`: the parent
 * forks a TypeScript file (through tsx) with an IPC channel, waits for typed messages, and
 * kills it with SIGKILL when it wants a crash. The child side reports with `sendToParent`.
 */
import { type ChildProcess, fork } from 'node:child_process';

export interface ChildMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();

/** A forked child and the messages it sent, in order. */
export class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private readonly inbox: ChildMessage[] = [];
  private waiter: (() => void) | undefined;
  private exit: ChildExit | undefined;

  constructor(proc: ChildProcess) {
    this.proc = proc;
    live.add(proc);
    proc.on('message', (m) => {
      this.inbox.push(m as ChildMessage);
      this.waiter?.();
    });
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        this.exit = { code, signal };
        this.waiter?.();
        resolve(this.exit);
      });
    });
  }

  /**
   * The next message of this type (earlier messages of other types are dropped). Rejects if
   * the child exits first, or after `timeoutMs`.
   */
  async message(type: string, timeoutMs = 300_000): Promise<ChildMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.inbox.findIndex((m) => m.type === type);
      if (at >= 0) return this.inbox.splice(0, at + 1)[at] as ChildMessage;
      if (this.exit !== undefined) {
        throw new Error(`child exited (code ${this.exit.code}, signal ${this.exit.signal}) before sending '${type}'`);
      }
      if (Date.now() > deadline) throw new Error(`no '${type}' message from the child within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 1);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Sends a message to the child (it reads it with `process.on('message')`). */
  send(message: ChildMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.proc.send(message, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Sends SIGKILL (a crash: no exit handlers, no close) and waits for the exit. */
  async killHard(): Promise<ChildExit> {
    if (this.exit === undefined) this.proc.kill('SIGKILL');
    return this.exited;
  }

  /** Waits for a normal exit and fails unless the code is 0. */
  async succeeded(): Promise<void> {
    const { code, signal } = await this.exited;
    if (code !== 0) throw new Error(`child failed (code ${code}, signal ${signal})`);
  }
}

/**
 * Forks `script` (a .ts file, run through tsx) with `args`; its stdout and stderr are ours.
 * `execArgv` adds Node flags (e.g. `--cpu-prof`).
 */
export function forkTs(script: string, args: readonly string[], cwd: string, execArgv: readonly string[] = []): Child {
  return new Child(
    fork(script, [...args], {
      cwd,
      execArgv: ['--import', 'tsx', ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
}

/** Kills every child still running (an exit handler for the parent). */
export function killAllChildren(): void {
  for (const proc of live) proc.kill('SIGKILL');
}

/** Child side: sends a message to the parent and resolves once it is handed to the channel. */
export function sendToParent(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) {
      reject(new Error('not started with an IPC channel (run it through the benchmark)'));
      return;
    }
    process.send(message, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

/** Child side: the next message of this type from the parent. */
export function waitForMessage(type: string): Promise<ChildMessage> {
  return new Promise((resolve) => {
    const on = (m: ChildMessage) => {
      if (m.type !== type) return;
      process.off('message', on);
      resolve(m);
    };
    process.on('message', on);
  });
}
