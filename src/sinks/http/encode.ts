/**
 * Request bodies of the three encodings. Nothing here touches the network.
 *
 * - `sls`: the LogGroup protobuf exactly as stored in the WAL (no re-encoding), compressed
 *   per `x-log-compresstype`; `x-log-bodyrawsize` is the protobuf's length.
 * - `json`: a JSON array of {@link JsonLog}, one element per log of every record of the batch.
 * - `ndjson`: the same objects, one per line, each line ending in `\n`.
 */
import { promisify } from 'node:util';
import { deflate, gzip } from 'node:zlib';
import type { DeliveryRecord } from '../../delivery/protocol-client.ts';
import { decodeLogGroup } from '../../model/index.ts';
import type { HttpEncoding, SlsCompression } from './http-sink-options.ts';
import { transcodeJsonBody } from './json-transcode.ts';
import { lz4BlockCompress } from './lz4-block.ts';

const deflateAsync = promisify(deflate);
const gzipAsync = promisify(gzip);

/**
 * One log in the `json` and `ndjson` encodings. `contents` and `tags` are objects: when a key
 * repeats within a log (the LogGroup model allows it), the last value wins.
 */
export interface JsonLog {
  /** Seconds since the Unix epoch. */
  readonly time: number;
  /** Nanoseconds within `time`, when the log has them. */
  readonly timeNs?: number;
  readonly contents: Readonly<Record<string, string>>;
  /** The LogGroup's tags (e.g. `__pack_id__`). */
  readonly tags: Readonly<Record<string, string>>;
  readonly source?: string;
  readonly topic?: string;
  readonly category?: string;
  readonly project: string;
  readonly logstore: string;
}

export const CONTENT_TYPES: Readonly<Record<HttpEncoding, string>> = {
  sls: 'application/x-protobuf',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
};

/** The logs of one record as {@link JsonLog}s. Throws `WALSHIP_INVALID_LOG_GROUP` on a payload that does not decode. */
export function recordToJsonLogs(record: DeliveryRecord): JsonLog[] {
  const group = decodeLogGroup(record.payload);
  // fromEntries defines own properties, so a key like `__proto__` stays a plain key.
  const tags = Object.fromEntries(group.logTags.map((t) => [t.key, t.value]));
  const out: JsonLog[] = [];
  for (const log of group.logs) {
    const item: Record<string, unknown> = { time: log.time };
    if (log.timeNs !== undefined) item.timeNs = log.timeNs;
    item.contents = Object.fromEntries(log.contents.map((c) => [c.key, c.value]));
    item.tags = tags;
    if (group.source !== undefined) item.source = group.source;
    if (group.topic !== undefined) item.topic = group.topic;
    if (group.category !== undefined) item.category = group.category;
    item.project = record.meta.project;
    item.logstore = record.meta.logstore;
    out.push(item as unknown as JsonLog);
  }
  return out;
}

/**
 * The uncompressed body of a `json` or `ndjson` request for `records`: `JSON.stringify` of
 * the {@link recordToJsonLogs} objects of every record, as one array (`json`) or one line per
 * log, each ending in `\n` (`ndjson`). Written straight from the protobuf bytes, without the
 * objects (./json-transcode.ts); {@link encodeJsonBodyFromObjects} is the reference it
 * matches byte for byte.
 */
export function encodeJsonBody(records: readonly DeliveryRecord[], encoding: 'json' | 'ndjson'): Buffer {
  return transcodeJsonBody(records, encoding);
}

/** {@link encodeJsonBody} through the objects: decode, build, stringify (the reference). */
export function encodeJsonBodyFromObjects(records: readonly DeliveryRecord[], encoding: 'json' | 'ndjson'): Buffer {
  const logs: JsonLog[] = [];
  for (const r of records) for (const l of recordToJsonLogs(r)) logs.push(l);
  if (encoding === 'json') return Buffer.from(JSON.stringify(logs), 'utf8');
  let text = '';
  for (const l of logs) text += `${JSON.stringify(l)}\n`;
  return Buffer.from(text, 'utf8');
}

export function gzipBody(body: Buffer): Promise<Buffer> {
  return gzipAsync(body);
}

/** The body of an `sls` request for one record's LogGroup bytes. */
export async function encodeSlsBody(payload: Buffer, compression: SlsCompression): Promise<Buffer> {
  switch (compression) {
    case 'lz4':
      return lz4BlockCompress(payload);
    case 'deflate':
      // SLS's `deflate` is zlib's format (RFC 1950: header, deflate stream, Adler-32).
      return deflateAsync(payload);
    case 'none':
      return payload;
  }
}
