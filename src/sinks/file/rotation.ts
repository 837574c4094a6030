/**
 * Size-based rotation: `path` → `path.1` → … → `path.<maxFiles>` (the oldest is replaced).
 *
 * Called between two writes, with the current file closed, so a line is never split across
 * files and never written twice. Each step is one `rename` (atomic): a crash in the middle can
 * leave a gap in the numbering, never a lost or doubled line. The directory is fsynced after
 * the renames, so the new names survive a power loss as the lines did.
 */
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The name of the `n`-th rotated file (`n` ≥ 1). */
export function rotatedPath(path: string, n: number): string {
  return `${path}.${n}`;
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
}

/** fsyncs a directory, so that renames and newly created files in it are durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Shifts the rotated files up by one and moves `path` to `path.1`. `path` must be closed. */
export async function rotateFiles(path: string, maxFiles: number): Promise<void> {
  for (let n = maxFiles - 1; n >= 1; n--) await renameIfExists(rotatedPath(path, n), rotatedPath(path, n + 1));
  await rename(path, rotatedPath(path, 1));
  await syncDirectory(dirname(path));
}
