/**
 * The WAL's counters, persisted in two halves so that appending never rewrites a key that
 * sorts away from the records it writes (W4, and the LevelDB trap of a hot metadata key):
 *
 * - the **tail mark**, written by every batch that appends, under a fresh key right after
 *   that batch's last record (`rec!<lastSeq>\x01`): nextSeq and the cumulative records and
 *   bytes ever appended. Never rewritten, so LevelDB's flushed tables of an append-only
 *   backlog do not overlap and move down the levels without being rewritten.
 * - the **settled mark** (`meta!settled`), written by every batch that acks, dead-letters,
 *   quarantines or purges: the ack floor, the cumulative records and bytes that left the
 *   pending log, and the dead-letter and quarantine counts.
 *
 * Both halves are cumulative, so the latest of each, whichever batch wrote it, combine into
 * exact counters: pending = appended − settled.
 */

export const COUNTERS_VERSION = 2;
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
  /** Records ever appended (cumulative; pending = appended − settled). */
  appendedRecords: number;
  appendedBytes: number;
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
    appendedRecords: 0,
    appendedBytes: 0,
  };
}

function writeU64s(values: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(1 + values.length * 8);
  out[0] = COUNTERS_VERSION;
  values.forEach((v, i) => {
    out.writeUInt32BE(Math.floor(v / TWO_32), 1 + i * 8);
    out.writeUInt32BE(v >>> 0, 5 + i * 8);
  });
  return out;
}

function readU64s(value: Uint8Array, count: number, version = COUNTERS_VERSION): number[] | undefined {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length !== 1 + count * 8 || buf[0] !== version) return undefined;
  return Array.from({ length: count }, (_, i) => buf.readUInt32BE(1 + i * 8) * TWO_32 + buf.readUInt32BE(5 + i * 8));
}

export interface TailMark {
  readonly nextSeq: number;
  readonly appendedRecords: number;
  readonly appendedBytes: number;
}

export interface SettledMark {
  readonly ackFloor: number;
  readonly settledRecords: number;
  readonly settledBytes: number;
  readonly deadLetterRecords: number;
  readonly deadLetterBytes: number;
  readonly quarantineRecords: number;
  readonly quarantineBytes: number;
}

export function encodeTail(c: Counters): Buffer {
  return writeU64s([c.nextSeq, c.appendedRecords, c.appendedBytes]);
}

export function decodeTail(value: Uint8Array): TailMark | undefined {
  const v = readU64s(value, 3);
  return v && { nextSeq: v[0] as number, appendedRecords: v[1] as number, appendedBytes: v[2] as number };
}

export function encodeSettled(c: Counters): Buffer {
  return writeU64s([
    c.ackFloor,
    c.appendedRecords - c.pendingRecords,
    c.appendedBytes - c.pendingBytes,
    c.deadLetterRecords,
    c.deadLetterBytes,
    c.quarantineRecords,
    c.quarantineBytes,
  ]);
}

export function decodeSettled(value: Uint8Array): SettledMark | undefined {
  const v = readU64s(value, 7);
  if (v === undefined) return undefined;
  const [ackFloor, settledRecords, settledBytes, deadLetterRecords, deadLetterBytes, quarantineRecords, quarantineBytes] =
    v as [number, number, number, number, number, number, number];
  return { ackFloor, settledRecords, settledBytes, deadLetterRecords, deadLetterBytes, quarantineRecords, quarantineBytes };
}

/** The counters the two marks describe; undefined if they contradict each other. */
export function combine(tail: TailMark, settled: SettledMark): Counters | undefined {
  const c: Counters = {
    nextSeq: tail.nextSeq,
    ackFloor: settled.ackFloor,
    pendingRecords: tail.appendedRecords - settled.settledRecords,
    pendingBytes: tail.appendedBytes - settled.settledBytes,
    deadLetterRecords: settled.deadLetterRecords,
    deadLetterBytes: settled.deadLetterBytes,
    quarantineRecords: settled.quarantineRecords,
    quarantineBytes: settled.quarantineBytes,
    appendedRecords: tail.appendedRecords,
    appendedBytes: tail.appendedBytes,
  };
  if (c.pendingRecords < 0 || c.pendingBytes < 0 || c.ackFloor > c.nextSeq) return undefined;
  return c;
}

/** True when a batch changed what the settled mark holds. */
export function settledChanged(before: Counters, after: Counters): boolean {
  return (
    before.ackFloor !== after.ackFloor ||
    before.appendedRecords - before.pendingRecords !== after.appendedRecords - after.pendingRecords ||
    before.appendedBytes - before.pendingBytes !== after.appendedBytes - after.pendingBytes ||
    before.deadLetterRecords !== after.deadLetterRecords ||
    before.deadLetterBytes !== after.deadLetterBytes ||
    before.quarantineRecords !== after.quarantineRecords ||
    before.quarantineBytes !== after.quarantineBytes
  );
}

/**
 * Format 1 kept all counters under `meta!counters`, rewritten by every batch: read once by
 * the migration to format 2.
 */
export function decodeCountersV1(value: Uint8Array): Counters | undefined {
  const v = readU64s(value, 8, 1);
  if (v === undefined) return undefined;
  const [nextSeq, ackFloor, pendingRecords, pendingBytes, dlr, dlb, qr, qb] = v as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    nextSeq,
    ackFloor,
    pendingRecords,
    pendingBytes,
    deadLetterRecords: dlr,
    deadLetterBytes: dlb,
    quarantineRecords: qr,
    quarantineBytes: qb,
    // The history before the migration is unknown: count what is pending as appended.
    appendedRecords: pendingRecords,
    appendedBytes: pendingBytes,
  };
}

export function heldBytes(c: Counters): number {
  return c.pendingBytes + c.deadLetterBytes + c.quarantineBytes;
}
