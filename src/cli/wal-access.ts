/**
 * How `inspect`, `dlq` and `wal` reach a WAL: they open it directly when no process holds it;
 * when `walship run` does (`WALSHIP_LOCKED`), they find its pid and admin URL in the admin file
 * (`<wal root>/walship.admin.json`) and read `/status` from it instead.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ErrorCodes, isWalshipError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { type AdminFile, isProcessAlive, readAdminFile } from '../metrics/index.ts';
import { type WalOptions, WriteAheadLog } from '../wal/index.ts';
import { CliError, ExitCodes } from './cli-error.ts';

/** One WAL directory: a flusher's sub-directory of the WAL root, or a WAL given directly. */
export interface WalLocation {
  readonly name: string;
  readonly dir: string;
  /** The WAL root holding the admin file. */
  readonly root: string;
}

/** The WALs in `dir`: `dir` itself when it holds `db/`, else its sub-directories that do. */
export function findWals(dir: string): WalLocation[] {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new CliError(ExitCodes.FAILURE, `no such directory: ${abs}`);
  if (existsSync(join(abs, 'db'))) return [{ name: basename(abs), dir: abs, root: dirname(abs) }];
  const found = readdirSync(abs)
    .filter((n) => {
      const p = join(abs, n);
      // An entry that cannot be looked at (a dangling symlink, a loop, no permission, removed
      // meanwhile) is no WAL: skipped, not a crash.
      try {
        return statSync(p).isDirectory() && existsSync(join(p, 'db'));
      } catch {
        return false;
      }
    })
    .sort()
    .map((n) => ({ name: n, dir: join(abs, n), root: abs }));
  if (found.length === 0) {
    throw new CliError(ExitCodes.FAILURE, `no WAL in ${abs} (expected ${join(abs, 'db')} or sub-directories holding one)`);
  }
  return found;
}

/** The running process named by the admin file of `root` (or of `dir` itself), if alive. */
export async function findHolder(loc: WalLocation): Promise<AdminFile | undefined> {
  for (const r of [loc.root, loc.dir]) {
    const f = await readAdminFile(r);
    if (f !== undefined && isProcessAlive(f.pid)) return f;
  }
  return undefined;
}

export type Opened = { readonly kind: 'open'; readonly wal: WriteAheadLog } | { readonly kind: 'held'; readonly holder: AdminFile | undefined };

/**
 * Opens the WAL, or reports who holds it. Other open failures (corruption, format) become a
 * CliError with a hint.
 */
export async function openWal(loc: WalLocation, logger: Logger, options: Omit<WalOptions, 'dir' | 'logger'> = {}): Promise<Opened> {
  try {
    // No free-space floor here: inspecting must work on a full disk.
    return { kind: 'open', wal: await WriteAheadLog.open({ freeSpaceFloor: 0, ...options, dir: loc.dir, logger }) };
  } catch (err) {
    if (isWalshipError(err, ErrorCodes.LOCKED)) return { kind: 'held', holder: await findHolder(loc) };
    if (isWalshipError(err, ErrorCodes.WAL_CORRUPT)) {
      throw new CliError(ExitCodes.FAILURE, `${loc.dir}: ${err.message}\nrun \`walship wal repair ${loc.dir}\``, { cause: err });
    }
    if (isWalshipError(err)) throw new CliError(ExitCodes.FAILURE, `${loc.dir}: ${err.code}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** "held by pid N" line for a WAL a process owns. */
export function heldMessage(loc: WalLocation, holder: AdminFile | undefined): string {
  return holder === undefined
    ? `${loc.dir} is held by another process (WALSHIP_LOCKED; no live walship admin file found in ${loc.root})`
    : `${loc.dir} is held by pid ${holder.pid} (walship run${holder.config === undefined ? '' : ` --config ${holder.config}`}); reading ${holder.url}/status`;
}

/** GETs `<url>/status` from a running walship. */
export async function fetchStatus(holder: AdminFile): Promise<RunStatus> {
  let res: Response;
  try {
    res = await fetch(`${holder.url}/status`, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new CliError(ExitCodes.FAILURE, `pid ${holder.pid} holds the WAL but its admin endpoint ${holder.url} did not answer: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!res.ok) throw new CliError(ExitCodes.FAILURE, `${holder.url}/status answered ${res.status}`);
  return (await res.json()) as RunStatus;
}

/** The JSON `/status` serves (see src/cli/run-command.ts). */
export interface RunStatus {
  readonly pid: number;
  readonly config: string | undefined;
  readonly configName: string;
  readonly state: string;
  readonly startedAt: string;
  readonly uptimeMs: number;
  readonly walDir: string;
  readonly adminUrl: string;
  readonly flushers: ReadonlyArray<{
    readonly name: string;
    readonly type: string;
    readonly dir: string;
    readonly wal: Record<string, unknown> | undefined;
    readonly delivery: Record<string, unknown> | undefined;
    readonly endpoints: ReadonlyArray<{ readonly name: string; readonly connected: boolean }>;
  }>;
  readonly inputs: ReadonlyArray<Record<string, unknown>>;
}
