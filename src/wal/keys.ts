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

export type SeqSpace = typeof PREFIX_RECORD | typeof PREFIX_DEAD_LETTER | typeof PREFIX_QUARANTINE;

export const META_FORMAT = Buffer.from(`${PREFIX_META}format`);
export const META_WAL_ID = Buffer.from(`${PREFIX_META}walId`);
export const META_COUNTERS = Buffer.from(`${PREFIX_META}counters`);
export const META_STATE = Buffer.from(`${PREFIX_META}state`);
export const META_SYNC = Buffer.from(`${PREFIX_META}sync`);

/** The largest sequence number a key can hold without losing precision in a JS number. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;
const TWO_32 = 2 ** 32;

const prefixBytes = new Map<string, Buffer>(
  [PREFIX_RECORD, PREFIX_DEAD_LETTER, PREFIX_QUARANTINE].map((p) => [p, Buffer.from(p)]),
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

export function checkpointKey(name: string): Buffer {
  return Buffer.from(`${PREFIX_CHECKPOINT}${name}`);
}
