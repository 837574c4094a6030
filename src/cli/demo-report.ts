/**
 * What `walship demo` prints: the progress line while it runs and the summary table at its
 * end. Pure rendering: ./demo.ts owns the pipeline and hands these functions numbers.
 *
 * On a TTY the progress is one line, redrawn in place with `\r` (padded with spaces over the
 * previous one, no escape codes). Anywhere else (a pipe, CI, a test) it is a plain line every
 * {@link DEMO_PROGRESS_INTERVAL_MS} and at each quarter of the way, never redrawn.
 */

/**
 * How often a non-TTY progress line is printed (ms), beside the 25/50/75/100% marks.
 * @defaultValue 500
 */
export const DEMO_PROGRESS_INTERVAL_MS = 500;
/** How often the TTY progress line is redrawn (ms). @defaultValue 100 */
export const DEMO_TTY_REDRAW_MS = 100;
/** Width of the bar in characters. @defaultValue 24 */
export const DEMO_BAR_WIDTH = 24;

export interface DemoProgress {
  /** Logs the receiver has stored (all runs of this demo), each counted once. */
  readonly acked: number;
  /** Logs in the sample files. */
  readonly total: number;
  /** Logs acked in this run (the rate is over these). */
  readonly ackedThisRun: number;
  /** Requests retried so far in this run. */
  readonly retries: number;
  readonly elapsedMs: number;
}

/** `[██████░░░░]  412/800 logs acked  51%  1,203 logs/s  retries 9  0.3s` */
export function progressLine(p: DemoProgress): string {
  const ratio = p.total === 0 ? 1 : Math.min(1, p.acked / p.total);
  const filled = Math.floor(ratio * DEMO_BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(DEMO_BAR_WIDTH - filled)}`;
  const rate = p.elapsedMs > 0 ? Math.round((p.ackedThisRun * 1000) / p.elapsedMs) : 0;
  const width = String(p.total).length;
  return (
    `  [${bar}] ${String(p.acked).padStart(width)}/${p.total} logs acked ${String(Math.floor(ratio * 100)).padStart(3)}%` +
    `  ${rate.toLocaleString('en-US')} logs/s  retries ${p.retries}  ${(p.elapsedMs / 1000).toFixed(1)}s`
  );
}

/**
 * Writes progress lines to `out`: redrawn in place on a TTY, else one line per
 * {@link DEMO_PROGRESS_INTERVAL_MS} (when something changed) and at every quarter reached.
 */
export class ProgressPrinter {
  readonly #out: NodeJS.WritableStream;
  readonly #tty: boolean;
  #lastWidth = 0;
  #lastPrintAt = Number.NEGATIVE_INFINITY;
  #lastAcked = -1;
  #lastQuarter = -1;

  constructor(out: NodeJS.WritableStream, tty: boolean) {
    this.#out = out;
    this.#tty = tty;
  }

  /** Prints `p` if it is time to; `force` (the last line of a run) prints it unless just printed. */
  update(p: DemoProgress, force = false, now = performance.now()): void {
    const text = progressLine(p);
    if (this.#tty) {
      if (!force && now - this.#lastPrintAt < DEMO_TTY_REDRAW_MS) return;
      this.#out.write(`\r${text.padEnd(this.#lastWidth)}`);
      this.#lastWidth = text.length;
      this.#lastPrintAt = now;
      return;
    }
    const quarter = p.total === 0 ? 4 : Math.floor((4 * Math.min(p.acked, p.total)) / p.total);
    const crossed = quarter > this.#lastQuarter;
    const due = now - this.#lastPrintAt >= DEMO_PROGRESS_INTERVAL_MS && p.acked !== this.#lastAcked;
    if (force ? p.acked === this.#lastAcked : !crossed && !due) return;
    this.#lastQuarter = Math.max(this.#lastQuarter, quarter);
    this.#lastPrintAt = now;
    this.#lastAcked = p.acked;
    this.#out.write(`${text}\n`);
  }

  /** Ends the redrawn line (TTY) so what follows starts on a line of its own. */
  done(): void {
    if (this.#tty && this.#lastWidth > 0) this.#out.write('\n');
    this.#lastWidth = 0;
  }
}

/** One row of the summary: a name, a number and what it means. */
export interface SummaryRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly meaning: string;
}

/** The rows as an aligned table: names left, numbers right, units and meanings left. */
export function summaryTable(rows: readonly SummaryRow[]): string {
  const nameW = Math.max(...rows.map((r) => r.name.length));
  const valueW = Math.max(...rows.map((r) => r.value.toLocaleString('en-US').length));
  const unitW = Math.max(...rows.map((r) => r.unit.length));
  return rows
    .map((r) => `  ${r.name.padEnd(nameW)}  ${r.value.toLocaleString('en-US').padStart(valueW)} ${r.unit.padEnd(unitW)}  ${r.meaning}`.trimEnd())
    .join('\n');
}
