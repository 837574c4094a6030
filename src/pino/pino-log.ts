/**
 * One pino JSON line → one walship Log.
 *
 * - `time`: pino's `time` (ms since the epoch, or an ISO string with `pino.stdTimeFunctions.isoTime`)
 *   becomes the Log's seconds and nanoseconds; without one, the time the line was read.
 * - contents: every top-level field in order, `level`, `time` and `msg` included, as strings;
 *   nested objects are flattened with dotted keys (`req.headers.host`) up to
 *   {@link MAX_FLATTEN_DEPTH} levels (deeper values and arrays are JSON text); `null` is `"null"`.
 * - A line that is not a JSON object is shipped as `{msg: <the line>}`.
 */
import type { Log, LogContent } from '../model/index.ts';
import { estimateLogSize } from '../model/size.ts';

/** Objects nested deeper than this are shipped as JSON text. */
export const MAX_FLATTEN_DEPTH = 4;

function flatten(prefix: string, value: unknown, depth: number, out: LogContent[]): void {
  if (value === null) {
    out.push({ key: prefix, value: 'null' });
  } else if (typeof value === 'string') {
    out.push({ key: prefix, value });
  } else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    out.push({ key: prefix, value: String(value) });
  } else if (typeof value === 'object' && !Array.isArray(value) && depth < MAX_FLATTEN_DEPTH) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) out.push({ key: prefix, value: '{}' });
    for (const [k, v] of entries) flatten(`${prefix}.${k}`, v, depth + 1, out);
  } else {
    out.push({ key: prefix, value: JSON.stringify(value) ?? String(value) });
  }
}

function timeOf(raw: unknown, nowMs: number): { time: number; timeNs?: number } {
  let ms = typeof raw === 'number' && Number.isFinite(raw) ? raw : typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0 || ms / 1000 > 0xffffffff) ms = nowMs;
  const time = Math.floor(ms / 1000);
  const ns = Math.round((ms - time * 1000) * 1_000_000);
  return ns > 0 && ns < 1_000_000_000 ? { time, timeNs: ns } : { time };
}

/** The Log for one line pino wrote (without its newline). */
export function pinoLineToLog(line: string, nowMs: number = Date.now()): Log {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    obj = undefined;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return { ...timeOf(undefined, nowMs), contents: [{ key: 'msg', value: line }] };
  }
  const contents: LogContent[] = [];
  for (const [key, value] of Object.entries(obj as Record<string, unknown>)) flatten(key, value, 1, contents);
  return { ...timeOf((obj as { time?: unknown }).time, nowMs), contents };
}

/** `s` cut to at most `maxBytes` UTF-8 bytes, at a character boundary. */
function cutUtf8(s: string, maxBytes: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--;
  return b.toString('utf8', 0, end);
}

/**
 * `log` made to fit `maxBytes` as {@link estimateLogSize} counts a log (its keys, values and
 * the per-field and per-log overheads the 3 MiB LogGroup cap counts): its largest values are
 * cut first (longest first, each at a character boundary; keys, their order and the short
 * fields stay). When that cannot be enough (keys alone over the budget), the log becomes
 * `{msg: <line cut to fit>}`. `undefined` when `log` already fits.
 */
export function cutLog(log: Log, maxBytes: number, line: string): Log | undefined {
  let total = estimateLogSize(log);
  if (total <= maxBytes) return undefined;
  const contents = [...log.contents];
  const valueBytes = contents.map((c) => Buffer.byteLength(c.value, 'utf8'));
  const longestFirst = contents.map((_, i) => i).sort((a, b) => (valueBytes[b] as number) - (valueBytes[a] as number));
  for (const i of longestFirst) {
    if (total <= maxBytes) break;
    const c = contents[i] as LogContent;
    const bytes = valueBytes[i] as number;
    const value = cutUtf8(c.value, Math.max(0, bytes - (total - maxBytes)));
    total -= bytes - Buffer.byteLength(value, 'utf8');
    contents[i] = { key: c.key, value };
  }
  if (total <= maxBytes) return { ...log, contents };
  const msg = { key: 'msg', value: '' };
  const room = maxBytes - estimateLogSize({ time: log.time, contents: [msg] });
  return { ...log, contents: [{ key: 'msg', value: cutUtf8(line, Math.max(0, room)) }] };
}
