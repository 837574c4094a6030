/**
 * The `json` / `ndjson` bodies written straight from the LogGroup protobuf bytes, in one pass
 * over each record, with no objects in between: the same text, byte for byte, as
 * `JSON.stringify` of {@link recordToJsonLogs}'s objects (`encodeJsonBodyFromObjects` in
 * ./encode.ts, the reference the tests hold it to), at a fraction of the cost.
 *
 * How it stays exact:
 * - strings: the wire holds UTF-8. Valid UTF-8 decodes to exactly one string, so its bytes
 *   are copied as they are, escaping only what `JSON.stringify` escapes in such a string
 *   (`"`, `\`, and U+0000–U+001F as `\b \t \n \f \r` or `\u00xx`; a lone surrogate cannot
 *   come out of UTF-8, and U+007F, U+2028 and U+2029 are not escaped). A value that is not
 *   valid UTF-8 is decoded by Node's decoder (the one protobufjs uses for Buffers: U+FFFD for
 *   each bad sequence) and stringified;
 * - objects: `contents` and `tags` are objects, where a repeated key keeps its first place and
 *   its last value, and array-index keys (`"0"`, `"42"`) come first in numeric order. A record
 *   where that could matter (a repeated key, an array-index key, a key that is not valid
 *   UTF-8) is encoded the old way, through the objects; so is a record whose wire format is
 *   not the plain one the decoder reads without a doubt (an unexpected wire type, a group, a
 *   varint past 5 bytes or 2^32, a missing required field, a length past the end), which
 *   therefore still fails with the decoder's `WALSHIP_INVALID_LOG_GROUP`;
 * - numbers: `Time` (uint32 varint; the last one wins, as does the last `Time_ns`, `Source`,
 *   `Topic`, `Category`, `Key` and `Value`) and `Time_ns` (fixed32) in decimal.
 *
 * The encoder is synchronous and writes into one reused scratch buffer; the body it returns
 * is a copy of the right size.
 */
import type { DeliveryRecord } from '../../delivery/protocol-client.ts';
import { recordToJsonLogs } from './encode.ts';

// ── The output buffer ─────────────────────────────────────────────────────────────────

/** The scratch buffer is kept between calls up to this size (a larger one is dropped). */
const KEEP_SCRATCH_BYTES = 8 * 1024 * 1024;
let scratch: Buffer = Buffer.allocUnsafe(256 * 1024);
let out: Buffer = scratch;
/** `out` as a DataView, for four bytes at a time. */
let outView = viewOf(out);
let pos = 0;

function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function useOut(b: Buffer): void {
  out = b;
  outView = viewOf(b);
}

function ensure(n: number): void {
  if (pos + n > out.length) growOut(n);
}

/** Buffers grow by half (not double: a ~2.7 MB body in a 4 MiB buffer wasted 1.3 MB per pooled body), in 64 KiB steps. */
const GROW_STEP_BYTES = 64 * 1024;

function roundUpToStep(bytes: number): number {
  return Math.ceil(bytes / GROW_STEP_BYTES) * GROW_STEP_BYTES;
}

function growOut(n: number): void {
  const size = roundUpToStep(Math.max(pos + n, out.length * 1.5));
  const grown = Buffer.allocUnsafe(size);
  out.copy(grown, 0, 0, pos);
  useOut(grown);
}

function writeByte(c: number): void {
  ensure(1);
  out[pos++] = c;
}

function writeBytes(bytes: Uint8Array): void {
  const n = bytes.length;
  ensure(n);
  if (n > 32) {
    out.set(bytes, pos);
    pos += n;
    return;
  }
  // Short constants: a loop is cheaper than a call into the builtin.
  const o = out;
  let p = pos;
  for (let i = 0; i < n; i++) o[p++] = bytes[i]!;
  pos = p;
}

/** Writes a string as UTF-8 (JSON.stringify's output, constant keys). */
function writeText(text: string): void {
  ensure(text.length * 3);
  pos += out.write(text, pos, 'utf8');
}

/** A uint32 in decimal. */
function writeUint(n: number): void {
  ensure(10);
  const o = out;
  if (n < 10) {
    o[pos++] = 0x30 + n;
    return;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let p = pos + digits;
  pos = p;
  if (n <= 0x7fffffff) {
    for (let x = n; x !== 0; x = (x / 10) | 0) o[--p] = 0x30 + (x % 10);
  } else {
    for (let x = n; x !== 0; x = Math.floor(x / 10)) o[--p] = 0x30 + (x % 10);
  }
}

/**
 * A uint32 in decimal, remembering the last one: consecutive logs mostly share their `Time`
 * (the same second) and `Time_ns` (the same millisecond, for lines read together).
 */
class CachedUint {
  #value = -1;
  #length = 0;
  readonly #digits = new Uint8Array(10);

  write(n: number): void {
    const d = this.#digits;
    if (n === this.#value) {
      const len = this.#length;
      ensure(len);
      const o = out;
      let p = pos;
      for (let i = 0; i < len; i++) o[p++] = d[i]!;
      pos = p;
      return;
    }
    const start = pos;
    writeUint(n);
    this.#length = pos - start;
    for (let i = 0; i < this.#length; i++) d[i] = out[start + i]!;
    this.#value = n;
  }
}

const timeDigits = new CachedUint();
const timeNsDigits = new CachedUint();

// ── Strings ───────────────────────────────────────────────────────────────────────────

const PLAIN = 0;
/** `"` and `\`: a backslash before. */
const QUOTED = 1;
/** U+0000–U+001F: `\b \t \n \f \r` or `\u00xx`. */
const CONTROL = 2;
/** ≥ 0x80: part of a multi-byte sequence. */
const HIGH = 3;
const BYTE_KIND = new Uint8Array(256);
for (let c = 0; c < 256; c++) BYTE_KIND[c] = c < 0x20 ? CONTROL : c === 0x22 || c === 0x5c ? QUOTED : c >= 0x80 ? HIGH : PLAIN;
/** The letter after the backslash for a control character, 0 for `\u00xx`. */
const SHORT_ESCAPE = new Uint8Array(0x20);
SHORT_ESCAPE[0x08] = 0x62; // b
SHORT_ESCAPE[0x09] = 0x74; // t
SHORT_ESCAPE[0x0a] = 0x6e; // n
SHORT_ESCAPE[0x0c] = 0x66; // f
SHORT_ESCAPE[0x0d] = 0x72; // r
const HEX = new Uint8Array([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);

/** The source of the last string written, and its DataView. */
let srcBuf: Buffer | undefined;
let srcView: DataView = outView;

/**
 * Whether any of the four bytes of `w` needs more than a copy: below 0x20, `"`, `\\`, or 0x80
 * and above. (SWAR: a byte below 0x20 borrows in `w - 0x20202020`, a byte equal to `c` is a
 * zero byte of `w ^ cccccccc`; a false alarm can only come after a true one in the word, and
 * the word is then done byte by byte anyway.)
 */
function needsCare(w: number): boolean {
  const quote = w ^ 0x22222222;
  const backslash = w ^ 0x5c5c5c5c;
  return (((w - 0x20202020) & ~w) | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash) | w) & 0x80808080 ? true : false;
}

/**
 * Writes bytes `[s, e)` of `src` as a JSON string. Returns false, having written nothing that
 * counts, when they are not valid UTF-8. Plain runs go four bytes at a time.
 */
function writeWireString(src: Buffer, s: number, e: number): boolean {
  ensure((e - s) * 6 + 2);
  if (src !== srcBuf) {
    srcBuf = src;
    srcView = viewOf(src);
  }
  const sv = srcView;
  const ov = outView;
  const o = out;
  let p = pos;
  o[p++] = 0x22;
  let i = s;
  while (i < e) {
    while (i + 4 <= e) {
      const w = sv.getUint32(i, true);
      if (needsCare(w)) break;
      ov.setUint32(p, w, true);
      p += 4;
      i += 4;
    }
    // Byte by byte through the word that needed care (or the last few bytes).
    const stop = i + 4 < e ? i + 4 : e;
    while (i < stop) {
      const c = src[i]!;
      const kind = BYTE_KIND[c]!;
      if (kind === PLAIN) {
        o[p++] = c;
        i++;
      } else if (kind === QUOTED) {
        o[p++] = 0x5c;
        o[p++] = c;
        i++;
      } else if (kind === CONTROL) {
        o[p++] = 0x5c;
        const letter = SHORT_ESCAPE[c]!;
        if (letter !== 0) {
          o[p++] = letter;
        } else {
          o[p++] = 0x75; // u00xx
          o[p++] = 0x30;
          o[p++] = 0x30;
          o[p++] = HEX[c >> 4]!;
          o[p++] = HEX[c & 15]!;
        }
        i++;
      } else {
        // A multi-byte sequence: copied when well-formed, else the string takes the slow way.
        const n = utf8SequenceLength(src, i, e);
        if (n === 0) return false;
        for (let k = 0; k < n; k++) o[p++] = src[i + k]!;
        i += n;
      }
    }
  }
  o[p++] = 0x22;
  pos = p;
  return true;
}

/** A hash of the bytes of the last string {@link writeWireString} wrote (to find repeated keys). */
let stringHash = 0;

/**
 * {@link writeWireString} for a key: also sets {@link stringHash}. Keys are short, so the
 * hash takes its own pass instead of a second copy of the escaping loop.
 */
function writeKeyString(src: Buffer, s: number, e: number): boolean {
  let h = e - s;
  for (let i = s; i < e; i++) h = (Math.imul(h, 31) + src[i]!) | 0;
  if (!writeWireString(src, s, e)) return false;
  stringHash = h;
  return true;
}

/**
 * The length of the well-formed UTF-8 sequence that starts with the byte ≥ 0x80 at `i`
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), or 0.
 */
function utf8SequenceLength(b: Buffer, i: number, e: number): number {
  const c = b[i]!;
  if (c < 0xc2) return 0;
  if (c < 0xe0) return i + 1 < e && (b[i + 1]! & 0xc0) === 0x80 ? 2 : 0;
  if (c < 0xf0) {
    if (i + 2 >= e) return 0;
    const c1 = b[i + 1]!;
    if ((c1 & 0xc0) !== 0x80 || (b[i + 2]! & 0xc0) !== 0x80) return 0;
    if (c === 0xe0 && c1 < 0xa0) return 0;
    if (c === 0xed && c1 >= 0xa0) return 0;
    return 3;
  }
  if (c < 0xf5) {
    if (i + 3 >= e) return 0;
    const c1 = b[i + 1]!;
    if ((c1 & 0xc0) !== 0x80 || (b[i + 2]! & 0xc0) !== 0x80 || (b[i + 3]! & 0xc0) !== 0x80) return 0;
    if (c === 0xf0 && c1 < 0x90) return 0;
    if (c === 0xf4 && c1 >= 0x90) return 0;
    return 4;
  }
  return 0;
}

/** A string value: its bytes as they are, or, when they are not valid UTF-8, decoded as protobufjs does. */
function writeValue(src: Buffer, s: number, e: number): void {
  if (writeWireString(src, s, e)) return;
  writeText(JSON.stringify(src.toString('utf8', s, e)));
}

/** A canonical array index: digits, no leading zero (but "0"), at most 4294967294. */
function isArrayIndex(b: Buffer, s: number, e: number): boolean {
  if (e - s > 10 || e === s || (e - s > 1 && b[s] === 0x30)) return false;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) return false;
    v = v * 10 + (c - 0x30);
  }
  return v <= 4294967294;
}

// ── Reading the wire format ───────────────────────────────────────────────────────────

/** The position after the last varint read, or -1 when it was not a plain one. */
let at = 0;

const POW2 = [1, 2 ** 7, 2 ** 14, 2 ** 21, 2 ** 28];

/** A uint32 varint at `p` (at most 5 bytes, below 2^32); sets {@link at} to the position after it, or to -1. */
function varint(b: Buffer, p: number, end: number): number {
  if (p < end) {
    const b0 = b[p]!;
    if (b0 < 0x80) {
      at = p + 1;
      return b0;
    }
    if (p + 1 < end) {
      const b1 = b[p + 1]!;
      if (b1 < 0x80) {
        at = p + 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
    }
  }
  let value = 0;
  for (let k = 0; k < 5 && p < end; k++) {
    const byte = b[p++]!;
    if (k === 4 && byte > 0x0f) break;
    value += (byte & 0x7f) * POW2[k]!;
    if (byte < 0x80) {
      at = p;
      return value;
    }
  }
  at = -1;
  return 0;
}

/** Skips a field the JSON does not show; the position after it, or -1 (a group, a bad length). */
function skipField(b: Buffer, p: number, end: number, wireType: number): number {
  switch (wireType) {
    case 0:
      for (let k = 0; k < 10 && p < end; k++) if (b[p++]! < 0x80) return p;
      return -1;
    case 1:
      return p + 8 <= end ? p + 8 : -1;
    case 2: {
      const len = varint(b, p, end);
      if (at < 0 || at + len > end) return -1;
      return at + len;
    }
    case 5:
      return p + 4 <= end ? p + 4 : -1;
    default:
      return -1;
  }
}

// ── Objects of string pairs (a log's contents, the group's tags) ──────────────────────

// Where each pair's key was, and its hash, while its object is written (reused).
let keyStarts: Int32Array = new Int32Array(64);
let keyEnds: Int32Array = new Int32Array(64);
let keyHashes: Int32Array = new Int32Array(64);

function growKeys(n: number): void {
  const size = Math.max(n + 1, keyStarts.length * 2);
  const grow = (a: Int32Array): Int32Array => {
    const bigger = new Int32Array(size);
    bigger.set(a);
    return bigger;
  };
  keyStarts = grow(keyStarts);
  keyEnds = grow(keyEnds);
  keyHashes = grow(keyHashes);
}

/** Pair `i` of an object: writes `,"key":"value"`; false when the record must take the slow way. */
function writePair(b: Buffer, s: number, e: number, i: number): boolean {
  // The pair message: Key = 1 and Value = 2, both required, the last of each wins.
  let ks = -1;
  let ke = -1;
  let vs = -1;
  let ve = -1;
  let p = s;
  while (p < e) {
    const tag = varint(b, p, e);
    if (at < 0) return false;
    p = at;
    const field = tag >>> 3;
    const wireType = tag & 7;
    if ((field === 1 || field === 2) && wireType === 2) {
      const len = varint(b, p, e);
      if (at < 0 || at + len > e) return false;
      if (field === 1) {
        ks = at;
        ke = at + len;
      } else {
        vs = at;
        ve = at + len;
      }
      p = at + len;
    } else {
      if (field <= 2) return false; // 0, or a known field of another wire type
      p = skipField(b, p, e, wireType);
      if (p < 0) return false;
    }
  }
  if (ks < 0 || vs < 0) return false;
  // An array-index key would be moved first by the object: leave that to the objects.
  const k0 = b[ks]!;
  if (k0 >= 0x30 && k0 <= 0x39 && isArrayIndex(b, ks, ke)) return false;
  if (i > 0) writeByte(0x2c);
  if (!writeKeyString(b, ks, ke)) return false;
  // A repeated key keeps its first place with its last value: leave that to the objects too.
  const h = stringHash;
  const len = ke - ks;
  if (i >= keyStarts.length) growKeys(i);
  for (let j = 0; j < i; j++) {
    if (keyHashes[j] !== h) continue;
    const t = keyStarts[j]!;
    if (keyEnds[j]! - t !== len) continue;
    let k = 0;
    while (k < len && b[ks + k] === b[t + k]) k++;
    if (k === len) return false;
  }
  keyStarts[i] = ks;
  keyEnds[i] = ke;
  keyHashes[i] = h;
  writeByte(0x3a);
  writeValue(b, vs, ve);
  return true;
}

// ── One record ────────────────────────────────────────────────────────────────────────

const PREFIX_TIME = Buffer.from('{"time":');
const PREFIX_TIME_NS = Buffer.from(',"timeNs":');
const PREFIX_CONTENTS = Buffer.from(',"contents":{');
const PREFIX_TAGS = Buffer.from('},"tags":{');

// Where the logs and tags of the record are (reused).
let logStarts: Int32Array = new Int32Array(1024);
let logEnds: Int32Array = new Int32Array(1024);
let tagStarts: Int32Array = new Int32Array(16);
let tagEnds: Int32Array = new Int32Array(16);

function grown(a: Int32Array, n: number): Int32Array {
  if (n < a.length) return a;
  const bigger = new Int32Array(Math.max(n + 1, a.length * 2));
  bigger.set(a);
  return bigger;
}

/**
 * Writes the logs of one record, each preceded by `separator` (but the very first of the body,
 * when `first`) and followed by `terminator` (-1: none). Returns the number of logs, or -1,
 * having written nothing that counts, when the record must take the slow way.
 */
function transcodeRecord(record: DeliveryRecord, first: boolean, separator: number, terminator: number): number {
  const b = record.payload;
  const end = b.length;
  const recordStart = pos;

  // 1. The group's own fields: where the logs and tags are, the last of each string.
  let logs = 0;
  let tags = 0;
  let category = -1;
  let categoryEnd = -1;
  let topic = -1;
  let topicEnd = -1;
  let source = -1;
  let sourceEnd = -1;
  let p = 0;
  while (p < end) {
    const tag = varint(b, p, end);
    if (at < 0) return -1;
    p = at;
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) return -1;
    if (field > 6) {
      p = skipField(b, p, end, wireType);
      if (p < 0) return -1;
      continue;
    }
    if (wireType !== 2) return -1;
    const len = varint(b, p, end);
    if (at < 0 || at + len > end) return -1;
    const s = at;
    p = at + len;
    switch (field) {
      case 1:
        if (logs >= logStarts.length) {
          logStarts = grown(logStarts, logs);
          logEnds = grown(logEnds, logs);
        }
        logStarts[logs] = s;
        logEnds[logs] = p;
        logs++;
        break;
      case 2:
        category = s;
        categoryEnd = p;
        break;
      case 3:
        topic = s;
        topicEnd = p;
        break;
      case 4:
        source = s;
        sourceEnd = p;
        break;
      case 5: // MachineUUID: not in the JSON
        break;
      default:
        if (tags >= tagStarts.length) {
          tagStarts = grown(tagStarts, tags);
          tagEnds = grown(tagEnds, tags);
        }
        tagStarts[tags] = s;
        tagEnds[tags] = p;
        tags++;
    }
  }

  // 2. What ends every log of the record, written once here and copied after each log's
  // contents: `},"tags":{…}[,"source":…][,"topic":…][,"category":…],"project":…,
  // "logstore":…}` and the terminator.
  writeBytes(PREFIX_TAGS);
  for (let i = 0; i < tags; i++) {
    if (!writePair(b, tagStarts[i]!, tagEnds[i]!, i)) return fail(recordStart);
  }
  writeByte(0x7d);
  if (source >= 0) {
    writeText(',"source":');
    writeValue(b, source, sourceEnd);
  }
  if (topic >= 0) {
    writeText(',"topic":');
    writeValue(b, topic, topicEnd);
  }
  if (category >= 0) {
    writeText(',"category":');
    writeValue(b, category, categoryEnd);
  }
  writeText(`,"project":${JSON.stringify(record.meta.project)},"logstore":${JSON.stringify(record.meta.logstore)}}`);
  if (terminator >= 0) writeByte(terminator);
  // (With no logs, writing it checked the tags, which the decoder requires whole.)
  if (logs === 0) return fail(recordStart) + 1;
  const suffix = Buffer.allocUnsafe(pos - recordStart);
  out.copy(suffix, 0, recordStart, pos);
  pos = recordStart;

  // 3. The logs.
  for (let l = 0; l < logs; l++) {
    const s = logStarts[l]!;
    const e = logEnds[l]!;
    // Time and Time_ns (which the wire puts after the contents) come first in the JSON: find
    // them, and where the contents start, before writing anything.
    let time = -1;
    let timeNs = -1;
    let q = s;
    while (q < e) {
      const tag = varint(b, q, e);
      if (at < 0) return fail(recordStart);
      q = at;
      if (tag === 0x08) {
        time = varint(b, q, e);
        if (at < 0) return fail(recordStart);
        q = at;
      } else if (tag === 0x25) {
        if (q + 4 > e) return fail(recordStart);
        timeNs = b.readUInt32LE(q);
        q += 4;
      } else {
        const field = tag >>> 3;
        const wireType = tag & 7;
        // Contents = 2 (length-delimited) are skipped here; a known field of another wire
        // type is not plain.
        if (field === 0 || field === 1 || field === 4 || (field === 2 && wireType !== 2)) return fail(recordStart);
        q = skipField(b, q, e, wireType);
        if (q < 0) return fail(recordStart);
      }
    }
    if (time < 0) return fail(recordStart); // Time is required: the decoder refuses the record

    if (separator >= 0 && !(first && l === 0)) writeByte(separator);
    writeBytes(PREFIX_TIME);
    timeDigits.write(time);
    if (timeNs >= 0) {
      writeBytes(PREFIX_TIME_NS);
      timeNsDigits.write(timeNs);
    }
    writeBytes(PREFIX_CONTENTS);
    let contents = 0;
    q = s;
    while (q < e) {
      const tag = varint(b, q, e); // read without a doubt above
      q = at;
      if (tag === 0x12) {
        const len = varint(b, q, e);
        const cs = at; // (writePair reads varints too)
        if (!writePair(b, cs, cs + len, contents++)) return fail(recordStart);
        q = cs + len;
      } else {
        q = tag === 0x08 ? skipField(b, q, e, 0) : skipField(b, q, e, tag & 7);
      }
    }
    writeBytes(suffix);
  }
  return logs;
}

function fail(recordStart: number): number {
  pos = recordStart;
  return -1;
}

/** One record the old way: decoded to objects (throws on a bad payload) and stringified. */
function writeSlow(record: DeliveryRecord, first: boolean, separator: number, terminator: number): number {
  const logs = recordToJsonLogs(record);
  for (let i = 0; i < logs.length; i++) {
    if (separator >= 0 && !(first && i === 0)) writeByte(separator);
    writeText(JSON.stringify(logs[i]));
    if (terminator >= 0) writeByte(terminator);
  }
  return logs.length;
}

/** Writes the body of {@link transcodeJsonBody} at `out` from `pos` 0. */
function writeBody(records: readonly DeliveryRecord[], encoding: 'json' | 'ndjson'): void {
  const json = encoding === 'json';
  const separator = json ? 0x2c : -1;
  const terminator = json ? -1 : 0x0a;
  if (json) writeByte(0x5b);
  let written = 0;
  for (const record of records) {
    let n = transcodeRecord(record, written === 0, separator, terminator);
    if (n < 0) n = writeSlow(record, written === 0, separator, terminator);
    written += n;
  }
  if (json) writeByte(0x5d);
}

/**
 * The uncompressed body of a `json` or `ndjson` request for `records`: exactly
 * `JSON.stringify(logs)`, or one `JSON.stringify(log)` line per log, each ending in `\n`, for
 * the logs of {@link recordToJsonLogs}. Throws `WALSHIP_INVALID_LOG_GROUP` on a payload that
 * does not decode. The body is the caller's.
 */
export function transcodeJsonBody(records: readonly DeliveryRecord[], encoding: 'json' | 'ndjson'): Buffer {
  useOut(scratch);
  pos = 0;
  try {
    writeBody(records, encoding);
    // A copy of its own size (allocUnsafe and copy: Buffer.from would zero-fill first).
    const body = Buffer.allocUnsafe(pos);
    out.copy(body, 0, 0, pos);
    return body;
  } finally {
    if (out.length <= KEEP_SCRATCH_BYTES) scratch = out;
    useOut(scratch);
    pos = 0;
  }
}

// ── Pooled bodies ─────────────────────────────────────────────────────────────────────

/**
 * Buffers of bodies the server has read whole, kept for the next bodies: a body is ~2 MB, and
 * a fresh one per request is external memory that makes V8 run full collections often (one
 * every ~20 MB of Buffers on the e2e bench). At most this many are kept (the HTTP sink's
 * default concurrency), each at most {@link KEEP_SCRATCH_BYTES}.
 */
const KEEP_BODIES = 4;
const freeBodies: Buffer[] = [];
/** Backing stores of pooled bodies handed out and not yet given back. */
const lentBodies = new WeakSet<ArrayBufferLike>();
/** The size a new pooled buffer starts at: the largest body seen and an eighth, so it rarely grows. */
let pooledBodyBytes = GROW_STEP_BYTES;

/**
 * {@link transcodeJsonBody} into a buffer of a small pool: the body is a view of it. Give it
 * back with {@link releaseJsonBody} once nothing reads it any more (the server answered 2xx,
 * so it read all of it); a body never given back is simply collected.
 */
export function transcodeJsonBodyPooled(records: readonly DeliveryRecord[], encoding: 'json' | 'ndjson'): Buffer {
  const start = freeBodies.pop() ?? Buffer.allocUnsafe(pooledBodyBytes);
  useOut(start);
  pos = 0;
  try {
    writeBody(records, encoding);
    const fit = roundUpToStep(pos + pos / 8);
    pooledBodyBytes = Math.min(Math.max(pooledBodyBytes, fit), KEEP_SCRATCH_BYTES);
    if (out !== start && out.length > fit) {
      // Grown while writing: up to half of it is spare. Moved once into a buffer of the
      // size later bodies start with, so the pool does not keep the spare.
      const body = Buffer.allocUnsafe(fit);
      out.copy(body, 0, 0, pos);
      useOut(body);
    }
    // Its own backing store (not a slice of Node's small-buffer pool), so it can come back.
    if (out.byteOffset !== 0 || out.buffer.byteLength !== out.length) {
      const body = Buffer.allocUnsafe(pos);
      out.copy(body, 0, 0, pos);
      return body;
    }
    lentBodies.add(out.buffer);
    return out.subarray(0, pos);
  } catch (err) {
    if (out.length <= KEEP_SCRATCH_BYTES && freeBodies.length < KEEP_BODIES) freeBodies.push(out);
    throw err;
  } finally {
    useOut(scratch);
    pos = 0;
  }
}

/** The sizes of the buffers the pool holds now (tests, diagnostics). */
export function pooledJsonBodySizes(): number[] {
  return freeBodies.map((b) => b.length);
}

/** Gives back a body of {@link transcodeJsonBodyPooled}; anything else, or a body given back twice, is ignored. */
export function releaseJsonBody(body: Buffer): void {
  const backing = body.buffer;
  if (!lentBodies.delete(backing)) return;
  if (backing.byteLength <= KEEP_SCRATCH_BYTES && freeBodies.length < KEEP_BODIES) freeBodies.push(Buffer.from(backing));
}
