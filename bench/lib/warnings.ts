/**
 * A pino logger for walship that collects what it logs at warn or above instead of printing
 * it between the tables: every line is counted, the first few are kept (for the JSON, or to
 * travel from a child process back to its parent).
 */
import { type Logger, pino } from 'pino';

/** Lines kept; the rest are only counted. */
const KEPT_LINES = 20;

export interface CapturedWarnings {
  readonly logger: Logger;
  /** The first lines logged (at most 20). */
  readonly warnings: readonly string[];
  /** Every line logged so far. */
  count(): number;
}

export function captureWarnings(): CapturedWarnings {
  const warnings: string[] = [];
  let count = 0;
  const logger = pino(
    { level: 'warn' },
    {
      write: (line: string) => {
        count++;
        if (warnings.length < KEPT_LINES) warnings.push(line.trim());
      },
    },
  );
  return { logger, warnings, count: () => count };
}
