/**
 * The pino transport: `pino.transport({ target: 'walship/pino', options: { dir, sink } })`.
 * pino loads this module in its worker thread and calls the default export with `options`;
 * it writes the logger's JSON lines to the returned stream. See ./index.ts for what survives
 * a `kill -9` (P1–P4).
 */
import { Writable } from 'node:stream';
import { resolveAggregatorOptions } from '../aggregators/default-aggregator.ts';
import { ErrorCodes, isWalshipError } from '../errors.ts';
import { createFlusher, type DurableFlusher } from '../flusher/index.ts';
import { GroupBuilder } from '../inputs/group-builder.ts';
import { defaultLogger, type Logger } from '../logging/logger.ts';
import type { Log } from '../model/index.ts';
import { cutLog, pinoLineToLog } from './pino-log.ts';
import { type PinoTransportOptions, resolvePinoTransportOptions, type ResolvedPinoTransportOptions } from './pino-transport-options.ts';

export type { PinoTransportOptions } from './pino-transport-options.ts';

/** A retryable append failure (disk full, I/O error, quota with whenFull 'reject') waits this long. */
const RETRY_DELAY_MS = 500;

interface FlushWaiter {
  readonly target: number;
  readonly cb: (err?: Error | null) => void;
}

/**
 * The stream pino writes to. Each `_writev` takes every chunk buffered since the last one,
 * makes their complete lines durable (appends of at most `maxBatchLogs` logs), and only then
 * calls back: until then the stream buffers, and past its high-water mark pino's worker stops
 * reading pino's ring buffer (backpressure). `flush(cb)` (pino's `logger.flush(cb)`) calls
 * back once every line written before it is durable.
 */
export class WalshipPinoStream extends Writable {
  readonly #flusher: DurableFlusher;
  readonly #o: ResolvedPinoTransportOptions;
  readonly #logger: Logger;
  readonly #builder: GroupBuilder;
  /** The bytes of a line whose newline has not come yet. */
  #carry = '';
  /** Chunks handed to write(), and chunks whose lines are durable. */
  #received = 0;
  #durable = 0;
  #waiters: FlushWaiter[] = [];
  #failed: Error | undefined;
  /** Logs made durable. */
  logs = 0;
  /** Lines whose longest values were cut to `maxLineBytes`. */
  linesCut = 0;
  /** Lines the WAL refused for good (logged at error level; the rest of their batch went on). */
  linesRejected = 0;

  constructor(flusher: DurableFlusher, options: ResolvedPinoTransportOptions, logger: Logger) {
    super({ decodeStrings: false, highWaterMark: 64 * 1024 });
    this.#flusher = flusher;
    this.#o = options;
    this.#logger = logger;
    this.#builder = new GroupBuilder(resolveAggregatorOptions(options.topic === undefined ? {} : { topic: options.topic }), options.configName);
  }

  // Counted before the chunk joins Writable's buffer, so flush() knows what it must wait for.
  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    this.#received++;
    return super.write(chunk, encoding as BufferEncoding, cb as (error: Error | null | undefined) => void);
  }

  /** Calls back once every line written before this call is durable in the WAL. */
  flush(cb: (err?: Error | null) => void): void {
    if (this.#failed !== undefined) {
      process.nextTick(cb, this.#failed);
      return;
    }
    if (this.#durable >= this.#received) {
      process.nextTick(cb);
      return;
    }
    this.#waiters.push({ target: this.#received, cb });
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.#take([chunk]).then(() => cb(), cb);
  }

  override _writev(chunks: Array<{ chunk: string | Buffer }>, cb: (error?: Error | null) => void): void {
    this.#take(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }

  override _final(cb: (error?: Error | null) => void): void {
    const last = this.#carry;
    this.#carry = '';
    (async () => {
      // A last line without its newline is still a line.
      if (last.trim() !== '') await this.#append([last]);
    })()
      .then(() => this.#flusher.stop())
      .then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#fail(err ?? new Error('the walship transport was destroyed'));
    this.#flusher.stop().then(
      () => cb(err),
      () => cb(err),
    );
  }

  async #take(chunks: ReadonlyArray<string | Buffer>): Promise<void> {
    try {
      const text = this.#carry + chunks.map((c) => (typeof c === 'string' ? c : c.toString('utf8'))).join('');
      const parts = text.split('\n');
      this.#carry = parts.pop() ?? '';
      const lines = parts.filter((l) => l.trim() !== '');
      for (let i = 0; i < lines.length; i += this.#o.maxBatchLogs) await this.#append(lines.slice(i, i + this.#o.maxBatchLogs));
    } catch (err) {
      this.#fail(err as Error);
      throw err;
    }
    this.#durable += chunks.length;
    this.#settleWaiters();
  }

  async #append(lines: readonly string[]): Promise<void> {
    const now = Date.now();
    const logs = lines.map((line) => this.#toLog(line, now));
    try {
      await this.#appendLogs(logs);
    } catch (err) {
      if (!isWalshipError(err, ErrorCodes.INVALID_LOG_GROUP)) throw err;
      // A log the WAL refuses for good costs only itself, not the batch nor the stream.
      for (const log of logs) {
        try {
          await this.#appendLogs([log]);
        } catch (one) {
          if (!isWalshipError(one, ErrorCodes.INVALID_LOG_GROUP)) throw one;
          this.linesRejected++;
          this.#logger.error(
            { err: one.message, field: one.details.field, linesRejected: this.linesRejected },
            'walship/pino: the WAL refused a line for good; it is not retried',
          );
        }
      }
    }
  }

  async #appendLogs(logs: readonly Log[]): Promise<void> {
    for (const log of logs) this.#builder.add(log);
    const { project, logstore, configName } = this.#o;
    const groups = this.#builder.build().map((logGroup) => ({ project, logstore, configName, logGroup }));
    for (;;) {
      try {
        await this.#flusher.appendDurable(groups);
        this.logs += logs.length;
        return;
      } catch (err) {
        const retryable =
          isWalshipError(err, ErrorCodes.QUOTA_EXCEEDED) || isWalshipError(err, ErrorCodes.DISK_FULL) || isWalshipError(err, ErrorCodes.WAL_IO);
        if (!retryable) throw err;
        this.#logger.warn({ err }, 'walship/pino: append failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      }
    }
  }

  #toLog(line: string, now: number): Log {
    const log = pinoLineToLog(line, now);
    // Nested fields repeat their parents' keys: a short line can make large fields.
    const cut = cutLog(log, this.#o.maxLineBytes, line);
    if (cut === undefined) return log;
    this.linesCut++;
    this.#logger.warn(
      { bytes: Buffer.byteLength(line, 'utf8'), maxLineBytes: this.#o.maxLineBytes, linesCut: this.linesCut },
      'walship/pino: a line over maxLineBytes had its longest values cut',
    );
    return cut;
  }

  #settleWaiters(): void {
    const still: FlushWaiter[] = [];
    for (const w of this.#waiters) {
      if (this.#durable >= w.target) process.nextTick(w.cb);
      else still.push(w);
    }
    this.#waiters = still;
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) process.nextTick(w.cb, err);
  }
}

/**
 * pino's entry point: opens the WAL in `options.dir` (recovering what an earlier run left),
 * starts delivering to `options.sink`, and returns the stream pino writes to. Closing it
 * (pino does at process exit) stops the flusher: delivery for up to `stopTimeoutMs`, then the
 * WAL is closed; what was not delivered is delivered by the next run on the same `dir`.
 */
export default async function walshipPinoTransport(options: PinoTransportOptions): Promise<WalshipPinoStream> {
  const resolved = resolvePinoTransportOptions(options);
  const logger = defaultLogger().child({ component: 'walship/pino' });
  const flusher = await createFlusher({ ...resolved.flusher, logger });
  return new WalshipPinoStream(flusher, resolved, logger);
}
