import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DeliveryError } from '../../delivery/delivery-error.ts';
import type { DeliveryBatch, DeliveryRecord, ProtocolClient } from '../../delivery/protocol-client.ts';
import { ErrorCodes, isWalshipError } from '../../errors.ts';
import type { Logger } from '../../logging/logger.ts';
import { transcodeJsonBody } from '../http/json-transcode.ts';
import { fileError } from './file-errors.ts';
import { type FileSinkOptions, type ResolvedFileSinkOptions, resolveFileSinkOptions } from './file-sink-options.ts';
import { rotateFiles, syncDirectory } from './rotation.ts';

const NEWLINE = Buffer.from('\n');

interface PendingWrite {
  readonly body: Buffer;
  readonly resolve: () => void;
  readonly reject: (err: DeliveryError) => void;
}

/**
 * A {@link ProtocolClient} that appends NDJSON to a local file: one JSON object per log, the
 * HTTP sink's `ndjson` shape (`{time, timeNs?, contents, tags, source?, topic?, category?,
 * project, logstore}`).
 *
 * **Acks (D1).** `publishEvents` resolves only after the batch's lines were written and the
 * file `datasync`ed. Batches that arrive while a write is in progress are written together and
 * share one `datasync` (group commit); each resolves once that `datasync` completed. A new file
 * also fsyncs its directory, so the file itself survives a power loss.
 *
 * **Whole lines.** A batch is one write of whole lines. When a write fails part way, the file
 * is truncated back to where the write began, so a retry never leaves half a line. A torn
 * last line found on open (a crash in the middle of a write) is ended with a newline before
 * anything is appended; the records of that write were not acknowledged and are written again.
 *
 * **Rotation** (`maxBytes` > 0) happens between writes (./rotation.ts): every line lands in
 * exactly one file.
 *
 * **Connection.** `connect()` opens the file (creating missing parent directories). A path
 * that can never be written (ENOTDIR, EISDIR, …) does not fail `connect()`: every publish
 * then rejects with the permanent error, so delivery dead-letters the records with the
 * reason instead of waiting for a connection forever.
 */
export class FileClient implements ProtocolClient {
  readonly name: string;
  readonly options: ResolvedFileSinkOptions;
  readonly #log: Logger;
  #handle: FileHandle | undefined;
  #opening: Promise<FileHandle> | undefined;
  #size = 0;
  /** The file ends in a torn line: the next write starts with a newline. */
  #torn = false;
  #connected = false;
  readonly #queue: PendingWrite[] = [];
  #pumping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedFileSinkOptions) {
    this.options = options;
    this.name = options.name;
    this.#log = options.logger;
  }

  isConnected(): boolean {
    return this.#connected && this.#closing === undefined;
  }

  async connect(_timeoutMs: number): Promise<void> {
    this.#assertOpen();
    try {
      await this.#ensureOpen();
      // Also after a failed write (ENOSPC, EIO), which kept the handle: writable again.
      this.#connected = true;
    } catch (err) {
      const failure = fileError(err, `${this.name}: open`);
      if (failure.kind !== 'permanent') throw failure;
      // Publishing reports it per record (dead-lettered with the reason).
      this.#log.error({ reason: failure.reason, err: failure.message }, 'the file can never be written');
      this.#connected = true;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#connected = false;
      // Writes already queued finish (and are acknowledged) first.
      await this.#pumping;
      const handle = this.#handle ?? (await this.#opening?.catch(() => undefined));
      this.#handle = undefined;
      await handle?.close();
      this.#log.debug('file closed');
    })();
    return this.#closing;
  }

  async publishEvents(batch: DeliveryBatch, _signal?: AbortSignal): Promise<readonly DeliveryRecord[]> {
    this.#assertOpen();
    if (batch.records.length === 0) return [];
    let body: Buffer;
    try {
      body = transcodeJsonBody(batch.records, 'ndjson');
    } catch (err) {
      if (!isWalshipError(err, ErrorCodes.INVALID_LOG_GROUP)) throw err;
      throw new DeliveryError(`a record of batch ${batch.key} is not a valid LogGroup: ${err.message}`, {
        kind: 'permanent',
        reason: 'invalid_payload',
        cause: err,
      });
    }
    // A batch is written whole or not at all: the signal is not consulted once queued.
    await new Promise<void>((resolve, reject) => {
      this.#queue.push({ body, resolve, reject });
      this.#pumping ??= this.#pump().finally(() => {
        this.#pumping = undefined;
      });
    });
    return [];
  }

  async publishEvent(record: DeliveryRecord, key: string, signal?: AbortSignal): Promise<void> {
    await this.publishEvents({ key, records: [record] }, signal);
  }

  /** Writes what is queued, a group at a time, until the queue is empty. */
  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, this.#queue.length);
      try {
        await this.#write(Buffer.concat(group.map((w) => w.body)));
        for (const w of group) w.resolve();
      } catch (err) {
        const failure = fileError(err, `${this.name}: write`);
        if (failure.kind !== 'permanent') this.#connected = false;
        this.#log.debug({ reason: failure.reason, batches: group.length }, 'write failed');
        for (const w of group) w.reject(failure);
      }
    }
  }

  /** Appends `data` (whole lines) and datasyncs: the ack of every batch in it. */
  async #write(data: Buffer): Promise<void> {
    let handle = await this.#ensureOpen();
    const { maxBytes } = this.options;
    // Between writes: the file is rotated before a write that would take it past maxBytes.
    if (maxBytes > 0 && this.#size > 0 && this.#size + data.length > maxBytes) {
      await this.#rotate(handle);
      handle = await this.#ensureOpen();
    }
    const out = this.#torn ? Buffer.concat([NEWLINE, data]) : data;
    const start = this.#size;
    try {
      let written = 0;
      while (written < out.length) {
        const { bytesWritten } = await handle.write(out, written, out.length - written);
        written += bytesWritten;
      }
      // fsync (data) before acknowledging: D1.
      await handle.datasync();
    } catch (err) {
      await this.#undo(handle, start);
      throw err;
    }
    this.#size = start + out.length;
    this.#torn = false;
    this.#connected = true;
  }

  /** After a failed write: cut the file back to `size`, or reopen it (ending a torn line). */
  async #undo(handle: FileHandle, size: number): Promise<void> {
    try {
      await handle.truncate(size);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'could not truncate a failed write; the file is reopened');
      this.#handle = undefined;
      await handle.close().catch(() => undefined);
    }
  }

  async #rotate(handle: FileHandle): Promise<void> {
    this.#handle = undefined;
    await handle.close();
    const size = this.#size;
    await rotateFiles(this.options.path, this.options.maxFiles);
    this.#size = 0;
    this.#log.info({ bytes: size, maxFiles: this.options.maxFiles }, 'file rotated');
  }

  #ensureOpen(): Promise<FileHandle> {
    if (this.#handle !== undefined) return Promise.resolve(this.#handle);
    this.#opening ??= this.#openFile().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async #openFile(): Promise<FileHandle> {
    const { path, mode } = this.options;
    const dir = dirname(path);
    let handle: FileHandle;
    try {
      handle = await open(path, 'a+', mode);
    } catch (err) {
      // Missing parent directories are created; anything else (ENOTDIR: a parent is a
      // regular file) is reported as it is.
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      await mkdir(dir, { recursive: true });
      handle = await open(path, 'a+', mode);
    }
    try {
      const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
      if (!isFile) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL' });
      this.#torn = false;
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        this.#torn = last[0] !== 0x0a;
        if (this.#torn) this.#log.warn({ path }, 'the file ends in a torn line (a write was cut off); it is ended before appending');
      } else {
        // A new (or empty) file: make its directory entry durable too.
        await syncDirectory(dir);
      }
      this.#size = size;
    } catch (err) {
      await handle.close();
      throw err;
    }
    this.#handle = handle;
    this.#connected = true;
    this.#log.debug({ path, size: this.#size }, 'file opened');
    return handle;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) {
      throw new DeliveryError(`${this.name}: the client is closed`, { kind: 'retryable', reason: 'closed' });
    }
  }
}

/** Resolves and validates `options` (throws `WALSHIP_INVALID_OPTIONS`) and creates the client. */
export function createFileClient(options: FileSinkOptions): FileClient {
  return new FileClient(resolveFileSinkOptions(options));
}
