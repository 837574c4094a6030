/**
 * Reading and writing the WAL's metadata: the format version, the walId and the two counter
 * marks (see ./counters.ts); the format 1 → 2 migration; and the one full scan that rebuilds
 * the counters after a repair or when they cannot be trusted.
 */
import { ErrorCodes, WalshipError } from '../errors.ts';
import {
  combine,
  type Counters,
  decodeCountersV1,
  decodeSettled,
  decodeTail,
  emptyCounters,
  encodeSettled,
  encodeTail,
} from './counters.ts';
import {
  isTailKey,
  META_COUNTERS_V1,
  META_FORMAT,
  META_SETTLED,
  META_WAL_ID,
  PREFIX_DEAD_LETTER,
  PREFIX_QUARANTINE,
  PREFIX_RECORD,
  prefixEnd,
  seqKey,
  seqOfKey,
  tailKey,
  tailSeqOfKey,
} from './keys.ts';
import type { BatchOp, Store } from './store.ts';

/** The version of the whole key/value layout; see ./index.ts. */
export const WAL_FORMAT_VERSION = 2;

export interface LoadedMeta {
  readonly walId: string;
  readonly counters: Counters;
  /** The sequence number the newest tail mark follows. */
  readonly tailSeq: number;
}

export type MetaProblem = 'missing' | 'unreadable';

/** The ops that make a store hold exactly these counters (and drop the given old marks). */
export function freshMarkOps(walId: string, c: Counters, oldTails: readonly number[]): BatchOp[] {
  return [
    { type: 'put', key: META_FORMAT, value: Buffer.from(String(WAL_FORMAT_VERSION)) },
    { type: 'put', key: META_WAL_ID, value: Buffer.from(walId) },
    ...oldTails.filter((s) => s !== c.nextSeq - 1).map((s): BatchOp => ({ type: 'del', key: tailKey(s) })),
    { type: 'put', key: tailKey(c.nextSeq - 1), value: encodeTail(c) },
    { type: 'put', key: META_SETTLED, value: encodeSettled(c) },
    { type: 'del', key: META_COUNTERS_V1 },
  ];
}

/** Creates the metadata of a new WAL. */
export async function createMeta(db: Store, walId: string): Promise<LoadedMeta> {
  const counters = emptyCounters();
  await db.batch(freshMarkOps(walId, counters, []), { sync: true });
  return { walId, counters, tailSeq: 0 };
}

/**
 * Reads walId and counters: the settled mark (one get) and the newest tail mark (one reverse
 * seek: it is the last key of `rec!`). Migrates a format 1 WAL. Returns a problem instead of
 * counters when they must be rebuilt by a scan.
 */
export async function loadMeta(db: Store, location: string, format: Buffer): Promise<LoadedMeta | MetaProblem> {
  const version = Number(format.toString());
  const walId = (await db.get(META_WAL_ID))?.toString();
  if (version === 1) {
    const v1 = await db.get(META_COUNTERS_V1);
    const counters = v1 && decodeCountersV1(v1);
    if (walId === undefined || counters === undefined) return 'unreadable';
    // Format 1 → 2: the counters move to the two marks in one atomic batch.
    await db.batch(freshMarkOps(walId, counters, []), { sync: true });
    return { walId, counters, tailSeq: counters.nextSeq - 1 };
  }
  if (version !== WAL_FORMAT_VERSION) {
    throw new WalshipError(
      ErrorCodes.WAL_FORMAT,
      `the WAL at ${location} has format version ${format.toString()}; this walship reads versions 1 and ${WAL_FORMAT_VERSION}`,
      { details: { found: format.toString(), expected: WAL_FORMAT_VERSION } },
    );
  }
  if (walId === undefined) return 'missing';
  const settledValue = await db.get(META_SETTLED);
  const settled = settledValue && decodeSettled(settledValue);
  const last = await lastKeyValue(db);
  if (settled === undefined || last === undefined || !isTailKey(last[0])) return 'unreadable';
  const tail = decodeTail(last[1]);
  const counters = tail && combine(tail, settled);
  if (counters === undefined || tailSeqOfKey(last[0]) !== counters.nextSeq - 1) return 'unreadable';
  return { walId, counters, tailSeq: tailSeqOfKey(last[0]) };
}

async function lastKeyValue(db: Store): Promise<[Buffer, Buffer] | undefined> {
  const it = db.iterator({ gte: Buffer.from(PREFIX_RECORD), lt: prefixEnd(PREFIX_RECORD), reverse: true, limit: 1 });
  try {
    return (await it.nextv(1))[0];
  } finally {
    await it.close();
  }
}

/** The first record (not tail mark) at or after `fromSeq`, if any. */
export async function firstRecord(db: Store, fromSeq: number): Promise<[Buffer, Buffer] | undefined> {
  const it = db.iterator({ gte: seqKey(PREFIX_RECORD, fromSeq), lt: prefixEnd(PREFIX_RECORD) });
  try {
    for (;;) {
      const page = await it.nextv(8);
      if (page.length === 0) return undefined;
      const found = page.find(([key]) => !isTailKey(key));
      if (found !== undefined) return found;
    }
  } finally {
    await it.close();
  }
}

/**
 * After an unclean shutdown the marks are exact (they travel in every batch), unless LevelDB
 * dropped part of its log. A bounded seek tells: a record must exist at or above the floor
 * exactly when some are pending.
 */
export async function countersMatchStore(db: Store, c: Counters): Promise<boolean> {
  const first = await firstRecord(db, c.ackFloor);
  return c.pendingRecords > 0 ? first !== undefined && seqOfKey(first[0]) < c.nextSeq : first === undefined;
}

export interface Scan {
  readonly counters: Counters;
  /** Sequence numbers of every tail mark found. */
  readonly tails: readonly number[];
}

/** Counts every space of a store by one full scan (repair, rebuild, check). */
export async function scanStore(db: Store, minNextSeq: number): Promise<Scan> {
  const c = emptyCounters();
  const tails: number[] = [];
  let nextSeq = minNextSeq;
  let minPending = Number.POSITIVE_INFINITY;
  for (const prefix of [PREFIX_RECORD, PREFIX_DEAD_LETTER, PREFIX_QUARANTINE] as const) {
    const it = db.iterator({ gte: Buffer.from(prefix), lt: prefixEnd(prefix) });
    try {
      for (;;) {
        const page = await it.nextv(1024);
        if (page.length === 0) break;
        for (const [key, value] of page) {
          if (prefix === PREFIX_RECORD && isTailKey(key)) {
            tails.push(tailSeqOfKey(key));
            nextSeq = Math.max(nextSeq, decodeTail(value)?.nextSeq ?? 0, tailSeqOfKey(key) + 1);
            continue;
          }
          const seq = seqOfKey(key);
          const bytes = key.length + value.length;
          nextSeq = Math.max(nextSeq, seq + 1);
          if (prefix === PREFIX_RECORD) {
            c.pendingRecords++;
            c.pendingBytes += bytes;
            minPending = Math.min(minPending, seq);
          } else if (prefix === PREFIX_DEAD_LETTER) {
            c.deadLetterRecords++;
            c.deadLetterBytes += bytes;
          } else {
            c.quarantineRecords++;
            c.quarantineBytes += bytes;
          }
        }
      }
    } finally {
      await it.close();
    }
  }
  c.nextSeq = nextSeq;
  c.ackFloor = Number.isFinite(minPending) ? minPending : c.nextSeq;
  // The history before a rebuild is unknown: what is pending counts as appended.
  c.appendedRecords = c.pendingRecords;
  c.appendedBytes = c.pendingBytes;
  return { counters: c, tails };
}

/** Rebuilds the marks from one scan and gives the WAL `walId` (new, W8). */
export async function rebuildMeta(db: Store, walId: string, minNextSeq = 1): Promise<LoadedMeta> {
  const scan = await scanStore(db, minNextSeq);
  await db.batch(freshMarkOps(walId, scan.counters, scan.tails), { sync: true });
  return { walId, counters: scan.counters, tailSeq: scan.counters.nextSeq - 1 };
}
