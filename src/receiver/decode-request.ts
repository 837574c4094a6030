/**
 * Request bodies to {@link ReceivedLog}s: undo `Content-Encoding: gzip`, then SLS's
 * `x-log-compresstype` (raw LZ4 block or zlib deflate, checked against `x-log-bodyrawsize`),
 * then decode the LogGroup protobuf, the JSON array or the NDJSON lines. Every failure is a
 * {@link RequestProblem} carrying the status to answer with.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { decodeLogGroup } from '../model/index.ts';
import { lz4BlockDecompress } from '../sinks/http/lz4-block.ts';
import type { ReceivedEncoding, ReceivedLog } from './received-log.ts';

export class RequestProblem extends Error {
  readonly status: number;
  readonly errorCode: string;
  constructor(status: number, errorCode: string, message: string) {
    super(message);
    this.name = 'RequestProblem';
    this.status = status;
    this.errorCode = errorCode;
  }
}

export interface RequestFacts {
  readonly encoding: ReceivedEncoding;
  /** SLS: the logstore from the path. */
  readonly logstore?: string;
  readonly contentEncoding: string | undefined;
  readonly compressType: string | undefined;
  readonly rawSize: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly maxBodyBytes: number;
}

/** `application/json; charset=utf-8` → `application/json`. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The encoding of a request to a non-SLS path, from its Content-Type. */
export function encodingOf(contentType: string | undefined): ReceivedEncoding | undefined {
  switch (mediaType(contentType)) {
    case 'application/json':
      return 'json';
    case 'application/x-ndjson':
    case 'application/jsonl':
    case 'application/jsonlines':
      return 'ndjson';
    default:
      return undefined;
  }
}

function tooLarge(what: string, max: number, size?: number): RequestProblem {
  const found = size === undefined ? '' : ` (${size} bytes)`;
  return new RequestProblem(413, 'PostBodyTooLarge', `${what}${found} is larger than the receiver's limit of ${max} bytes`);
}

function isTooLarge(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

function decompress(body: Buffer, facts: RequestFacts): Buffer {
  let out = body;
  const ce = (facts.contentEncoding ?? 'identity').trim().toLowerCase();
  if (ce === 'gzip') {
    try {
      out = gunzipSync(out, { maxOutputLength: facts.maxBodyBytes });
    } catch (err) {
      if (isTooLarge(err)) throw tooLarge('the gunzipped body', facts.maxBodyBytes);
      throw new RequestProblem(400, 'InvalidContentEncoding', `body is not valid gzip: ${(err as Error).message}`);
    }
  } else if (ce !== 'identity' && ce !== '') {
    throw new RequestProblem(415, 'UnsupportedContentEncoding', `Content-Encoding ${JSON.stringify(ce)} is not supported`);
  }
  if (facts.encoding !== 'sls') return out;

  const type = (facts.compressType ?? '').trim().toLowerCase();
  let rawSize: number | undefined;
  if (facts.rawSize !== undefined) {
    if (!/^\d+$/.test(facts.rawSize.trim())) {
      throw new RequestProblem(400, 'InvalidBodyRawSize', `x-log-bodyrawsize ${JSON.stringify(facts.rawSize)} is not a byte count`);
    }
    rawSize = Number(facts.rawSize.trim());
    if (rawSize > facts.maxBodyBytes) throw tooLarge('x-log-bodyrawsize', facts.maxBodyBytes, rawSize);
  }
  if (type === 'lz4') {
    if (rawSize === undefined) throw new RequestProblem(400, 'InvalidBodyRawSize', 'x-log-bodyrawsize is required with lz4');
    try {
      out = lz4BlockDecompress(out, rawSize);
    } catch (err) {
      throw new RequestProblem(400, 'InvalidCompressType', `body is not an LZ4 block of ${rawSize} bytes: ${(err as Error).message}`);
    }
  } else if (type === 'deflate') {
    try {
      out = inflateSync(out, { maxOutputLength: facts.maxBodyBytes });
    } catch (err) {
      if (isTooLarge(err)) throw tooLarge('the inflated body', facts.maxBodyBytes);
      throw new RequestProblem(400, 'InvalidCompressType', `body is not zlib deflate: ${(err as Error).message}`);
    }
  } else if (type !== '' && type !== 'none') {
    throw new RequestProblem(400, 'InvalidCompressType', `x-log-compresstype ${JSON.stringify(type)} is not supported`);
  }
  if (rawSize !== undefined && out.length !== rawSize) {
    throw new RequestProblem(
      400,
      'InvalidBodyRawSize',
      `x-log-bodyrawsize says ${rawSize} bytes, the ${type || 'uncompressed'} body holds ${out.length}`,
    );
  }
  return out;
}

function slsLogs(bytes: Buffer, facts: RequestFacts): ReceivedLog[] {
  let group;
  try {
    group = decodeLogGroup(bytes);
  } catch (err) {
    throw new RequestProblem(400, 'PostBodyInvalid', `body is not an sls_logs.LogGroup: ${(err as Error).message}`);
  }
  const tags = Object.fromEntries(group.logTags.map((t) => [t.key, t.value]));
  return group.logs.map((log) => {
    const out: Record<string, unknown> = { time: log.time };
    if (log.timeNs !== undefined) out.timeNs = log.timeNs;
    out.contents = Object.fromEntries(log.contents.map((c) => [c.key, c.value]));
    out.tags = { ...tags };
    if (group.source !== undefined) out.source = group.source;
    if (group.topic !== undefined) out.topic = group.topic;
    if (group.category !== undefined) out.category = group.category;
    if (group.machineUUID !== undefined) out.machineUUID = group.machineUUID;
    out.logstore = facts.logstore ?? '';
    if (facts.idempotencyKey !== undefined) out.idempotencyKey = facts.idempotencyKey;
    out.encoding = 'sls';
    return out as unknown as ReceivedLog;
  });
}

function isUint32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function stringRecord(v: unknown, where: string): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new RequestProblem(400, 'PostBodyInvalid', `${where}: expected an object of strings`);
  }
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') {
      throw new RequestProblem(400, 'PostBodyInvalid', `${where}.${k}: expected a string, got ${typeof value}`);
    }
  }
  // JSON.parse made these own data properties; copy them the same way.
  return Object.fromEntries(Object.entries(v as Record<string, string>));
}

function jsonLog(item: unknown, where: string, facts: RequestFacts): ReceivedLog {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new RequestProblem(400, 'PostBodyInvalid', `${where}: expected an object`);
  }
  const o = item as Record<string, unknown>;
  if (!isUint32(o.time)) throw new RequestProblem(400, 'PostBodyInvalid', `${where}.time: expected a uint32`);
  const out: Record<string, unknown> = { time: o.time };
  if (o.timeNs !== undefined) {
    if (!isUint32(o.timeNs)) throw new RequestProblem(400, 'PostBodyInvalid', `${where}.timeNs: expected a uint32`);
    out.timeNs = o.timeNs;
  }
  out.contents = stringRecord(o.contents, `${where}.contents`);
  out.tags = o.tags === undefined ? {} : stringRecord(o.tags, `${where}.tags`);
  for (const field of ['source', 'topic', 'category', 'project'] as const) {
    if (o[field] === undefined) continue;
    if (typeof o[field] !== 'string') throw new RequestProblem(400, 'PostBodyInvalid', `${where}.${field}: expected a string`);
    out[field] = o[field];
  }
  if (o.logstore !== undefined && typeof o.logstore !== 'string') {
    throw new RequestProblem(400, 'PostBodyInvalid', `${where}.logstore: expected a string`);
  }
  out.logstore = o.logstore ?? '';
  if (facts.idempotencyKey !== undefined) out.idempotencyKey = facts.idempotencyKey;
  out.encoding = facts.encoding;
  return out as unknown as ReceivedLog;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RequestProblem(400, 'PostBodyInvalid', `${where}: not JSON: ${(err as Error).message}`);
  }
}

const POW2 = [1, 2 ** 7, 2 ** 14, 2 ** 21, 2 ** 28];

/**
 * The logs of an `sls_logs.LogGroup` counted from its top-level fields, without decoding them:
 * the number of `Logs` (field 1) entries. Undefined when the framing is not exactly what
 * the full decoder reads without a doubt (a known field with another wire type, a length
 * past the end, a field number 0, a group): the caller then decodes it fully, which counts
 * or refuses it. Each log's own fields are not looked at.
 */
export function countSlsLogs(b: Uint8Array): number | undefined {
  const end = b.length;
  let p = 0;
  let n = 0;
  while (p < end) {
    // The common case first: a log (tag 0x0a) of fewer than 2^21 bytes.
    if (b[p] === 0x0a && p + 4 <= end) {
      const c0 = b[p + 1]!;
      let len = -1;
      let q = p;
      if (c0 < 0x80) {
        len = c0;
        q = p + 2;
      } else {
        const c1 = b[p + 2]!;
        if (c1 < 0x80) {
          len = (c0 & 0x7f) | (c1 << 7);
          q = p + 3;
        } else {
          const c2 = b[p + 3]!;
          if (c2 < 0x80) {
            len = (c0 & 0x7f) | ((c1 & 0x7f) << 7) | (c2 << 14);
            q = p + 4;
          }
        }
      }
      if (len >= 0) {
        p = q + len;
        if (p > end) return undefined;
        n++;
        continue;
      }
    }
    // The tag: a varint; field numbers of a LogGroup fit in one or two bytes, but any is read.
    let tag = 0;
    let shift = 0;
    for (;;) {
      if (p >= end || shift > 28) return undefined;
      const byte = b[p++]!;
      tag += (byte & 0x7f) * POW2[shift / 7]!;
      if (byte < 0x80) break;
      shift += 7;
    }
    // The full decoder reads tags and lengths as uint32: past that, leave it to it.
    if (tag > 0xffffffff) return undefined;
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 0) return undefined;
    // Known fields (1 Logs, 2..5 strings, 6 LogTags) are all length-delimited.
    if (field <= 6 && wireType !== 2) return undefined;
    switch (wireType) {
      case 0: {
        let i = 0;
        while (p < end && b[p]! >= 0x80 && i < 9) {
          p++;
          i++;
        }
        if (p >= end || b[p]! >= 0x80) return undefined;
        p++;
        break;
      }
      case 1:
        p += 8;
        break;
      case 2: {
        let len = 0;
        let s = 0;
        for (;;) {
          if (p >= end || s > 28) return undefined;
          const byte = b[p++]!;
          len += (byte & 0x7f) * POW2[s / 7]!;
          if (byte < 0x80) break;
          s += 7;
        }
        if (len > 0xffffffff) return undefined;
        p += len;
        if (field === 1) n++;
        break;
      }
      case 5:
        p += 4;
        break;
      default:
        return undefined;
    }
    if (p > end) return undefined;
  }
  return n;
}

const LF = 0x0a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** ASCII whitespace that `String.prototype.trim` removes (the non-ASCII ones send a body to the full path). */
function isAsciiSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c;
}

/**
 * The non-blank NDJSON lines of `b` that look like one object each (`{` … `}` once ASCII
 * whitespace is trimmed), without parsing them. Undefined when a non-blank line looks like
 * anything else: the caller then decodes the body fully, which refuses it or counts it.
 */
export function countNdjsonLines(b: Buffer): number | undefined {
  const end = b.length;
  let n = 0;
  let p = 0;
  while (p < end) {
    let q = b.indexOf(LF, p);
    if (q < 0) q = end;
    if (q > p) {
      if (b[p] === OPEN_BRACE && b[q - 1] === CLOSE_BRACE) n++;
      else {
        let s = p;
        let e = q;
        while (s < e && isAsciiSpace(b[s]!)) s++;
        while (e > s && isAsciiSpace(b[e - 1]!)) e--;
        if (s < e) {
          if (b[s] !== OPEN_BRACE || b[e - 1] !== CLOSE_BRACE || e - s < 2) return undefined;
          n++;
        }
      }
    }
    p = q + 1;
  }
  return n;
}

/**
 * The number of logs in a request body, without building them when that is safe: the
 * receiver's fast path when it keeps no logs, writes no `out` file and has no `rejectWhen`.
 *
 * - `sls`: decompressed and checked exactly as {@link decodeRequest} does, then the `Logs`
 *   entries of the LogGroup are counted from its top-level framing ({@link countSlsLogs});
 * - `ndjson`: lines that hold one object each are counted ({@link countNdjsonLines});
 * - `json`: parsed, and each element checked as on the full path without being copied.
 *
 * Anything else (a framing the counters are not sure of, a JSON value that is not an array
 * of objects) goes through {@link decodeRequest}, so it is refused (or counted) exactly as on
 * the full path. What the fast path does not do is check each log's own fields (a missing
 * `Time`, a `contents` that is not an object of strings): a body that frames as logs counts.
 */
export function countRequest(body: Buffer, facts: RequestFacts): number {
  const bytes = decompress(body, facts);
  let n: number | undefined;
  if (facts.encoding === 'sls') n = countSlsLogs(bytes);
  else if (facts.encoding === 'ndjson') n = countNdjsonLines(bytes);
  else n = countJsonArray(bytes);
  return n ?? decodeBytes(bytes, facts).length;
}

/** Parsed, and each element checked as {@link jsonLog} checks it, without building a copy. */
function countJsonArray(bytes: Buffer): number | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  for (const item of parsed) if (!isValidJsonLog(item)) return undefined;
  return parsed.length;
}

function isStringRecord(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  for (const k in v) {
    if (hasOwn.call(v, k) && typeof (v as Record<string, unknown>)[k] !== 'string') return false;
  }
  return true;
}

/** True when {@link jsonLog} accepts `item` (same checks, nothing built). */
function isValidJsonLog(item: unknown): boolean {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return false;
  const o = item as Record<string, unknown>;
  if (!isUint32(o.time)) return false;
  if (o.timeNs !== undefined && !isUint32(o.timeNs)) return false;
  if (!isStringRecord(o.contents)) return false;
  if (o.tags !== undefined && !isStringRecord(o.tags)) return false;
  for (const field of ['source', 'topic', 'category', 'project', 'logstore'] as const) {
    if (o[field] !== undefined && typeof o[field] !== 'string') return false;
  }
  return true;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Decodes a request body into logs, or throws a {@link RequestProblem}. */
export function decodeRequest(body: Buffer, facts: RequestFacts): ReceivedLog[] {
  return decodeBytes(decompress(body, facts), facts);
}

/** {@link decodeRequest} after the decompression. */
function decodeBytes(bytes: Buffer, facts: RequestFacts): ReceivedLog[] {
  if (facts.encoding === 'sls') return slsLogs(bytes, facts);
  const text = bytes.toString('utf8');
  if (facts.encoding === 'json') {
    const parsed = parseJson(text, 'body');
    const items = Array.isArray(parsed) ? parsed : [parsed];
    return items.map((item, i) => jsonLog(item, `[${i}]`, facts));
  }
  const logs: ReceivedLog[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    logs.push(jsonLog(parseJson(line, `line ${i + 1}`), `line ${i + 1}`, facts));
  }
  return logs;
}
