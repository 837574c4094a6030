/**
 * The `text` format: one human-readable line per log,
 *
 * ```
 * 2023-11-14T22:13:20.000000005Z proj/store seq=a-0 msg="hello world" __topic__=t __source__=10.0.0.1 __tag__:__pack_id__=AB-1
 * ```
 *
 * the log's time (UTC, nanoseconds when the log has them), `project/logstore`, the contents in
 * order, then the group's topic, source, category and tags. A key or value that is empty or
 * holds a space, a quote, `=`, a backslash or a control character is written as a JSON
 * string, so a line never breaks and can be split on spaces unambiguously.
 */
import type { DeliveryRecord } from '../../delivery/protocol-client.ts';
import { decodeLogGroup } from '../../model/index.ts';

const BARE = /^[^\s"=\\\u0000-\u001f\u007f]+$/u;

function token(s: string): string {
  return BARE.test(s) ? s : JSON.stringify(s);
}

/** `2023-11-14T22:13:20Z`, or with nine fractional digits when `timeNs` is set. */
export function formatTime(time: number, timeNs?: number): string {
  const iso = new Date(time * 1000).toISOString().slice(0, 19);
  return timeNs === undefined ? `${iso}Z` : `${iso}.${String(timeNs).padStart(9, '0')}Z`;
}

/** The lines of one record, each ending in `\n`. Throws `WALSHIP_INVALID_LOG_GROUP` on a bad payload. */
export function recordToTextLines(record: DeliveryRecord): string {
  const group = decodeLogGroup(record.payload);
  let tail = '';
  if (group.topic !== undefined) tail += ` __topic__=${token(group.topic)}`;
  if (group.source !== undefined) tail += ` __source__=${token(group.source)}`;
  if (group.category !== undefined) tail += ` __category__=${token(group.category)}`;
  for (const tag of group.logTags) tail += ` ${token(`__tag__:${tag.key}`)}=${token(tag.value)}`;
  const where = `${token(record.meta.project)}/${token(record.meta.logstore)}`;
  let out = '';
  for (const log of group.logs) {
    out += `${formatTime(log.time, log.timeNs)} ${where}`;
    for (const c of log.contents) out += ` ${token(c.key)}=${token(c.value)}`;
    out += `${tail}\n`;
  }
  return out;
}
