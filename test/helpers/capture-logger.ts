import { pino, type Logger } from 'pino';

/** A pino logger that keeps every line in memory (parsed), so tests can assert on the log. */
export function captureLogger(level: pino.Level = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines };
}
