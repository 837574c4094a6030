import type { Writable } from 'node:stream';
import { DEFAULT_STDOUT_FORMAT } from '../../config/defaults.ts';
import { defaultLogger, type Logger } from '../../logging/logger.ts';
import { describeValue as describe, invalidOption as invalid } from '../option-checks.ts';

/** `'json'`: one JSON object per line (NDJSON); `'text'`: one human-readable line per log. */
export type StdoutFormat = 'json' | 'text';

/** Options of {@link createStdoutClient}. Every field is optional. */
export interface StdoutSinkOptions {
  /** @defaultValue `'json'` ({@link DEFAULT_STDOUT_FORMAT}) */
  readonly format?: StdoutFormat;
  /**
   * Which standard stream to write to. Conflicts with `stream`.
   * @defaultValue `'stdout'`
   */
  readonly target?: 'stdout' | 'stderr';
  /**
   * A stream to write to instead of `process.stdout` (tests, or a library user who wants the
   * lines elsewhere). The library form only: a JSON config cannot hold a stream.
   * @defaultValue `process.stdout`
   */
  readonly stream?: Writable;
  /** A name for logs and metrics. @defaultValue `stdout`, `stderr` or `stream` */
  readonly name?: string;
  /** Parent logger; the client logs through a child `{component: 'sink', sink: 'stdout'}`. */
  readonly logger?: Logger;
}

export interface ResolvedStdoutSinkOptions {
  readonly format: StdoutFormat;
  readonly stream: Writable;
  readonly name: string;
  readonly logger: Logger;
}

/** Merges `options` over the defaults and validates them; throws `WALSHIP_INVALID_OPTIONS` naming the option. */
export function resolveStdoutSinkOptions(options: StdoutSinkOptions = {}): ResolvedStdoutSinkOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('Expected stdout sink options to be an object');
  const format = options.format ?? DEFAULT_STDOUT_FORMAT;
  if (format !== 'json' && format !== 'text') {
    throw invalid(`Expected \`format\` to be 'json' or 'text', got ${describe(format)}`);
  }
  if (options.target !== undefined && options.target !== 'stdout' && options.target !== 'stderr') {
    throw invalid(`Expected \`target\` to be 'stdout' or 'stderr', got ${describe(options.target)}`);
  }
  if (options.stream !== undefined) {
    const s = options.stream as unknown as { write?: unknown; once?: unknown };
    if (s === null || typeof s !== 'object' || typeof s.write !== 'function' || typeof s.once !== 'function') {
      throw invalid(`Expected \`stream\` to be a Writable stream, got ${describe(options.stream)}`);
    }
    if (options.target !== undefined) throw invalid('`stream` and `target` both name where lines go: use one of them');
  }
  const target = options.target ?? 'stdout';
  const stream = options.stream ?? (target === 'stderr' ? process.stderr : process.stdout);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    throw invalid(`Expected \`name\` to be a non-empty string, got ${describe(options.name)}`);
  }
  const name = options.name ?? (options.stream === undefined ? target : 'stream');
  const logger = (options.logger ?? defaultLogger()).child({ component: 'sink', sink: 'stdout', client: name });
  return { format, stream, name, logger };
}
