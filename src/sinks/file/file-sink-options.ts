import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_FILE_MAX_BYTES, DEFAULT_FILE_MAX_FILES, DEFAULT_FILE_MODE } from '../../config/defaults.ts';
import { defaultLogger, type Logger } from '../../logging/logger.ts';
import { describeValue as describe, integerOption as integer, invalidOption as invalid } from '../option-checks.ts';

/** Options of {@link createFileClient}. Every field but `path` is optional. */
export interface FileSinkOptions {
  /** The NDJSON file logs are appended to (relative paths resolve against the working directory). */
  readonly path: string;
  /**
   * Rotate before a write that would take the file past this many bytes (a write is never
   * split: a file exceeds it only when one write alone is larger). 0 means never rotate.
   * @defaultValue 0 ({@link DEFAULT_FILE_MAX_BYTES})
   */
  readonly maxBytes?: number;
  /**
   * Rotated files kept: `path.1` (the newest) … `path.<maxFiles>`; rotating drops the oldest.
   * @defaultValue 5 ({@link DEFAULT_FILE_MAX_FILES})
   */
  readonly maxFiles?: number;
  /** Permission bits of a file the sink creates (before the umask). @defaultValue 0o640 ({@link DEFAULT_FILE_MODE}) */
  readonly mode?: number;
  /** A name for logs and metrics. @defaultValue `file://<absolute path>` */
  readonly name?: string;
  /** Parent logger; the client logs through a child `{component: 'sink', sink: 'file'}`. */
  readonly logger?: Logger;
}

export interface ResolvedFileSinkOptions {
  /** Absolute. */
  readonly path: string;
  readonly maxBytes: number;
  readonly maxFiles: number;
  readonly mode: number;
  readonly name: string;
  readonly logger: Logger;
}

/** Merges `options` over the defaults and validates them; throws `WALSHIP_INVALID_OPTIONS` naming the option. */
export function resolveFileSinkOptions(options: FileSinkOptions): ResolvedFileSinkOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('Expected file sink options to be an object');
  if (typeof options.path !== 'string' || options.path === '' || options.path.includes('\0')) {
    throw invalid(`Expected \`path\` to be a non-empty file path, got ${describe(options.path)}`);
  }
  const path = isAbsolute(options.path) ? options.path : resolve(options.path);
  const maxBytes = integer('maxBytes', options.maxBytes, DEFAULT_FILE_MAX_BYTES, 0);
  const maxFiles = integer('maxFiles', options.maxFiles, DEFAULT_FILE_MAX_FILES, 1, 1000);
  const mode = integer('mode', options.mode, DEFAULT_FILE_MODE, 0, 0o7777);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    throw invalid(`Expected \`name\` to be a non-empty string, got ${describe(options.name)}`);
  }
  const name = options.name ?? `file://${path}`;
  const logger = (options.logger ?? defaultLogger()).child({ component: 'sink', sink: 'file', client: name });
  return { path, maxBytes, maxFiles, mode, name, logger };
}
