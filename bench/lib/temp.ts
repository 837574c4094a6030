/**
 * Scratch directories under `os.tmpdir()`: one root per benchmark process, removed on exit
 * (also after a failure or Ctrl-C), and the on-disk size of a directory tree.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cp, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class TempRoot {
  readonly path: string;
  private removed = false;

  private constructor(path: string) {
    this.path = path;
  }

  /** Creates `<tmpdir>/<prefix>XXXXXX`. */
  static create(prefix: string): TempRoot {
    return new TempRoot(mkdtempSync(join(tmpdir(), prefix)));
  }

  /** A fresh, empty subdirectory path (created). */
  async dir(name: string): Promise<string> {
    const path = join(this.path, name);
    await rm(path, { recursive: true, force: true });
    await mkdir(path, { recursive: true });
    return path;
  }

  /** Removes everything; safe to call more than once, and from an exit handler (sync). */
  removeSync(): void {
    if (this.removed) return;
    this.removed = true;
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Copies a directory tree (e.g. a closed LevelDB store, to drain the same backlog again). */
export async function copyDir(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await cp(from, to, { recursive: true });
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Sum of the sizes of every regular file under `dir` (0 if it does not exist). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(path);
    else if (e.isFile()) total += (await stat(path).catch(() => undefined))?.size ?? 0;
  }
  return total;
}
