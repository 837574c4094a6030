import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths redacted from every log line walship writes (credentials never reach a log). */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

let root: Logger | undefined;

/**
 * The logger used when the caller injects none: JSON to stderr at `WALSHIP_LOG_LEVEL`
 * (default `warn`, so a library user sees only what needs attention).
 */
export function defaultLogger(): Logger {
  root ??= pino(
    {
      name: 'walship',
      level: process.env.WALSHIP_LOG_LEVEL ?? 'warn',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    pino.destination(2),
  );
  return root;
}
