import type { Writable } from 'node:stream';
import { DeliveryError } from '../../delivery/delivery-error.ts';
import type { DeliveryBatch, DeliveryRecord, ProtocolClient } from '../../delivery/protocol-client.ts';
import { ErrorCodes, isWalshipError } from '../../errors.ts';
import type { Logger } from '../../logging/logger.ts';
import { transcodeJsonBody } from '../http/json-transcode.ts';
import { type ResolvedStdoutSinkOptions, type StdoutSinkOptions, resolveStdoutSinkOptions } from './stdout-sink-options.ts';
import { recordToTextLines } from './text-format.ts';

/**
 * A {@link ProtocolClient} that writes every log as a line to a stream (iLogtail's
 * `flusher_stdout`): NDJSON (`format: 'json'`, the HTTP sink's `ndjson` shape) or one
 * human-readable line per log (`'text'`, ./text-format.ts).
 *
 * **Acks (D1).** A batch is one `write` of whole lines, and `publishEvents` resolves when the
 * stream has handed it on (the write callback: for `process.stdout`, written to the file
 * descriptor) and, when the write hit the stream's high-water mark, once the stream emitted
 * `'drain'`. So a slow reader slows delivery down (the records wait in the WAL) instead of
 * growing memory. Batches are written one after the other, never interleaved.
 *
 * **Errors.** A record that does not decode is permanent (`invalid_payload`). A stream error
 * (`EPIPE`: the reader went away; a destroyed stream) is retryable: the records stay in the
 * WAL. The client listens for the stream's `'error'` events while open, so an `EPIPE` does not
 * crash the process.
 */
export class StdoutClient implements ProtocolClient {
  readonly name: string;
  readonly options: ResolvedStdoutSinkOptions;
  readonly #stream: Writable;
  readonly #log: Logger;
  /** The last write in the chain: the next one starts after it settled. */
  #tail: Promise<void> = Promise.resolve();
  #connected = false;
  #closing: Promise<void> | undefined;
  readonly #closed = new AbortController();
  readonly #onError = (err: Error): void => {
    this.#connected = false;
    this.#log.warn({ err: err.message }, 'the output stream failed');
  };

  constructor(options: ResolvedStdoutSinkOptions) {
    this.options = options;
    this.name = options.name;
    this.#stream = options.stream;
    this.#log = options.logger;
    this.#stream.on('error', this.#onError);
  }

  isConnected(): boolean {
    return this.#connected && this.#closing === undefined;
  }

  async connect(_timeoutMs: number): Promise<void> {
    this.#assertOpen();
    if (this.#stream.destroyed || this.#stream.writableEnded) {
      throw new DeliveryError(`${this.name}: the output stream is closed`, { kind: 'retryable', reason: 'stream_closed' });
    }
    this.#connected = true;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#connected = false;
      // Writes already handed to the stream finish; a wait for 'drain' is given up.
      this.#closed.abort();
      await this.#tail;
      this.#stream.off('error', this.#onError);
    })();
    return this.#closing;
  }

  async publishEvents(batch: DeliveryBatch, _signal?: AbortSignal): Promise<readonly DeliveryRecord[]> {
    this.#assertOpen();
    if (batch.records.length === 0) return [];
    const chunk = this.#encode(batch);
    const write = this.#tail.then(() => this.#write(chunk));
    this.#tail = write.catch(() => undefined);
    await write;
    return [];
  }

  async publishEvent(record: DeliveryRecord, key: string, signal?: AbortSignal): Promise<void> {
    await this.publishEvents({ key, records: [record] }, signal);
  }

  #encode(batch: DeliveryBatch): Buffer | string {
    try {
      if (this.options.format === 'json') return transcodeJsonBody(batch.records, 'ndjson');
      let text = '';
      for (const r of batch.records) text += recordToTextLines(r);
      return text;
    } catch (err) {
      if (!isWalshipError(err, ErrorCodes.INVALID_LOG_GROUP)) throw err;
      throw new DeliveryError(`a record of batch ${batch.key} is not a valid LogGroup: ${err.message}`, {
        kind: 'permanent',
        reason: 'invalid_payload',
        cause: err,
      });
    }
  }

  async #write(chunk: Buffer | string): Promise<void> {
    const stream = this.#stream;
    if (this.#closed.signal.aborted) throw this.#closedError();
    if (stream.destroyed || stream.writableEnded) {
      this.#connected = false;
      throw new DeliveryError(`${this.name}: the output stream is closed`, { kind: 'retryable', reason: 'stream_closed' });
    }
    let drained: Promise<void> | undefined;
    const written = new Promise<void>((resolve, reject) => {
      const ok = stream.write(chunk, (err) => (err ? reject(err) : resolve()));
      // Listen for 'drain' right away: it may come before the write callback is seen.
      if (!ok) {
        drained = this.#drain();
        // When the write itself fails, that failure is the one reported.
        drained.catch(() => undefined);
      }
    });
    try {
      await written;
      // Backpressure: the next batch (and this ack) waits until the stream's buffer emptied.
      await drained;
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      this.#connected = false;
      const code = (err as { code?: string }).code ?? 'error';
      throw new DeliveryError(`${this.name}: write failed: ${(err as Error).message}`, {
        kind: 'retryable',
        reason: code === 'ERR_STREAM_DESTROYED' ? 'stream_closed' : code.toLowerCase(),
        cause: err,
      });
    }
    this.#connected = true;
  }

  /** Resolves on the stream's 'drain'; rejects if it closes or errors first, or on close(). */
  #drain(): Promise<void> {
    const stream = this.#stream;
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        stream.off('drain', onDrain);
        stream.off('close', onClose);
        stream.off('error', onError);
        this.#closed.signal.removeEventListener('abort', onAbort);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(new DeliveryError(`${this.name}: the output stream closed`, { kind: 'retryable', reason: 'stream_closed' }));
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const onAbort = (): void => {
        cleanup();
        // The write itself completed; only the wait for room is given up.
        resolve();
      };
      stream.on('drain', onDrain);
      stream.on('close', onClose);
      stream.on('error', onError);
      this.#closed.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #closedError(): DeliveryError {
    return new DeliveryError(`${this.name}: the client is closed`, { kind: 'retryable', reason: 'closed' });
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw this.#closedError();
  }
}

/** Resolves and validates `options` (throws `WALSHIP_INVALID_OPTIONS`) and creates the client. */
export function createStdoutClient(options: StdoutSinkOptions = {}): StdoutClient {
  return new StdoutClient(resolveStdoutSinkOptions(options));
}
