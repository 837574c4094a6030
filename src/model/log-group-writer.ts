/**
 * A LogGroup written straight into protobuf bytes, one log at a time, for inputs that read
 * text (files, stdin, pino lines): no `Log` objects, no second pass. The bytes are the ones
 * `encodeLogGroup` writes for the same group (M1, M2), field for field: logs first, then
 * category, topic, source, machine UUID and tags, as field-number order puts them.
 *
 * Each log is `Log { Time = 1; Contents = 2 … ; Time_ns = 4 }`, its contents given as
 * key/value pairs whose values are UTF-8 bytes as read (a value that is not valid UTF-8 is
 * re-encoded with U+FFFD for each bad sequence, as decoding it to a string would). The size
 * the writer reports is iLogtail's estimate (size.ts), so a caller caps groups the way the
 * aggregators do (M5).
 */
import { isUtf8 } from 'node:buffer';
import { ErrorCodes, WalshipError } from '../errors.ts';
import { giveHeadroom, holdGroupBuffer, takeGroupBuffer } from './headroom.ts';
import { FIELD_OVERHEAD_BYTES, LOG_OVERHEAD_BYTES } from './size.ts';
import type { LogTag } from './types.ts';

/** The group-level fields, written when the group is finished. */
export interface LogGroupHeader {
  readonly category?: string;
  readonly topic?: string;
  readonly source?: string;
  readonly machineUUID?: string;
  readonly logTags?: readonly LogTag[];
}

const INITIAL_BYTES = 64 * 1024;
const MAX_UINT32 = 0xffffffff;

export interface LogGroupWriterOptions {
  /**
   * Bytes left free in front of each finished group for the WAL's envelope header (see
   * ./headroom.ts): the group is then handed over without a copy. @defaultValue 0
   */
  readonly headroom?: number;
}

export class LogGroupWriter {
  readonly #headroom: number;
  #buf: Buffer;
  #pos: number;
  #logs = 0;
  #estimate = 0;
  /** Encoded contents of the log being written (between beginLog and endLog). */
  #logStart = -1;
  /** The key of the last one-content log, and its UTF-8 bytes (a file's lines share one). */
  #lastKey: string | undefined;
  #lastKeyBytes: Buffer = Buffer.alloc(0);

  constructor(options: LogGroupWriterOptions = {}) {
    const headroom = options.headroom ?? 0;
    if (!Number.isSafeInteger(headroom) || headroom < 0) throw new RangeError(`Expected \`headroom\` to be a non-negative integer, got ${headroom}`);
    this.#headroom = headroom;
    // Its own buffer (allocUnsafeSlow: never a slice of Node's pool), so the room is its own.
    this.#buf = headroom > 0 ? takeGroupBuffer(INITIAL_BYTES + headroom) : Buffer.allocUnsafeSlow(INITIAL_BYTES);
    this.#pos = headroom;
  }

  /** Logs written since the last finish(). */
  get logs(): number {
    return this.#logs;
  }

  /** iLogtail's size estimate of the logs written so far (size.ts). */
  get estimatedBytes(): number {
    return this.#estimate;
  }

  /** Bytes of encoded logs so far. */
  get encodedBytes(): number {
    return this.#pos - this.#headroom;
  }

  /**
   * Writes one log of one content (`key` = `value`), the shape of a line read from a file.
   * `time` is seconds since the epoch (a uint32); `timeNs` the nanoseconds within it.
   */
  addLog(time: number, key: string, value: Buffer, timeNs?: number): void {
    this.beginLog(time);
    this.addContent(key, value);
    this.endLog(timeNs);
  }

  /**
   * {@link addLog} for a value held as a string (a decoded line): written as UTF-8 in one
   * pass, with its length prefix right the first time (no move). Same bytes as `addLog` of
   * `Buffer.from(value, 'utf8')`.
   */
  addTextLog(time: number, key: string, value: string, timeNs?: number): void {
    const p = this.#openOneContentLog(time, key, Buffer.byteLength(value, 'utf8'), timeNs);
    this.#closeOneContentLog(p + this.#buf.write(value, p, 'utf8'), timeNs);
  }

  /**
   * {@link addLog} for a value given as `src[start, end)`, bytes that are **valid UTF-8**
   * (the caller checked: LineSplitter's line sink): copied as they are, no string between.
   */
  addUtf8Log(time: number, key: string, src: Buffer, start: number, end: number, timeNs?: number): void {
    const p = this.#openOneContentLog(time, key, end - start, timeNs);
    this.#closeOneContentLog(p + src.copy(this.#buf, p, start, end), timeNs);
  }

  /**
   * Writes a one-content log up to its value's bytes (its sizes known up front, so every
   * length prefix is right the first time); returns where the value goes.
   */
  #openOneContentLog(time: number, key: string, valueBytes: number, timeNs: number | undefined): number {
    if (!Number.isInteger(time) || time < 0 || time > MAX_UINT32) this.beginLog(time); // throws the coded error
    if (timeNs !== undefined && (!Number.isInteger(timeNs) || timeNs < 0 || timeNs > MAX_UINT32)) {
      throw new WalshipError(ErrorCodes.INVALID_LOG_GROUP, `logs[${this.#logs}].timeNs: expected a uint32, got ${timeNs}`, {
        details: { field: `logs[${this.#logs}].timeNs` },
      });
    }
    if (this.#logStart >= 0) throw new TypeError('Expected endLog() before the next log');
    if (key !== this.#lastKey) {
      this.#lastKey = key;
      this.#lastKeyBytes = Buffer.from(key, 'utf8');
    }
    const k = this.#lastKeyBytes;
    const keyBytes = k.length;
    const inner = 1 + varintSize(keyBytes) + keyBytes + 1 + varintSize(valueBytes) + valueBytes;
    const body = 1 + varintSize(time) + 1 + varintSize(inner) + inner + (timeNs === undefined ? 0 : 5);
    this.#ensure(1 + varintSize(body) + body);
    const b = this.#buf;
    let p = this.#pos;
    b[p++] = 0x0a; // LogGroup.Logs, length-delimited
    p = writeVarint(b, p, body);
    b[p++] = 0x08; // Log.Time, varint
    p = writeVarint(b, p, time);
    b[p++] = 0x12; // Log.Contents, length-delimited
    p = writeVarint(b, p, inner);
    b[p++] = 0x0a; // Content.Key
    p = writeVarint(b, p, keyBytes);
    for (let i = 0; i < keyBytes; i++) b[p++] = k[i]!;
    b[p++] = 0x12; // Content.Value
    p = writeVarint(b, p, valueBytes);
    this.#estimate += LOG_OVERHEAD_BYTES + keyBytes + valueBytes + FIELD_OVERHEAD_BYTES;
    return p;
  }

  /** Ends a log {@link #openOneContentLog} began, its value written up to `p`. */
  #closeOneContentLog(p: number, timeNs: number | undefined): void {
    if (timeNs !== undefined) {
      this.#buf[p++] = 0x25; // Log.Time_ns, fixed32
      this.#buf.writeUInt32LE(timeNs, p);
      p += 4;
    }
    this.#pos = p;
    this.#logs++;
  }

  /** Starts a log of several contents: `beginLog`, `addContent`…, `endLog`. */
  beginLog(time: number): void {
    if (!Number.isInteger(time) || time < 0 || time > MAX_UINT32) {
      throw new WalshipError(ErrorCodes.INVALID_LOG_GROUP, `logs[${this.#logs}].time: expected a uint32 (seconds since the epoch), got ${time}`, {
        details: { field: `logs[${this.#logs}].time` },
      });
    }
    if (this.#logStart >= 0) throw new TypeError('Expected endLog() before the next beginLog()');
    // The Log's length prefix is written in endLog, once its size is known: reserve the
    // largest a varint of it can need (5 bytes), and move the body back if it needs fewer.
    this.#ensure(1 + 5 + 1 + 5);
    this.#buf[this.#pos++] = 0x0a; // LogGroup.Logs, length-delimited
    this.#pos += 5;
    this.#logStart = this.#pos;
    this.#buf[this.#pos++] = 0x08; // Log.Time, varint
    this.#varint(time);
    this.#estimate += LOG_OVERHEAD_BYTES;
  }

  addContent(key: string, value: Buffer): void {
    if (this.#logStart < 0) throw new TypeError('Expected beginLog() before addContent()');
    const v = isUtf8(value) ? value : Buffer.from(value.toString('utf8'), 'utf8');
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const inner = 1 + varintSize(keyBytes) + keyBytes + 1 + varintSize(v.length) + v.length;
    this.#ensure(1 + 5 + inner);
    const b = this.#buf;
    b[this.#pos++] = 0x12; // Log.Contents, length-delimited
    this.#varint(inner);
    b[this.#pos++] = 0x0a; // Content.Key
    this.#varint(keyBytes);
    this.#pos += b.write(key, this.#pos, 'utf8');
    b[this.#pos++] = 0x12; // Content.Value
    this.#varint(v.length);
    this.#pos += v.copy(b, this.#pos);
    this.#estimate += keyBytes + v.length + FIELD_OVERHEAD_BYTES;
  }

  endLog(timeNs?: number): void {
    if (this.#logStart < 0) throw new TypeError('Expected beginLog() before endLog()');
    if (timeNs !== undefined) {
      if (!Number.isInteger(timeNs) || timeNs < 0 || timeNs > MAX_UINT32) {
        throw new WalshipError(ErrorCodes.INVALID_LOG_GROUP, `logs[${this.#logs}].timeNs: expected a uint32, got ${timeNs}`, {
          details: { field: `logs[${this.#logs}].timeNs` },
        });
      }
      this.#ensure(5);
      this.#buf[this.#pos++] = 0x25; // Log.Time_ns, fixed32
      this.#buf.writeUInt32LE(timeNs, this.#pos);
      this.#pos += 4;
    }
    const start = this.#logStart;
    const length = this.#pos - start;
    const prefix = varintSize(length);
    // Move the body next to its real prefix (the 5 reserved bytes minus what it needs).
    const gap = 5 - prefix;
    if (gap > 0) this.#buf.copy(this.#buf, start - gap, start, this.#pos);
    this.#pos -= gap;
    writeVarint(this.#buf, start - 5, length);
    this.#logStart = -1;
    this.#logs++;
  }

  /**
   * The encoded LogGroup: the logs written plus the header's fields. Resets the writer for the
   * next group. The returned buffer is the caller's. With `headroom`, it lies in a group
   * buffer (./headroom.ts) that the caller holds: once nothing of the caller's reads it any
   * more (its appends settled), `giveBackGroupBuffer(group)` lets a later group reuse it
   * after every other holder (a WAL record built in place) gave it back too. Not giving it
   * back is safe: the buffer is then collected as usual.
   */
  finish(header: LogGroupHeader = {}): Buffer {
    if (this.#logStart >= 0) throw new TypeError('Expected endLog() before finish()');
    this.#string(0x12, header.category);
    this.#string(0x1a, header.topic);
    this.#string(0x22, header.source);
    this.#string(0x2a, header.machineUUID);
    for (const tag of header.logTags ?? []) {
      const k = Buffer.byteLength(tag.key, 'utf8');
      const v = Buffer.byteLength(tag.value, 'utf8');
      const inner = 1 + varintSize(k) + k + 1 + varintSize(v) + v;
      this.#ensure(1 + 5 + inner);
      this.#buf[this.#pos++] = 0x32; // LogGroup.LogTags
      this.#varint(inner);
      this.#string(0x0a, tag.key);
      this.#string(0x12, tag.value);
    }
    let out: Buffer;
    if (this.#headroom > 0) {
      // Handed over as it is (with its room in front); the next group gets a new buffer.
      out = this.#buf.subarray(this.#headroom, this.#pos);
      giveHeadroom(out, this.#headroom);
      // Held for the caller until it gives `out` back (giveBackGroupBuffer): its appends settled.
      holdGroupBuffer(out);
      this.#buf = takeGroupBuffer(this.#buf.length);
    } else {
      out = Buffer.from(this.#buf.subarray(0, this.#pos));
    }
    this.#pos = this.#headroom;
    this.#logs = 0;
    this.#estimate = 0;
    return out;
  }

  #string(tag: number, value: string | undefined): void {
    if (value === undefined) return;
    const n = Buffer.byteLength(value, 'utf8');
    this.#ensure(1 + 5 + n);
    this.#buf[this.#pos++] = tag;
    this.#varint(n);
    this.#pos += this.#buf.write(value, this.#pos, 'utf8');
  }

  #varint(value: number): void {
    this.#pos = writeVarint(this.#buf, this.#pos, value);
  }

  #ensure(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + bytes) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }
}

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Writes `value` (a uint32) as a varint at `pos`; returns the position after it. */
function writeVarint(buf: Buffer, pos: number, value: number): number {
  let v = value >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}
