/**
 * Sizes and durations with units, as the JSON config writes them.
 *
 * - Sizes: `"1GiB"`, `"500MB"`, `"64 KiB"`, `"4096"`, `"1.5GiB"`; binary units (`KiB`, `MiB`,
 *   `GiB`, `TiB`, also `K`, `M`, `G`, `T`) are powers of 1024, decimal units (`kB`, `KB`, `MB`,
 *   `GB`, `TB`) powers of 1000, `B` or no unit is bytes. Units are case-insensitive except
 *   that `KiB`-style and `KB`-style are told apart by the `i`.
 * - Durations: `"250ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, `"1h30m"`, `"1.5s"`; no unit is ms.
 *
 * A number passes through unchanged (bytes or ms). The result is an integer (rounded down);
 * anything else is `undefined` so the caller can name the field in its error.
 */

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;

/** Bytes of a size (`"1GiB"`, `"500MB"`, `4096`), or undefined when it is not one. */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = SIZE_RE.exec(v);
  if (m === null) return undefined;
  const factor = SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  if (factor === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Milliseconds of a duration (`"30s"`, `"1h30m"`, `"250ms"`, `1000`), or undefined. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(s)) return Math.floor(Number(s));
  let total = 0;
  let at = 0;
  DURATION_PART_RE.lastIndex = 0;
  for (;;) {
    if (at === s.length) break;
    DURATION_PART_RE.lastIndex = at;
    const m = DURATION_PART_RE.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    at = DURATION_PART_RE.lastIndex;
    while (s[at] === ' ') at++;
  }
  const ms = Math.floor(total);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** `1073741824` → `"1 GiB"`: for messages and `inspect`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1).replace(/\.0$/, '')} ${units[i]}`;
}

/** `93_000` → `"1m33s"`: for messages and `inspect`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}
