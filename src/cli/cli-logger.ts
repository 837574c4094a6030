import { pino } from 'pino';
import { REDACT_PATHS, type Logger } from '../logging/logger.ts';

/**
 * The CLI's logger: pino JSON lines on stderr (stdout is left to results and to
 * flusher_stdout), at `level`, with credentials redacted. pino-pretty is not a dependency, so
 * a TTY gets the same JSON lines.
 */
export function createCliLogger(level: string): Logger {
  return pino(
    {
      name: 'walship',
      level,
      redact: { paths: [...REDACT_PATHS, '*.headers', 'headers', '*.pass', '*.password', 'pass'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
