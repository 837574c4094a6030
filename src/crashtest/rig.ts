/**
 * A rig: one working directory with an input file of sequence lines, a {@link SeqReceiver},
 * and the config `walship run` gets — the one a user would write for this pipeline. The kill
 * loop and every scenario build one; each scenario gets its own, so that their counts never
 * mix.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunChild } from './run-child.ts';
import { writeSeqInput } from './seq-input.ts';
import { SeqReceiver, type SeqReceiverOptions } from './seq-receiver.ts';

/** The flusher's name: its WAL is `<walRoot>/http`. */
export const FLUSHER_NAME = 'http';
/** Logs per LogGroup (one WAL record) at most: bounds what one damaged record can take. */
export const LOGS_PER_GROUP = 64;

export interface RigConfigOptions {
  /** @defaultValue "256MiB" */
  readonly maxBytes?: string;
  /** @defaultValue "1MiB" (so lives compact now and then) */
  readonly compactAfterBytes?: string;
  /** @defaultValue "0" (the harness's own disk is not what is tested) */
  readonly freeSpaceFloor?: string;
  /** @defaultValue "debug" (compactions are logged at debug) */
  readonly logLevel?: string;
  /** @defaultValue "3s" */
  readonly stopTimeout?: string;
}

/** The config `walship run` gets: input_file → aggregator_default → WAL → flusher_http (ndjson). */
export function crashtestConfig(input: string, walRoot: string, receiverUrl: string, o: RigConfigOptions = {}): Record<string, unknown> {
  return {
    log_level: o.logLevel ?? 'debug',
    global: { ConfigName: 'crashtest', StopTimeoutMs: o.stopTimeout ?? '3s' },
    inputs: [{ Type: 'input_file', Path: input, ReadFromHead: true, PollMs: '50ms', ReadChunkBytes: '64KiB' }],
    aggregators: [{ Type: 'aggregator_default', MaxLogsPerGroup: LOGS_PER_GROUP }],
    flushers: [
      {
        Type: 'flusher_http',
        Name: FLUSHER_NAME,
        RemoteURL: `${receiverUrl}/ingest`,
        Encoding: 'ndjson',
        RetryMinDelayMs: '20ms',
        RetryMaxDelayMs: '300ms',
        WaitRetryMs: '50ms',
        MaxWaitRetryMs: '300ms',
        TimeoutMs: '5s',
      },
    ],
    wal: {
      Dir: walRoot,
      MaxBytes: o.maxBytes ?? '256MiB',
      Sync: 'always',
      CompactAfterBytes: o.compactAfterBytes ?? '1MiB',
      FreeSpaceFloor: o.freeSpaceFloor ?? '0',
    },
  };
}

export interface RigOptions extends RigConfigOptions {
  readonly dir: string;
  /** How to start `walship` (argv before the subcommand). */
  readonly command: readonly string[];
  /** Sequence numbers the receiver expects (1 … records). */
  readonly records: number;
  readonly receiver?: Omit<SeqReceiverOptions, 'expected'>;
  /** Where the WAL root goes. @defaultValue `<dir>/wal` */
  readonly walRoot?: string;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class Rig {
  readonly dir: string;
  readonly input: string;
  readonly walRoot: string;
  readonly walDir: string;
  readonly configPath: string;
  readonly receiver: SeqReceiver;
  readonly records: number;
  readonly #command: readonly string[];
  #written = 0;
  #lives = 0;

  private constructor(o: RigOptions, receiver: SeqReceiver) {
    this.dir = o.dir;
    this.records = o.records;
    this.input = join(o.dir, 'input.log');
    this.walRoot = o.walRoot ?? join(o.dir, 'wal');
    this.walDir = join(this.walRoot, FLUSHER_NAME);
    this.configPath = join(o.dir, 'walship.json');
    this.receiver = receiver;
    this.#command = o.command;
    writeFileSync(this.configPath, `${JSON.stringify(crashtestConfig(this.input, this.walRoot, receiver.url, o), null, 2)}\n`);
    writeFileSync(this.input, '');
  }

  static async create(o: RigOptions): Promise<Rig> {
    mkdirSync(o.dir, { recursive: true });
    const receiver = await SeqReceiver.start({ ...o.receiver, expected: o.records });
    return new Rig(o, receiver);
  }

  /** Lines written to the input so far. */
  get written(): number {
    return this.#written;
  }

  /** Appends lines until `upTo` (at most `records`) are in the input file. */
  writeUpTo(upTo: number): void {
    const target = Math.min(upTo, this.records);
    if (target <= this.#written) return;
    writeSeqInput(this.input, target - this.#written, this.#written + 1);
    this.#written = target;
  }

  /** Starts a new life of `walship run`; its log goes to `<dir>/run-<n>.log`. */
  launch(label = 'run'): RunChild {
    return new RunChild(this.#command, this.configPath, join(this.dir, `${label}-${++this.#lives}.log`));
  }

  /** Runs another `walship` subcommand to its end (e.g. `wal repair <walRoot>`). */
  walship(args: readonly string[], timeoutMs = 60_000): Promise<CommandResult> {
    const [exe, ...pre] = this.#command as [string, ...string[]];
    const child = spawn(exe, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) => {
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  close(): Promise<void> {
    return this.receiver.close();
  }
}
