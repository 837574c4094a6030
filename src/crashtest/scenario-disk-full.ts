/**
 * Real disk full: the WAL lives on a small tmpfs (root only; skipped with the reason
 * otherwise). With the receiver down, half the input is appended; then a filler file takes
 * every free byte and the other half of the input is written. Appends must fail with
 * `WALSHIP_DISK_FULL` (logged) while `walship run` keeps running; once the filler is gone and
 * the receiver is back, everything is delivered, and afterwards `walship inspect` and a full
 * WAL check find nothing damaged.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkWal } from './kill-loop.ts';
import { LINE_BYTES } from './seq-input.ts';
import { Rig } from './rig.ts';
import { describeExit, receivedAll, type ScenarioOptions, type ScenarioReport, ScenarioLog, statusUntil } from './scenario-kit.ts';

/** Size of the tmpfs the WAL gets. */
export const DISK_FULL_FS_SIZE = '8m';

/** Mounts a tmpfs at `dir`; the reason it could not, or undefined. */
function mountTmpfs(dir: string): string | undefined {
  if (process.platform !== 'linux') return `needs Linux tmpfs (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root to mount a small tmpfs (run as root, or in a container with CAP_SYS_ADMIN)';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_FULL_FS_SIZE}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}

/** Writes zeros to `path` until the filesystem refuses (ENOSPC); returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    // The last page or so: small writes until nothing fits.
    for (const n of [4096, 512, 1]) {
      for (;;) {
        try {
          written += writeSync(fd, block, 0, n);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

export async function diskFullScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const log = new ScenarioLog('disk-full', o.onProgress);
  const mountPoint = join(o.dir, 'fs');
  mkdirSync(mountPoint, { recursive: true });
  const why = mountTmpfs(mountPoint);
  if (why !== undefined) {
    log.note(`skipped: ${why}`);
    return log.report(undefined, { skipped: why });
  }
  let rig: Rig | undefined;
  try {
    rig = await Rig.create({ dir: o.dir, walRoot: join(mountPoint, 'wal'), command: o.command, records: o.records, receiver: { down: true, seed: o.seed } });
    const r = rig;
    const half = Math.ceil(o.records / 2);
    r.writeUpTo(half);
    const life = r.launch();
    try {
      const read = await statusUntil(r, life, (s) => s.inputs[0]?.bytesRead === half * LINE_BYTES, o.timeoutMs);
      log.check('the first half of the input is in the WAL', read.ok, `read ${read.status?.inputs[0]?.bytesRead ?? '?'} bytes`);
      const filler = join(mountPoint, 'filler');
      log.details.fillerBytes = fill(filler);
      r.writeUpTo(o.records);
      log.note(`disk filled (${String(log.details.fillerBytes)} bytes); second half of the input written`);
      const coded = await life.until(() => life.codes().has('WALSHIP_DISK_FULL'), 30_000);
      log.details.codes = [...life.codes()];
      log.check('appends fail with WALSHIP_DISK_FULL, and walship run logs it', coded, [...life.codes()].join(', '));
      log.check('walship run keeps running on a full disk', life.alive, describeExit(life));
      rmSync(filler);
      await r.receiver.up();
      log.note('space freed, receiver up');
      const all = await receivedAll(r, life, o.timeoutMs);
      log.check('once space returns, every line is delivered', all, `received ${r.receiver.stats().unique}/${o.records}`);
      log.details.recoveredLogged = life.lines().some((l) => l.msg === 'WAL reopened and accepting again');
      await statusUntil(r, life, (s) => s.flushers[0]?.wal?.pendingRecords === 0, 10_000);
      const exit = await life.stop(15_000);
      log.check('walship run stops gracefully (exit 0)', exit.code === 0, describeExit(life));
    } finally {
      await life.kill();
    }
    const inspect = await r.walship(['inspect', r.walRoot, '--json']);
    let inspected: { wals?: Array<{ wal?: { state?: string; failure?: unknown; quarantineRecords?: number; pendingRecords?: number } | null }> } = {};
    try {
      inspected = JSON.parse(inspect.stdout) as typeof inspected;
    } catch {
      // Checked below.
    }
    const w = inspected.wals?.[0]?.wal;
    log.details.inspect = w;
    log.check(
      'walship inspect opens the WAL afterwards: no failure, nothing quarantined, nothing pending',
      inspect.code === 0 && w != null && (w.failure ?? null) === null && w.quarantineRecords === 0 && w.pendingRecords === 0,
      `exit ${inspect.code}: ${inspect.code === 0 ? JSON.stringify(w) : inspect.stderr.trim()}`,
    );
    const wal = await checkWal(r.walDir);
    log.check('a full scan of the WAL agrees with its counters', wal.consistent, JSON.stringify(wal));
  } finally {
    await rig?.close();
    unmount(mountPoint);
  }
  return log.report(rig);
}
