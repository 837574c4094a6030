import { createRequire } from 'node:module';
import { pino } from 'pino';
import { REDACT_PATHS, type Logger } from '../logging/logger.ts';

/**
 * The CLI's logger: on stderr (stdout is left to results and to flusher_stdout), at `level`,
 * with credentials redacted. Readable lines (pino-pretty, in this thread) when stderr is a
 * terminal; pino's JSON lines otherwise (pipes, files, CI, log collectors), or always with
 * `WALSHIP_LOG_FORMAT=json`.
 */
export function createCliLogger(level: string): Logger {
  const options = {
    name: 'walship',
    level,
    redact: { paths: [...REDACT_PATHS, '*.headers', 'headers', '*.pass', '*.password', 'pass'], censor: '[redacted]' },
  };
  const readable = process.stderr.isTTY === true && process.env.WALSHIP_LOG_FORMAT !== 'json';
  if (readable) {
    // Loaded only for a terminal (not for a service writing JSON lines).
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(options, pretty({ destination: 2, sync: true, colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }));
  }
  return pino(options, pino.destination({ fd: 2, sync: true }));
}
