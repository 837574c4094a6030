/**
 * iLogtail's LogGroup size estimate (the default aggregator's `evaluateLogSize`), used to cap
 * a group at `maxBytes` (3 MiB by default) before it is sealed and encoded:
 *
 * - a log costs `6 + Σ (5 + |key| + |value|)` over its contents;
 * - a group costs the sum over its logs, plus, by walship's choice, `5 + |key| + |value|` for
 *   each tag and `5 + |value|` for each optional string that is present (category, topic,
 *   source, machineUUID), i.e. each counts as a content with an empty key. iLogtail counts
 *   the logs only; counting the rest keeps the estimate closer to what is sent.
 *
 * `|s|` is the UTF-8 byte length of `s` (a lone surrogate counts 3 bytes, as U+FFFD, which is
 * what the encoder writes for it). This is an estimate, not the encoded size: the protobuf
 * framing costs about one byte more per content than the rule counts, so the bytes from
 * `encodeLogGroup` can be slightly larger; use their `byteLength` when the exact size matters.
 *
 * These functions assume a valid group (see `validateLogGroup`); they do not check types.
 * `validateLogGroup` computes the same number in its own pass over the group.
 */
import type { Log, LogGroup } from './types.ts';

/** Fixed cost of one log in the estimate. */
export const LOG_OVERHEAD_BYTES = 6;
/** Fixed cost of one content (and of one tag or optional string) in the estimate. */
export const FIELD_OVERHEAD_BYTES = 5;

const byteLength = Buffer.byteLength;

/** iLogtail's estimate of one log's size in bytes: `6 + Σ (5 + |key| + |value|)`. */
export function estimateLogSize(log: Log): number {
  const contents = log.contents;
  let size = LOG_OVERHEAD_BYTES;
  for (let i = 0; i < contents.length; i++) {
    const content = contents[i]!;
    size += FIELD_OVERHEAD_BYTES + byteLength(content.key, 'utf8') + byteLength(content.value, 'utf8');
  }
  return size;
}

/**
 * The estimated size of a group in bytes: the sum of `estimateLogSize` over its logs, plus
 * `5 + |key| + |value|` per tag and `5 + |value|` per optional string that is present.
 */
export function estimateLogGroupSize(lg: LogGroup): number {
  const logs = lg.logs;
  let size = 0;
  for (let i = 0; i < logs.length; i++) size += estimateLogSize(logs[i]!);
  const tags = lg.logTags;
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    size += FIELD_OVERHEAD_BYTES + byteLength(tag.key, 'utf8') + byteLength(tag.value, 'utf8');
  }
  if (lg.category !== undefined) size += FIELD_OVERHEAD_BYTES + byteLength(lg.category, 'utf8');
  if (lg.topic !== undefined) size += FIELD_OVERHEAD_BYTES + byteLength(lg.topic, 'utf8');
  if (lg.source !== undefined) size += FIELD_OVERHEAD_BYTES + byteLength(lg.source, 'utf8');
  if (lg.machineUUID !== undefined) size += FIELD_OVERHEAD_BYTES + byteLength(lg.machineUUID, 'utf8');
  return size;
}
