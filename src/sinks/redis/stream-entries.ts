/**
 * A record as stream entries: the field/value lists the append script passes to `XADD`.
 *
 * - `entryPer: 'log'`: one entry per log. Fields, in order: the log's contents as they are
 *   (a repeated key stays repeated), then `__time__` (seconds), `__time_ns_part__` (when the
 *   log has nanoseconds), `__topic__`, `__source__`, `__category__` (when the group has them),
 *   `__tag__:<key>` for each group tag, and `__walship_key__` (the record's idempotency key).
 * - `entryPer: 'group'`: one entry per LogGroup with fields `encoding` (`protobuf` | `json`),
 *   `data` (the protobuf bytes exactly as stored in the WAL, or the JSON array of the HTTP
 *   sink's `json` encoding) and `__walship_key__`.
 */
import { DeliveryError } from '../../delivery/delivery-error.ts';
import type { DeliveryRecord } from '../../delivery/protocol-client.ts';
import { ErrorCodes, isWalshipError } from '../../errors.ts';
import { decodeLogGroup, type LogGroup } from '../../model/index.ts';
import { transcodeJsonBody } from '../http/json-transcode.ts';
import type { RedisEntryPer, RedisGroupEncoding } from './redis-sink-options.ts';

/** The field that carries the record's idempotency key in every entry. */
export const KEY_FIELD = '__walship_key__';

/**
 * Most fields one entry may have: the script passes an entry to `XADD` through Lua's
 * `unpack`, which stops at about 8000 values (Lua's C stack limit).
 */
export const MAX_FIELDS_PER_ENTRY = 3900;

export type FieldValue = string | number | Buffer;

/** Flat `[n, f1, v1, …, fn, vn]` per entry, all entries concatenated; `entries` counts them. */
export interface EncodedEntries {
  readonly entries: number;
  readonly args: FieldValue[];
}

function invalidPayload(record: DeliveryRecord, err: unknown): DeliveryError {
  return new DeliveryError(`record ${record.idempotencyKey} is not a valid LogGroup: ${(err as Error).message}`, {
    kind: 'permanent',
    reason: 'invalid_payload',
    cause: err,
  });
}

export function encodeEntries(record: DeliveryRecord, entryPer: RedisEntryPer, encoding: RedisGroupEncoding): EncodedEntries {
  if (entryPer === 'group') {
    let data: FieldValue = record.payload;
    if (encoding === 'json') {
      try {
        data = transcodeJsonBody([record], 'json').toString('utf8');
      } catch (err) {
        if (isWalshipError(err, ErrorCodes.INVALID_LOG_GROUP)) throw invalidPayload(record, err);
        throw err;
      }
    }
    return { entries: 1, args: [3, 'encoding', encoding, 'data', data, KEY_FIELD, record.idempotencyKey] };
  }

  let group: LogGroup;
  try {
    group = decodeLogGroup(record.payload);
  } catch (err) {
    throw invalidPayload(record, err);
  }
  // What every log of the group ends with.
  const tail: string[] = [];
  if (group.topic !== undefined) tail.push('__topic__', group.topic);
  if (group.source !== undefined) tail.push('__source__', group.source);
  if (group.category !== undefined) tail.push('__category__', group.category);
  for (const tag of group.logTags) tail.push(`__tag__:${tag.key}`, tag.value);
  tail.push(KEY_FIELD, record.idempotencyKey);

  const args: FieldValue[] = [];
  for (const log of group.logs) {
    const fields = log.contents.length + 1 + (log.timeNs === undefined ? 0 : 1) + tail.length / 2;
    if (fields > MAX_FIELDS_PER_ENTRY) {
      throw new DeliveryError(
        `record ${record.idempotencyKey} has a log of ${fields} fields; a stream entry takes at most ${MAX_FIELDS_PER_ENTRY}`,
        { kind: 'permanent', reason: 'redis_too_many_fields' },
      );
    }
    args.push(fields);
    for (const c of log.contents) args.push(c.key, c.value);
    args.push('__time__', String(log.time));
    if (log.timeNs !== undefined) args.push('__time_ns_part__', String(log.timeNs));
    for (const v of tail) args.push(v);
  }
  return { entries: group.logs.length, args };
}
