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
