/**
 * Stream keys from a template, and the deduplication marker key that lives beside each one.
 *
 * In a Redis Cluster a script may only touch keys of one hash slot. A record's script touches
 * its stream key and its marker key, so the marker takes the stream key's slot:
 *
 * 1. the stream key has a hash tag (`logs:{tenant}:app`: the text between the first `{` and
 *    the first `}` after it, when not empty): the marker uses the same tag,
 *    `walship:dedup:{tenant}:<idempotency key>`;
 * 2. it has none and holds no `}`: the whole key becomes the marker's tag,
 *    `walship:dedup:{logs:proj:store}:<idempotency key>` (a key without a tag hashes whole);
 * 3. it has none but holds a `}` (so it cannot be wrapped): the marker's tag is a short
 *    decimal string found to hash to the same slot (computed once per slot and cached).
 */
import type { RecordMeta } from '../../wal/index.ts';
import { ErrorCodes, WalshipError } from '../../errors.ts';

/** The prefix of every deduplication marker key. */
export const DEDUP_MARKER_PREFIX = 'walship:dedup:';

/** The placeholders a key template may use, each taken from the record's metadata. */
export const KEY_PLACEHOLDERS = ['project', 'logstore', 'configName', 'logstoreKey'] as const;
export type KeyPlaceholder = (typeof KEY_PLACEHOLDERS)[number];

const PLACEHOLDER = /\{(project|logstore|configName|logstoreKey)\}/g;

/** A parsed key template: literal parts between placeholders. */
export interface KeyTemplate {
  readonly source: string;
  /** `parts[0] meta[names[0]] parts[1] meta[names[1]] … parts[n]`. */
  readonly parts: readonly string[];
  readonly names: readonly KeyPlaceholder[];
}

export function parseKeyTemplate(template: unknown): KeyTemplate {
  if (typeof template !== 'string' || template === '') {
    throw new WalshipError(
      ErrorCodes.INVALID_OPTIONS,
      `Expected \`keyTemplate\` to be a non-empty string, got ${typeof template === 'string' ? '""' : typeof template}`,
    );
  }
  const parts: string[] = [];
  const names: KeyPlaceholder[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index));
    names.push(m[1] as KeyPlaceholder);
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return { source: template, parts, names };
}

/** The stream key of a record with metadata `meta`. */
export function renderKey(template: KeyTemplate, meta: RecordMeta): string {
  if (template.names.length === 0) return template.source;
  let key = template.parts[0] as string;
  for (let i = 0; i < template.names.length; i++) {
    key += String(meta[template.names[i] as KeyPlaceholder]) + (template.parts[i + 1] as string);
  }
  return key;
}

/** The hash tag of `key` as Redis Cluster reads it, or undefined when the whole key is hashed. */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  return crc;
}

/** The Redis Cluster hash slot of `key` (0..16383), honouring its hash tag. */
export function keySlot(key: string): number {
  return crc16(Buffer.from(hashTagOf(key) ?? key, 'utf8')) % 16384;
}

const slotTags = new Map<number, string>();

/** The smallest decimal string that hashes to `slot` (each of the 16384 slots has one below 10^6). */
function tagForSlot(slot: number): string {
  let tag = slotTags.get(slot);
  if (tag !== undefined) return tag;
  for (let i = 0; ; i++) {
    const candidate = String(i);
    if (crc16(Buffer.from(candidate)) % 16384 === slot) {
      tag = candidate;
      break;
    }
  }
  slotTags.set(slot, tag);
  return tag;
}

/** The hash tag the marker of a record in `streamKey` carries, so both share a slot. */
export function markerTag(streamKey: string): string {
  const tag = hashTagOf(streamKey);
  if (tag !== undefined) return tag;
  if (!streamKey.includes('}')) return streamKey;
  return tagForSlot(keySlot(streamKey));
}

/** `walship:dedup:{<tag>}:<idempotency key>`, in the slot of `streamKey`. */
export function markerKey(streamKey: string, idempotencyKey: string): string {
  return `${DEDUP_MARKER_PREFIX}{${markerTag(streamKey)}}:${idempotencyKey}`;
}
