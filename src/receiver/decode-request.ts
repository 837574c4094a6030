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

/** Decodes a request body into logs, or throws a {@link RequestProblem}. */
export function decodeRequest(body: Buffer, facts: RequestFacts): ReceivedLog[] {
  const bytes = decompress(body, facts);
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
