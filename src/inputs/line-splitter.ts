/**
 * Bytes in, records out: splits a byte stream into lines, joins multiline records by a
 * first-line pattern, and cuts what is longer than `maxLineBytes` (counted). It also knows the
 * **safe offset**: the byte position up to which every line was either emitted as (part of) a
 * record or deliberately skipped. A file input checkpoints exactly that offset, so a restart
 * re-reads the partial last line and the multiline record still being assembled, and nothing
 * else (I2 in ./index.ts).
 *
 * - A line ends at `\n`; a `\r` before it is dropped. Empty lines are skipped (not shipped).
 * - Lines are decoded as UTF-8 (an invalid sequence becomes U+FFFD).
 * - A line longer than `maxLineBytes` keeps its first `maxLineBytes` bytes (backed off to a
 *   character boundary); the rest of it, up to its newline, is read and discarded.
 * - With a `startPattern`, a record starts at a line matching it (anchored at the line's start)
 *   and takes every following line that does not match, joined with `\n`. Lines before the
 *   first start line are shipped one by one (counted as `unmatchedLines`). A joined record is
 *   cut at `maxLineBytes` too. The record being assembled is shipped when the next one starts,
 *   or on {@link LineSplitter.flushPending} (the caller's timeout), or at the end of the input.
 */

import { isUtf8 } from 'node:buffer';

/**
 * Receives each line as bytes, at once, when the splitter has a sink and no multiline
 * pattern: `buf[start, end)` is valid UTF-8 (a line that was not is passed re-encoded, each
 * bad sequence as U+FFFD, the same text the string form would hold) and is only valid during
 * the call (the bytes may be the caller's read buffer, reused).
 */
export type LineSink = (buf: Buffer, start: number, end: number, cut: boolean) => void;

/** One shipped record. */
export interface SplitRecord {
  readonly text: string;
  /** Byte offset just after the record's last line (its newline). */
  readonly endOffset: number;
  /** True when the record was cut to `maxLineBytes`. */
  readonly cut: boolean;
}

export interface LineSplitterOptions {
  readonly maxLineBytes: number;
  /** The first-line pattern of a multiline record (source of a RegExp). */
  readonly startPattern?: string | undefined;
  /** Offset of the first byte that will be pushed. @defaultValue 0 */
  readonly offset?: number;
  /**
   * Without a `startPattern`: lines go to this sink as bytes, as they are split, instead of
   * being decoded into {@link SplitRecord}s for {@link LineSplitter.take} (the hot path of
   * input_file: no string per line). `take()` still tells the safe offset.
   */
  readonly lineSink?: LineSink | undefined;
}

export interface LineSplitterStats {
  /** Records shipped (lines, or joined multiline records). */
  readonly records: number;
  /** Records shipped shorter than they were (cut at `maxLineBytes`). */
  readonly cut: number;
  /** Multiline mode: lines before any start line, shipped one by one. */
  readonly unmatchedLines: number;
}

interface Pending {
  readonly lines: string[];
  bytes: number;
  readonly startOffset: number;
  endOffset: number;
  cut: boolean;
}

const NL = 0x0a;
const CR = 0x0d;
const CR_BYTE = Buffer.from([CR]);

/** The largest length <= `max` that does not end inside a UTF-8 sequence of `buf`. */
function utf8Boundary(buf: Buffer, max: number): number {
  let cut = Math.min(max, buf.length);
  if (cut === buf.length) return cut;
  while (cut > 0 && ((buf[cut] as number) & 0xc0) === 0x80) cut--;
  return cut;
}

/** Cuts `s` to at most `max` UTF-8 bytes, at a character boundary. */
function cutString(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) return s;
  return b.toString('utf8', 0, utf8Boundary(b, max));
}

export class LineSplitter {
  readonly maxLineBytes: number;
  readonly #start: RegExp | undefined;
  readonly #sink: LineSink | undefined;
  /** Absolute offset of the next byte to be pushed. */
  #offset: number;
  /** The current (incomplete) line: kept bytes, at most maxLineBytes. */
  #parts: Buffer[] = [];
  #partBytes = 0;
  #lineCut = false;
  /**
   * The last chunk ended in a CR inside an unfinished line: the CR of a CRLF if the next chunk
   * starts with LF (dropped), else a byte of the line (kept then). Held apart, so that a line
   * split between its CR and LF reads and counts against maxLineBytes as an unsplit one.
   */
  #heldCr = false;
  #lineStart: number;
  #pending: Pending | undefined;
  #ready: SplitRecord[] = [];
  /** Everything before this offset was shipped or skipped. */
  #safe: number;
  #records = 0;
  #cut = 0;
  #unmatched = 0;

  constructor(options: LineSplitterOptions) {
    this.maxLineBytes = options.maxLineBytes;
    this.#start = options.startPattern === undefined ? undefined : new RegExp(`^(?:${options.startPattern})`);
    this.#sink = this.#start === undefined ? options.lineSink : undefined;
    this.#offset = options.offset ?? 0;
    this.#lineStart = this.#offset;
    this.#safe = this.#offset;
  }

  /** Offset of the next byte to push (everything before it was pushed). */
  get offset(): number {
    return this.#offset;
  }

  /** Whether a multiline record is being assembled. */
  get hasPending(): boolean {
    return this.#pending !== undefined;
  }

  /** Whether bytes of an unfinished line are held. */
  get hasPartialLine(): boolean {
    return this.#partBytes > 0 || this.#lineCut || this.#heldCr;
  }

  stats(): LineSplitterStats {
    return { records: this.#records, cut: this.#cut, unmatchedLines: this.#unmatched };
  }

  /** Feeds the next bytes of the stream. The splitter keeps no reference to `chunk`. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#resolveHeldCr(chunk);
    if (this.#sink !== undefined) {
      this.#pushBytes(chunk, this.#sink);
      return;
    }
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NL, pos);
      if (nl === -1) {
        this.#keepTail(chunk, pos);
        return;
      }
      this.#offset += nl - pos + 1;
      // A line's CR (of its CRLF) is not part of its text, nor counted against maxLineBytes.
      const end = nl > pos && chunk[nl - 1] === CR ? nl - 1 : nl;
      if (this.#parts.length === 0 && !this.#lineCut && end - pos <= this.maxLineBytes) {
        // The whole line is in this chunk: decode it in place.
        this.#line(this.#decode(chunk, pos, nl), false);
      } else {
        this.#keep(chunk.subarray(pos, end), false);
        const buf = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#partBytes);
        const cut = this.#lineCut;
        // Its CR is left out already (this chunk's, or a held one), so none is stripped here.
        const text = buf.toString('utf8', 0, cut ? utf8Boundary(buf, this.maxLineBytes) : buf.length);
        this.#parts = [];
        this.#partBytes = 0;
        this.#lineCut = false;
        this.#line(text, cut);
      }
      pos = nl + 1;
    }
  }

  /**
   * Records complete so far, and the safe offset after them (resume here after a restart).
   * Empties the list of ready records.
   */
  take(): { records: SplitRecord[]; safeOffset: number } {
    const records = this.#ready;
    this.#ready = [];
    return { records, safeOffset: this.#safe };
  }

  /** {@link push} with a sink: no strings. */
  #pushBytes(chunk: Buffer, sink: LineSink): void {
    // Lines cut at newlines out of valid UTF-8 are valid UTF-8 (a newline is never inside a
    // sequence): one check of the chunk up to its last newline covers every line inside it.
    const lastNl = chunk.lastIndexOf(NL);
    const validToLastNl = lastNl >= 0 && isUtf8(chunk.subarray(0, lastNl));
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NL, pos);
      if (nl === -1) {
        this.#keepTail(chunk, pos);
        return;
      }
      this.#offset += nl - pos + 1;
      const end = nl > pos && chunk[nl - 1] === CR ? nl - 1 : nl;
      if (this.#parts.length === 0 && !this.#lineCut && end - pos <= this.maxLineBytes) {
        this.#lineBytes(sink, chunk, pos, end, false, validToLastNl);
      } else {
        this.#keep(chunk.subarray(pos, end), false);
        this.#partialLineBytes(sink, false);
      }
      pos = nl + 1;
    }
  }

  /** The held parts of a line (now complete, or the input's end) to the sink. */
  /** The held line, ended; `stripCr`: a last CR is the line's own (the input ended on "…\r"). */
  #partialLineBytes(sink: LineSink, stripCr: boolean): void {
    const buf = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#partBytes);
    const cut = this.#lineCut;
    this.#parts = [];
    this.#partBytes = 0;
    this.#lineCut = false;
    if (cut) this.#lineBytes(sink, buf, 0, utf8Boundary(buf, this.maxLineBytes), true, false);
    else this.#lineBytes(sink, buf, 0, stripCr && buf.length > 0 && buf[buf.length - 1] === CR ? buf.length - 1 : buf.length, false, false);
  }

  /** The bytes of `chunk` from `pos` on, with no newline: kept, a last CR held apart. */
  #keepTail(chunk: Buffer, pos: number): void {
    let end = chunk.length;
    if (end > pos && chunk[end - 1] === CR) {
      end--;
      this.#heldCr = true;
    }
    this.#keep(chunk.subarray(pos, end), true);
    this.#offset += chunk.length - pos;
  }

  /** A CR held from the last chunk: the CRLF's (dropped) if `next` starts with LF, else kept. */
  #resolveHeldCr(next: Buffer | undefined): void {
    if (!this.#heldCr) return;
    this.#heldCr = false;
    if (next === undefined || next[0] !== NL) this.#keep(CR_BYTE, true);
  }

  /** A complete line as bytes: to the sink unless empty (as {@link #line} skips an empty text). */
  #lineBytes(sink: LineSink, buf: Buffer, start: number, end: number, cut: boolean, valid: boolean): void {
    const endOffset = this.#offset;
    this.#lineStart = endOffset;
    if (end > start || cut) {
      this.#records++;
      if (cut) this.#cut++;
      if (valid || isUtf8(buf.subarray(start, end))) {
        sink(buf, start, end, cut);
      } else {
        const fixed = Buffer.from(buf.toString('utf8', start, end), 'utf8');
        sink(fixed, 0, fixed.length, cut);
      }
    }
    this.#safe = endOffset;
  }

  /** Ships the multiline record being assembled (its lines are all complete). */
  flushPending(): void {
    const p = this.#pending;
    if (p === undefined) return;
    this.#pending = undefined;
    this.#emit(p.lines.join('\n'), p.endOffset, p.cut);
    this.#safe = this.hasPartialLine ? this.#lineStart : this.#offset;
  }

  /**
   * The input ended (stdin closed, a rotated file is finished): ships the pending record and
   * the last line even without its newline. The safe offset becomes the end of the input.
   */
  end(): void {
    // A CR the input ended on is the last line's (stripped below, as from "…\r" in one chunk).
    this.#resolveHeldCr(undefined);
    if (this.#sink !== undefined) {
      if (this.#partBytes > 0 || this.#lineCut) this.#partialLineBytes(this.#sink, true);
      this.#safe = this.#offset;
      return;
    }
    // The last line first: it may continue the pending record.
    if (this.#partBytes > 0 || this.#lineCut) {
      const buf = Buffer.concat(this.#parts, this.#partBytes);
      const cut = this.#lineCut;
      const text = cut ? buf.toString('utf8', 0, utf8Boundary(buf, this.maxLineBytes)) : this.#decode(buf, 0, buf.length);
      this.#parts = [];
      this.#partBytes = 0;
      this.#lineCut = false;
      this.#line(text, cut);
    }
    this.flushPending();
    this.#safe = this.#offset;
  }

  /** Forgets everything held (truncation): the next byte pushed is at `offset`. */
  reset(offset: number): void {
    this.#parts = [];
    this.#partBytes = 0;
    this.#lineCut = false;
    this.#heldCr = false;
    this.#pending = undefined;
    this.#ready = [];
    this.#offset = offset;
    this.#lineStart = offset;
    this.#safe = offset;
  }

  #decode(buf: Buffer, from: number, to: number): string {
    const end = to > from && buf[to - 1] === CR ? to - 1 : to;
    return buf.toString('utf8', from, end);
  }

  /** Keeps bytes of the current line, up to maxLineBytes; the rest is dropped and marked. */
  #keep(part: Buffer, copy: boolean): void {
    if (part.length === 0) return;
    const room = this.maxLineBytes - this.#partBytes;
    if (part.length <= room) {
      this.#parts.push(copy ? Buffer.from(part) : part);
      this.#partBytes += part.length;
      return;
    }
    if (room >= 0) {
      // One byte more than the cap is kept, so the UTF-8 boundary check can see the next byte
      // (also when the bytes kept so far end exactly at the cap, inside a character).
      const kept = part.subarray(0, room + 1);
      this.#parts.push(copy ? Buffer.from(kept) : kept);
      this.#partBytes += kept.length;
    }
    this.#lineCut = true;
  }

  /** A complete line: it ends at the current offset. */
  #line(text: string, cut: boolean): void {
    const startOffset = this.#lineStart;
    const endOffset = this.#offset;
    this.#lineStart = endOffset;
    const start = this.#start;
    if (start === undefined) {
      if (text.length > 0 || cut) this.#emit(text, endOffset, cut);
      this.#safe = endOffset;
      return;
    }
    if (start.test(text)) {
      const p = this.#pending;
      if (p !== undefined) this.#emit(p.lines.join('\n'), p.endOffset, p.cut);
      this.#pending = { lines: [text], bytes: Buffer.byteLength(text), startOffset, endOffset, cut };
      this.#safe = startOffset;
      return;
    }
    const p = this.#pending;
    if (p === undefined) {
      if (text.length > 0 || cut) {
        this.#unmatched++;
        this.#emit(text, endOffset, cut);
      }
      this.#safe = endOffset;
      return;
    }
    p.endOffset = endOffset;
    if (p.cut && p.bytes >= this.maxLineBytes) return;
    const bytes = 1 + Buffer.byteLength(text);
    if (p.bytes + bytes > this.maxLineBytes) {
      const room = this.maxLineBytes - p.bytes - 1;
      if (room > 0) p.lines.push(cutString(text, room));
      p.bytes = this.maxLineBytes;
      p.cut = true;
      return;
    }
    p.lines.push(text);
    p.bytes += bytes;
    p.cut ||= cut;
  }

  #emit(text: string, endOffset: number, cut: boolean): void {
    this.#records++;
    if (cut) this.#cut++;
    this.#ready.push({ text, endOffset, cut });
  }
}
