/**
 * `walship wal compact DIR`: compacts the acknowledged range and the sidelined spaces now.
 * `walship wal repair DIR`: LevelDB repair + record checks + counters rebuilt + a new walId
 * (W5, W8). Both refuse a WAL that a running process holds.
 */
import { formatBytes } from '../config/index.ts';
import type { Logger } from '../logging/logger.ts';
import { repairWal } from '../wal/index.ts';
import { CliError, ExitCodes } from './cli-error.ts';
import { eachWal } from './dlq-command.ts';
import { findHolder, findWals, heldMessage } from './wal-access.ts';

export async function walCommand(
  action: 'compact' | 'repair',
  dir: string,
  logger: Logger,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  if (action === 'compact') {
    await eachWal(
      dir,
      logger,
      async (wal, loc) => {
        const before = (await wal.stats()).diskBytes;
        await wal.compact();
        const after = (await wal.stats()).diskBytes;
        out.write(`${loc.name}: compacted, ${formatBytes(before)} → ${formatBytes(after)} on disk\n`);
      },
      err,
    );
    return ExitCodes.OK;
  }
  for (const loc of findWals(dir)) {
    // Repair must never run beside a live owner: check the admin file first, then LevelDB's lock.
    const holder = await findHolder(loc);
    if (holder !== undefined) throw new CliError(ExitCodes.FAILURE, `${heldMessage(loc, holder)}\nstop it (SIGTERM) before repairing`);
    try {
      const r = await repairWal({ dir: loc.dir, logger });
      out.write(
        `${loc.name}: repaired; walId ${r.previousWalId ?? '?'} → ${r.walId}; ${r.pendingRecords} pending` +
          `${r.pendingBefore === undefined ? '' : ` (was ${r.pendingBefore})`}, ${r.deadLetterRecords} dead letters, ` +
          `${r.quarantineRecords} quarantined (${r.quarantinedNow} now)\n`,
      );
    } catch (e) {
      throw new CliError(ExitCodes.FAILURE, `${loc.dir}: repair failed: ${(e as Error).message}`, { cause: e });
    }
  }
  return ExitCodes.OK;
}
