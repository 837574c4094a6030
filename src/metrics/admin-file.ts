import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_FILE_NAME } from '../config/defaults.ts';

/** `<wal.Dir>/walship.admin.json`: which process runs on this WAL root and where its admin server is. */
export interface AdminFile {
  readonly pid: number;
  /** `http://127.0.0.1:<port>`; `/status`, `/metrics`, `/healthz` hang off it. */
  readonly url: string;
  readonly config: string | undefined;
  readonly startedAt: string;
  /** Flusher names (the WAL sub-directories). */
  readonly flushers: readonly string[];
}

export function adminFilePath(walRoot: string): string {
  return join(walRoot, ADMIN_FILE_NAME);
}

/** Written atomically (temp file + rename), mode 0600. */
export async function writeAdminFile(walRoot: string, file: AdminFile): Promise<void> {
  const path = adminFilePath(walRoot);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** The admin file, or undefined when absent or unreadable. */
export async function readAdminFile(walRoot: string): Promise<AdminFile | undefined> {
  try {
    const v = JSON.parse(await readFile(adminFilePath(walRoot), 'utf8')) as AdminFile;
    return typeof v.pid === 'number' && typeof v.url === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the admin file if it is this process's (a newer process's file is left alone). */
export async function removeAdminFile(walRoot: string, pid = process.pid): Promise<void> {
  const f = await readAdminFile(walRoot);
  if (f === undefined || f.pid === pid) await rm(adminFilePath(walRoot), { force: true });
}

/** True when a process with this pid exists (signal 0). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
