/**
 * The record envelope: the value stored under `rec!<seq>` (and, wrapped, under `dlq!` and
 * `quar!`). Frozen format, version 1; see ./index.ts for the byte layout.
 */
import { crc32c } from '@node-rs/crc32';
import { holdGroupBuffer, takeHeadroom } from '../model/headroom.ts';

export const ENVELOPE_VERSION = 1;
const HEADER_BYTES = 22; // version(1) crc(4) flags(1) enqueuedAt(8) logstoreKey(8)
const FLAG_EXPLICIT_KEY = 1;
const TWO_32 = 2 ** 32;

/** Where a record came from and where it goes: kept beside its LogGroup bytes. */
export interface RecordMeta {
  readonly project: string;
  readonly logstore: string;
  readonly configName: string;
  /** iLogtail's logstoreKey (an int64); records with the same key keep their order. */
  readonly logstoreKey: bigint;
  /** Milliseconds since the epoch when the record was appended. */
  readonly enqueuedAt: number;
  /**
   * Set only when the record keeps an idempotency key from an earlier life (a replayed
   * dead letter); otherwise the key is `<walId>-<seq>`.
   */
  readonly idempotencyKey?: string | undefined;
}

export interface DecodedEnvelope {
  readonly meta: RecordMeta;
  readonly payload: Uint8Array;
}

export type EnvelopeProblem =
  | { readonly kind: 'truncated'; readonly message: string }
  | { readonly kind: 'version'; readonly message: string }
  | { readonly kind: 'crc'; readonly message: string };

function strBytes(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/**
 * Bytes of an envelope in front of its payload for these strings (the headroom an input
 * leaves so that {@link encodeEnvelope} need not copy the payload).
 */
export function envelopePrefixBytes(project: string, logstore: string, configName: string): number {
  return HEADER_BYTES + 6 + Buffer.byteLength(project, 'utf8') + Buffer.byteLength(logstore, 'utf8') + Buffer.byteLength(configName, 'utf8');
}

/** Bytes of the envelope {@link encodeEnvelope} makes for `meta` and a payload of `payloadBytes`. */
export function envelopeBytes(meta: RecordMeta, payloadBytes: number): number {
  const key = meta.idempotencyKey === undefined ? 0 : 2 + Buffer.byteLength(meta.idempotencyKey, 'utf8');
  return envelopePrefixBytes(meta.project, meta.logstore, meta.configName) + key + payloadBytes;
}

/**
 * The envelope of `payload`: a new buffer, or, when the payload came with room in front of
 * it (../model/headroom.ts) enough for the header, the header written there and the payload
 * left where it is.
 */
export function encodeEnvelope(meta: RecordMeta, payload: Uint8Array): Buffer {
  const project = strBytes(meta.project);
  const logstore = strBytes(meta.logstore);
  const configName = strBytes(meta.configName);
  const key = meta.idempotencyKey === undefined ? undefined : strBytes(meta.idempotencyKey);
  for (const [name, b] of [
    ['project', project],
    ['logstore', logstore],
    ['configName', configName],
    ['idempotencyKey', key],
  ] as const) {
    if (b !== undefined && b.length > 0xffff) {
      throw new TypeError(`${name}: expected at most 65535 UTF-8 bytes, got ${b.length}`);
    }
  }
  const size =
    HEADER_BYTES +
    6 +
    project.length +
    logstore.length +
    configName.length +
    (key === undefined ? 0 : 2 + key.length) +
    payload.byteLength;
  const prefix = size - payload.byteLength;
  const room = takeHeadroom(payload);
  const inPlace = room >= prefix;
  const out = inPlace ? Buffer.from(payload.buffer, payload.byteOffset - prefix, size) : Buffer.allocUnsafe(size);
  out[0] = ENVELOPE_VERSION;
  out[5] = key === undefined ? 0 : FLAG_EXPLICIT_KEY;
  out.writeUInt32BE(Math.floor(meta.enqueuedAt / TWO_32), 6);
  out.writeUInt32BE(meta.enqueuedAt >>> 0, 10);
  out.writeBigInt64BE(BigInt.asIntN(64, meta.logstoreKey), 14);
  let at = HEADER_BYTES;
  for (const b of key === undefined ? [project, logstore, configName] : [project, logstore, configName, key]) {
    out.writeUInt16BE(b.length, at);
    b.copy(out, at + 2);
    at += 2 + b.length;
  }
  if (inPlace) holdGroupBuffer(out); // the record holds the group buffer until it is acknowledged
  else out.set(payload, at);
  // The checksum covers everything after itself: flags, metadata and payload.
  out.writeUInt32BE(crc32c(out.subarray(5)), 1);
  return out;
}

/** Decodes and checks an envelope; returns a problem instead of throwing for bad bytes. */
export function decodeEnvelope(value: Uint8Array): DecodedEnvelope | EnvelopeProblem {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length < HEADER_BYTES + 6) {
    return { kind: 'truncated', message: `envelope of ${buf.length} bytes is shorter than its header` };
  }
  if (buf[0] !== ENVELOPE_VERSION) {
    return { kind: 'version', message: `envelope format version ${buf[0]} is not supported (expected ${ENVELOPE_VERSION})` };
  }
  const stored = buf.readUInt32BE(1);
  const actual = crc32c(buf.subarray(5));
  if (stored !== actual) {
    return { kind: 'crc', message: `CRC32C mismatch: stored ${hex(stored)}, computed ${hex(actual)}` };
  }
  const flags = buf[5] as number;
  const enqueuedAt = buf.readUInt32BE(6) * TWO_32 + buf.readUInt32BE(10);
  const logstoreKey = buf.readBigInt64BE(14);
  let at = HEADER_BYTES;
  const strings: string[] = [];
  const count = flags & FLAG_EXPLICIT_KEY ? 4 : 3;
  for (let i = 0; i < count; i++) {
    if (at + 2 > buf.length) return { kind: 'truncated', message: 'envelope metadata runs past its end' };
    const len = buf.readUInt16BE(at);
    if (at + 2 + len > buf.length) return { kind: 'truncated', message: 'envelope metadata runs past its end' };
    strings.push(buf.toString('utf8', at + 2, at + 2 + len));
    at += 2 + len;
  }
  const [project, logstore, configName, idempotencyKey] = strings as [string, string, string, string | undefined];
  return {
    meta: { project, logstore, configName, logstoreKey, enqueuedAt, idempotencyKey },
    payload: buf.subarray(at),
  };
}

export function isEnvelopeProblem(d: DecodedEnvelope | EnvelopeProblem): d is EnvelopeProblem {
  return 'kind' in d;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

// ── Dead-letter and quarantine wrapping ────────────────────────────────────────────────
// A moved record keeps its original bytes untouched (so a dead letter's CRC still checks),
// prefixed by why and when it was moved.

export const SIDELINE_VERSION = 1;

export interface Sidelined {
  readonly reason: string;
  readonly movedAt: number;
  /** The idempotency key the record was delivered with, kept for a replay. */
  readonly idempotencyKey: string | undefined;
  readonly original: Uint8Array;
}

// version(1) movedAt(8) reasonLen(2) reason keyLen(2, 0 = none) key original
export function encodeSidelined(
  reason: string,
  movedAt: number,
  idempotencyKey: string | undefined,
  original: Uint8Array,
): Buffer {
  const r = Buffer.from(reason.length > 4000 ? `${reason.slice(0, 4000)}…` : reason, 'utf8');
  const k = Buffer.from(idempotencyKey ?? '', 'utf8');
  const out = Buffer.allocUnsafe(13 + r.length + k.length + original.byteLength);
  out[0] = SIDELINE_VERSION;
  out.writeUInt32BE(Math.floor(movedAt / TWO_32), 1);
  out.writeUInt32BE(movedAt >>> 0, 5);
  out.writeUInt16BE(r.length, 9);
  r.copy(out, 11);
  out.writeUInt16BE(k.length, 11 + r.length);
  k.copy(out, 13 + r.length);
  out.set(original, 13 + r.length + k.length);
  return out;
}

export function decodeSidelined(value: Uint8Array): Sidelined | undefined {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length < 13 || buf[0] !== SIDELINE_VERSION) return undefined;
  const movedAt = buf.readUInt32BE(1) * TWO_32 + buf.readUInt32BE(5);
  const rlen = buf.readUInt16BE(9);
  if (13 + rlen > buf.length) return undefined;
  const klen = buf.readUInt16BE(11 + rlen);
  if (13 + rlen + klen > buf.length) return undefined;
  return {
    reason: buf.toString('utf8', 11, 11 + rlen),
    movedAt,
    idempotencyKey: klen === 0 ? undefined : buf.toString('utf8', 13 + rlen, 13 + rlen + klen),
    original: buf.subarray(13 + rlen + klen),
  };
}
