/**
 * Finding the files of an input_file: the glob (tinyglobby) run every `pollMs`, with an
 * `fs.watch` on the pattern's base directory as a hint that wakes the input earlier. The
 * watch is only a hint (it misses events on some filesystems and never recurses on Linux):
 * the poll alone is enough for correctness.
 */
import { type FSWatcher, watch } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import type { Logger } from '../logging/logger.ts';

/** The absolute form of `pattern` (relative patterns are taken from the cwd). */
export function absolutePattern(pattern: string): string {
  return isAbsolute(pattern) ? pattern : resolve(pattern);
}

/** The longest leading directory of `pattern` with no glob characters. */
export function baseDirectory(pattern: string): string {
  const parts = absolutePattern(pattern).split(sep);
  const fixed: string[] = [];
  // The last part is a file name (or a pattern of one): the base is a directory.
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    if (isDynamicPattern(part)) break;
    fixed.push(part);
  }
  return fixed.join(sep) || sep;
}

/** Absolute paths of the regular files matching `pattern` now, sorted. */
export async function findFiles(pattern: string): Promise<string[]> {
  const found = await glob(absolutePattern(pattern), { absolute: true, onlyFiles: true, dot: true });
  return found.sort();
}

/**
 * Watches `dir` and calls `onHint` on any event: `'rename'` (a file appeared, went or was
 * renamed: run the glob) or `'change'` (a file grew: just read). Errors only end the hint.
 */
export function watchHint(dir: string, onHint: (kind: 'rename' | 'change') => void, logger: Logger): { close(): void } {
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, (event) => onHint(event === 'rename' ? 'rename' : 'change'));
    watcher.on('error', (err) => {
      logger.debug({ err, dir }, 'fs.watch failed; polling only');
      watcher?.close();
    });
  } catch (err) {
    logger.debug({ err, dir }, 'fs.watch unavailable; polling only');
  }
  return { close: () => watcher?.close() };
}
