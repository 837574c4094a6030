/**
 * The LevelDB key layout (frozen; see the format description in ./index.ts).
 *
 * Every key starts with one of the reserved ASCII prefixes. Sequence-numbered spaces end in
 * the sequence number as 8 big-endian bytes, so LevelDB's byte order is sequence order.
 */

export const PREFIX_META = 'meta!';
export const PREFIX_RECORD = 'rec!';
export const PREFIX_DEAD_LETTER = 'dlq!';
export const PREFIX_QUARANTINE = 'quar!';
export const PREFIX_CHECKPOINT = 'ckpt!';
export const PREFIX_BATCH = 'bat!';

export type SeqSpace = typeof PREFIX_RECORD | typeof PREFIX_DEAD_LETTER | typeof PREFIX_QUARANTINE | typeof PREFIX_BATCH;

export const META_FORMAT = Buffer.from(`${PREFIX_META}format`);
export const META_WAL_ID = Buffer.from(`${PREFIX_META}walId`);
/** Format 1's counters key; read only by the migration to format 2. */
export const META_COUNTERS_V1 = Buffer.from(`${PREFIX_META}counters`);
export const META_SETTLED = Buffer.from(`${PREFIX_META}settled`);
export const META_STATE = Buffer.from(`${PREFIX_META}state`);
export const META_SYNC = Buffer.from(`${PREFIX_META}sync`);

/** The largest sequence number a key can hold without losing precision in a JS number. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;
const TWO_32 = 2 ** 32;

const prefixBytes = new Map<string, Buffer>(
  [PREFIX_RECORD, PREFIX_DEAD_LETTER, PREFIX_QUARANTINE, PREFIX_BATCH].map((p) => [p, Buffer.from(p)]),
);

export function seqKey(space: SeqSpace, seq: number): Buffer {
  const prefix = prefixBytes.get(space) as Buffer;
  const key = Buffer.allocUnsafe(prefix.length + 8);
  prefix.copy(key, 0);
  key.writeUInt32BE(Math.floor(seq / TWO_32), prefix.length);
  key.writeUInt32BE(seq >>> 0, prefix.length + 4);
  return key;
}

/** The sequence number at the end of a sequence-numbered key. */
export function seqOfKey(key: Uint8Array): number {
  const view = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const at = view.length - 8;
  return view.readUInt32BE(at) * TWO_32 + view.readUInt32BE(at + 4);
}

/** The exclusive upper bound of a prefix's key range. */
export function prefixEnd(space: string): Buffer {
  const b = Buffer.from(space);
  b[b.length - 1] = (b[b.length - 1] as number) + 1;
  return b;
}

/** Bytes of a record key: the prefix and 8 bytes of sequence number. */
export const RECORD_KEY_BYTES = PREFIX_RECORD.length + 8;

/**
 * The key of a tail mark: right after the record `seq` (the last one its batch appended), so
 * it sorts between that record and the next one and never away from the records.
 */
export function tailKey(seq: number): Buffer {
  const key = Buffer.allocUnsafe(RECORD_KEY_BYTES + 1);
  seqKey(PREFIX_RECORD, seq).copy(key, 0);
  key[RECORD_KEY_BYTES] = 1;
  return key;
}

/** True for a tail mark's key found among the `rec!` keys. */
export function isTailKey(key: Uint8Array): boolean {
  return key.byteLength === RECORD_KEY_BYTES + 1;
}

/** The sequence number a tail mark follows. */
export function tailSeqOfKey(key: Uint8Array): number {
  return seqOfKey(key.subarray(0, RECORD_KEY_BYTES));
}

export function checkpointKey(name: string): Buffer {
  return Buffer.from(`${PREFIX_CHECKPOINT}${name}`);
}
