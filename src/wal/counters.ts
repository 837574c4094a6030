/**
 * The counters stored under `meta!counters`, written in the same LevelDB batch as every
 * change they count (W4), so that opening reads them instead of scanning.
 */

export const COUNTERS_VERSION = 1;
const FIELDS = [
  'nextSeq',
  'ackFloor',
  'pendingRecords',
  'pendingBytes',
  'deadLetterRecords',
  'deadLetterBytes',
  'quarantineRecords',
  'quarantineBytes',
] as const;
const SIZE = 1 + FIELDS.length * 8;
const TWO_32 = 2 ** 32;

export interface Counters {
  /** The sequence number the next appended record gets. */
  nextSeq: number;
  /** Every record below this sequence number is acknowledged, dead-lettered or quarantined. */
  ackFloor: number;
  pendingRecords: number;
  /** Logical bytes (key + value) of the pending records. */
  pendingBytes: number;
  deadLetterRecords: number;
  deadLetterBytes: number;
  quarantineRecords: number;
  quarantineBytes: number;
}

export function emptyCounters(): Counters {
  return {
    nextSeq: 1,
    ackFloor: 1,
    pendingRecords: 0,
    pendingBytes: 0,
    deadLetterRecords: 0,
    deadLetterBytes: 0,
    quarantineRecords: 0,
    quarantineBytes: 0,
  };
}

export function encodeCounters(c: Counters): Buffer {
  const out = Buffer.allocUnsafe(SIZE);
  out[0] = COUNTERS_VERSION;
  FIELDS.forEach((f, i) => {
    const v = c[f];
    out.writeUInt32BE(Math.floor(v / TWO_32), 1 + i * 8);
    out.writeUInt32BE(v >>> 0, 5 + i * 8);
  });
  return out;
}

export function decodeCounters(value: Uint8Array): Counters | undefined {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length !== SIZE || buf[0] !== COUNTERS_VERSION) return undefined;
  const c = emptyCounters();
  FIELDS.forEach((f, i) => {
    c[f] = buf.readUInt32BE(1 + i * 8) * TWO_32 + buf.readUInt32BE(5 + i * 8);
  });
  return c;
}

export function heldBytes(c: Counters): number {
  return c.pendingBytes + c.deadLetterBytes + c.quarantineBytes;
}
