/**
 * Shared by the HTTP sink and receiver tests: delivery records built from LogGroups, a
 * self-signed certificate made with openssl, and an independent raw LZ4 block decoder.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeliveryBatch, DeliveryRecord } from '../../../src/delivery/protocol-client.ts';
import { encodeLogGroup, type LogGroup } from '../../../src/model/index.ts';
import type { RecordMeta } from '../../../src/wal/index.ts';

export const WAL_ID = 'w0a1b2c3';

/** A group of `n` logs whose contents name `label` and the log's index (`n` = `"<label>.<i>"`). */
export function sampleGroup(label: string, n = 2, extra: Partial<LogGroup> = {}): LogGroup {
  const logs = [];
  for (let i = 0; i < n; i++) {
    logs.push({
      time: 1_700_000_000 + i,
      contents: [
        { key: 'msg', value: `hello ${label} ${i} ${'x'.repeat(40)}` },
        { key: 'n', value: `${label}.${i}` },
      ],
      ...(i % 2 === 0 ? { timeNs: 123_456_789 + i } : {}),
    });
  }
  return {
    logs,
    source: '10.0.0.7',
    topic: 'app',
    category: 'cat',
    logTags: [
      { key: '__pack_id__', value: `ABCD-${label}` },
      { key: 'host', value: 'web-1' },
    ],
    ...extra,
  };
}

export function makeRecord(seq: number, group: LogGroup, meta: Partial<RecordMeta> = {}): DeliveryRecord {
  const payload = Buffer.from(encodeLogGroup(group));
  return {
    seq,
    idempotencyKey: `${WAL_ID}-${seq}`,
    meta: { project: 'proj', logstore: 'store', configName: 'cfg', logstoreKey: 0n, enqueuedAt: 1_700_000_000_000, ...meta },
    payload,
    bytes: payload.length,
  };
}

/** Records `first..first+count-1`, each a group labelled `r<seq>`. */
export function makeRecords(first: number, count: number, logsPerRecord = 2, meta: Partial<RecordMeta> = {}): DeliveryRecord[] {
  const out: DeliveryRecord[] = [];
  for (let seq = first; seq < first + count; seq++) out.push(makeRecord(seq, sampleGroup(`r${seq}`, logsPerRecord), meta));
  return out;
}

/** A batch with the key delivery gives it (ARCHITECTURE "Decisions"). */
export function makeBatch(records: readonly DeliveryRecord[]): DeliveryBatch {
  const first = records[0]!;
  const last = records[records.length - 1]!;
  return { key: records.length === 1 ? first.idempotencyKey : `${WAL_ID}-${first.seq}-${last.seq}`, records };
}

/** `label.i` identities of the logs of `records`, in order. */
export function expectedIds(records: readonly DeliveryRecord[], logsPerRecord = 2): string[] {
  return records.flatMap((r) => Array.from({ length: logsPerRecord }, (_, i) => `r${r.seq}.${i}`));
}

export interface SelfSigned {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed certificate for 127.0.0.1 (CN and IP SAN), made by openssl in `dir`. */
export function selfSignedCert(dir: string): SelfSigned {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-days', '2', '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A raw LZ4 block decoder written from the format description (lz4_Block_format.md), sharing
 * nothing with lz4-napi: tokens of literal and match lengths, 15 = "more bytes follow",
 * little-endian 2-byte offsets, minimum match 4.
 */
export function referenceLz4BlockDecode(block: Uint8Array, rawSize: number): Buffer {
  const out = Buffer.alloc(rawSize);
  let ip = 0;
  let op = 0;
  const readLength = (base: number): number => {
    let len = base;
    if (base === 15) {
      let b: number;
      do {
        b = block[ip++]!;
        len += b;
      } while (b === 255);
    }
    return len;
  };
  while (ip < block.length) {
    const token = block[ip++]!;
    const literals = readLength(token >> 4);
    out.set(block.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip >= block.length) break; // the last sequence has literals only
    const offset = block[ip]! | (block[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new RangeError(`bad match offset ${offset} at output ${op}`);
    const matchLength = readLength(token & 15) + 4;
    for (let i = 0; i < matchLength; i++, op++) out[op] = out[op - offset]!;
  }
  if (op !== rawSize) throw new RangeError(`decoded ${op} bytes, expected ${rawSize}`);
  return out;
}
