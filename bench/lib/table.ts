/**
 * Aligned plain-text tables for benchmark output, and the number formats they use.
 * A column is right-aligned when every cell in it looks like a number (so figures line up
 * on their last digit) and left-aligned otherwise.
 */

export type Cell = string | number | undefined;

const NUMERIC = /^[-+]?(\d[\d,]*)?(\.\d+)?(e[-+]?\d+)?\s?(%|x|×|ms|s|MB\/s|MB|KiB|MiB|GiB)?$/i;

function text(cell: Cell): string {
  if (cell === undefined) return '—';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '—';
  return cell;
}

/** Renders a titled table with a header row and a rule under it. */
export function renderTable(title: string, headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const body = rows.map((row) => headers.map((_, i) => text(row[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const right = headers.map((_, i) => body.every((r) => r[i] === '—' || NUMERIC.test(r[i] as string)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [
    `\n${title}`,
    line(headers),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
  ].join('\n');
}

export function printTable(title: string, headers: readonly string[], rows: readonly (readonly Cell[])[]): void {
  console.log(renderTable(title, headers, rows));
}

/** A number with `digits` decimals, or '—' when not finite. */
export function fixed(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits);
}

/** An integer with thousands separators. */
export function int(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US');
}

/** Bytes as decimal megabytes (10^6), the unit of every MB and MB/s in these tables. */
export function mb(bytes: number | undefined, digits = 1): string {
  return bytes === undefined ? '—' : fixed(bytes / 1e6, digits);
}

/** A byte size as the short binary label used for record sizes: 1KiB, 64KiB, 1MiB. */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1 << 30 && bytes % (1 << 30) === 0) return `${bytes / (1 << 30)}GiB`;
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)}MiB`;
  if (bytes >= 1 << 10 && bytes % (1 << 10) === 0) return `${bytes / (1 << 10)}KiB`;
  return `${bytes}B`;
}
