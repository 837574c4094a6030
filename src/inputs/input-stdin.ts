/**
 * `input_stdin`: one log per line of standard input (or one per multiline record).
 *
 * Reading pauses while an append is in progress and while the WAL is over its quota; the
 * lines that arrived meanwhile go into the next append, so appends batch themselves under
 * load. At the end of the input (or on `stop`) the last line is shipped even without its
 * newline, and `done` resolves once it is durable. Standard input cannot be re-read: what
 * the process read but had not yet made durable when it was killed is lost (documented).
 */
import { DEFAULT_WHEN_FULL_POLL_MS } from '../config/defaults.ts';
import { ErrorCodes, isWalshipError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { GroupBuilder, lineLog } from './group-builder.ts';
import { LineSplitter } from './line-splitter.ts';
import {
  type Input,
  type InputContext,
  type InputStats,
  resolveStdinInputOptions,
  STDIN_STOP_APPEND_DEADLINE_MS,
  type StdinInputConfig,
} from './options.ts';

/** A retryable append failure (disk full, I/O, quota with whenFull 'reject') waits this long. */
const RETRY_DELAY_MS = 500;

export class StdinInput implements Input {
  readonly type = 'input_stdin' as const;
  readonly done: Promise<void>;
  readonly #ctx: InputContext;
  readonly #logger: Logger;
  readonly #contentKey: string;
  readonly #multilineFlushMs: number;
  readonly #splitter: LineSplitter;
  readonly #builder: GroupBuilder;
  readonly #stream: NodeJS.ReadableStream;
  #chunks: Buffer[] = [];
  #ended = false;
  #stopping = false;
  #started = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #resolveDone!: () => void;
  #lastDataAt = Date.now();
  #counters = { logs: 0, bytesRead: 0, appends: 0, pauses: 0, logsLost: 0 };
  /** Set by stop: an append the WAL keeps refusing is given up after it (not waited for forever). */
  #stopDeadline: number | undefined;
  #paused = false;

  constructor(config: StdinInputConfig, ctx: InputContext) {
    const o = resolveStdinInputOptions(config);
    this.#ctx = ctx;
    this.#logger = ctx.logger.child({ component: 'input_stdin' });
    this.#contentKey = o.contentKey;
    this.#multilineFlushMs = o.multilineFlushMs;
    this.#splitter = new LineSplitter({ maxLineBytes: o.maxLineBytes, startPattern: o.startPattern });
    this.#builder = new GroupBuilder(o.groups, ctx.configName);
    this.#stream = ctx.stdin ?? process.stdin;
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const s = this.#stream;
    s.on('data', this.#onData);
    s.once('end', this.#onEnd);
    s.once('error', this.#onError);
    this.#loop = this.#run().catch((err: unknown) => {
      this.#logger.error({ err }, 'input_stdin stopped on an error');
    });
    void this.#loop.finally(() => this.#resolveDone());
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      this.#stopDeadline = Date.now() + STDIN_STOP_APPEND_DEADLINE_MS;
      this.#wake?.();
      await this.#loop;
      this.#detach();
      this.#resolveDone();
    })();
    return this.#stopped;
  }

  stats(): InputStats {
    return { type: this.type, ...this.#counters, linesCut: this.#splitter.stats().cut, paused: this.#paused };
  }

  readonly #onData = (chunk: Buffer | string): void => {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#chunks.push(b);
    this.#counters.bytesRead += b.length;
    this.#lastDataAt = Date.now();
    // Read no further until this is durable: the loop resumes the stream.
    this.#stream.pause();
    this.#wake?.();
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wake?.();
  };

  readonly #onError = (err: unknown): void => {
    this.#logger.error({ err }, 'standard input failed; treating it as ended');
    this.#ended = true;
    this.#wake?.();
  };

  #detach(): void {
    this.#stream.off('data', this.#onData);
    this.#stream.off('end', this.#onEnd);
    this.#stream.off('error', this.#onError);
    this.#stream.pause();
  }

  async #run(): Promise<void> {
    for (;;) {
      const chunks = this.#chunks;
      this.#chunks = [];
      for (const c of chunks) this.#splitter.push(c);
      const finishing = this.#ended || this.#stopping;
      if (finishing) this.#splitter.end();
      else if (this.#splitter.hasPending && Date.now() - this.#lastDataAt >= this.#multilineFlushMs) this.#splitter.flushPending();
      const { records } = this.#splitter.take();
      if (records.length > 0) {
        const now = Date.now();
        for (const r of records) this.#builder.add(lineLog(this.#contentKey, r.text, now));
        const groups = this.#builder.build();
        if (!(await this.#append(groups, records.length))) return;
      }
      if (finishing && this.#chunks.length === 0) return;
      if (this.#chunks.length > 0) continue;
      // Backpressure: the stream stays paused while the WAL is over its quota.
      if (!this.#ctx.flusher.isReady()) {
        if (!this.#paused) this.#counters.pauses++;
        this.#paused = true;
        await this.#sleep(DEFAULT_WHEN_FULL_POLL_MS);
        continue;
      }
      this.#paused = false;
      this.#stream.resume();
      await this.#sleep(this.#splitter.hasPending ? this.#multilineFlushMs : 0);
    }
  }

  async #append(groups: ReturnType<GroupBuilder['build']>, logs: number): Promise<boolean> {
    const { project, logstore, configName } = this.#ctx;
    const batch = groups.map((logGroup) => ({ project, logstore, configName, logGroup }));
    for (;;) {
      try {
        await this.#ctx.flusher.appendDurable(batch);
        this.#counters.logs += logs;
        this.#counters.appends++;
        return true;
      } catch (err) {
        if (isWalshipError(err, ErrorCodes.CLOSED) || isWalshipError(err, ErrorCodes.NOT_OPEN) || !isRetryable(err)) {
          this.#counters.logsLost += logs;
          this.#logger.error({ err, logs }, 'input_stdin could not make lines durable; they are lost');
          return false;
        }
        // Stopping (SIGTERM) on a disk that stays full: give up after the deadline instead of
        // keeping the process from exiting until space comes back.
        if (this.#stopDeadline !== undefined && Date.now() >= this.#stopDeadline) {
          this.#counters.logsLost += logs;
          this.#logger.error(
            { err, logs, waitedMs: STDIN_STOP_APPEND_DEADLINE_MS },
            'input_stdin is stopping and the WAL still refuses these lines; they are lost',
          );
          return false;
        }
        this.#logger.warn({ err }, 'append failed; retrying');
        await this.#sleep(RETRY_DELAY_MS, true);
      }
    }
  }

  /** Waits `ms` (0: until woken) or until woken by data, the end, or stop. */
  #sleep(ms: number, ignoreStop = false): Promise<void> {
    if (!ignoreStop && (this.#stopping || this.#ended || this.#chunks.length > 0)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = ms > 0 ? setTimeout(done, ms) : undefined;
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = ignoreStop ? undefined : done;
    });
  }
}

export function isRetryable(err: unknown): boolean {
  return (
    isWalshipError(err, ErrorCodes.QUOTA_EXCEEDED) ||
    isWalshipError(err, ErrorCodes.DISK_FULL) ||
    isWalshipError(err, ErrorCodes.WAL_IO)
  );
}
