/**
 * The harness's input: nginx-style access lines of a fixed length, each ending in
 * `seq=<10 digits>`, so that the receiver (and a quarantined WAL value) can be scanned for
 * sequence numbers without parsing anything else.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** Bytes of one input line, its newline included. */
export const LINE_BYTES = 200;
/** Digits of the sequence number after `seq=`. */
export const SEQ_DIGITS = 10;
const SEQ_TAG = Buffer.from('seq=');

/** One access line of exactly {@link LINE_BYTES} bytes with its newline. */
export function seqLine(seq: number): string {
  const ip = `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`;
  const head = `${ip} - - [22/Nov/2026:10:00:00 +0000] "GET /api/v1/items/${seq % 9973} HTTP/1.1" 200 ${512 + (seq % 4096)} "-" "walship-crashtest/1.0" rt=0.${String(seq % 1000).padStart(3, '0')} `;
  const tail = `seq=${String(seq).padStart(SEQ_DIGITS, '0')}\n`;
  return head.padEnd(LINE_BYTES - tail.length, '-') + tail;
}

/** Appends lines `from` … `from + count - 1` to `path` (created if missing). */
export function writeSeqInput(path: string, count: number, from = 1): void {
  if (count <= 0) return;
  const fd = openSync(path, 'a');
  try {
    const chunk = 4096;
    for (let start = from; start < from + count; start += chunk) {
      const n = Math.min(chunk, from + count - start);
      const buf = Buffer.allocUnsafe(n * LINE_BYTES);
      for (let i = 0; i < n; i++) buf.write(seqLine(start + i), i * LINE_BYTES, 'latin1');
      writeSync(fd, buf);
    }
  } finally {
    closeSync(fd);
  }
}

/** Every `seq=<10 digits>` in `bytes` (any encoding that keeps ASCII as is: protobuf, JSON). */
export function seqsIn(bytes: Uint8Array): number[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let at = buf.indexOf(SEQ_TAG); at >= 0; at = buf.indexOf(SEQ_TAG, at + SEQ_TAG.length)) {
    const start = at + SEQ_TAG.length;
    if (start + SEQ_DIGITS > buf.length) break;
    let seq = 0;
    let i = start;
    for (; i < start + SEQ_DIGITS; i++) {
      const d = (buf[i] as number) - 0x30;
      if (d < 0 || d > 9) break;
      seq = seq * 10 + d;
    }
    if (i === start + SEQ_DIGITS) out.push(seq);
  }
  return out;
}
