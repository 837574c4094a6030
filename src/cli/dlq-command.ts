/**
 * `walship dlq list|replay|purge DIR`: the dead-letter space of a WAL (or of every WAL under
 * a root). `replay` moves dead letters back to the pending log with their original
 * idempotency keys, so a deduplicating sink still recognises records it did accept.
 * These need the WAL itself: when `walship run` holds it, they say so (pid, counts from its
 * `/status`) and exit 1.
 */
import { formatBytes } from '../config/index.ts';
import type { Logger } from '../logging/logger.ts';
import type { WriteAheadLog } from '../wal/index.ts';
import { CliError, ExitCodes } from './cli-error.ts';
import { fetchStatus, findWals, heldMessage, openWal, type WalLocation } from './wal-access.ts';

/** Runs `fn` on each WAL under `dir`; a held WAL fails the command with the holder's pid. */
export async function eachWal(
  dir: string,
  logger: Logger,
  fn: (wal: WriteAheadLog, loc: WalLocation) => Promise<void>,
  err: NodeJS.WritableStream,
): Promise<void> {
  const held: string[] = [];
  for (const loc of findWals(dir)) {
    const opened = await openWal(loc, logger);
    if (opened.kind === 'held') {
      let line = heldMessage(loc, opened.holder);
      if (opened.holder !== undefined) {
        const status = await fetchStatus(opened.holder).catch(() => undefined);
        const wal = status?.flushers.find((f) => f.dir === loc.dir)?.wal as { deadLetterRecords?: number; pendingRecords?: number } | undefined;
        if (wal !== undefined) line += `\n  (from /status: ${wal.pendingRecords} pending, ${wal.deadLetterRecords} dead letters)`;
      }
      err.write(`${line}\n`);
      held.push(loc.dir);
      continue;
    }
    try {
      await fn(opened.wal, loc);
    } finally {
      await opened.wal.close();
    }
  }
  if (held.length > 0) {
    throw new CliError(ExitCodes.FAILURE, `${held.length} WAL${held.length === 1 ? ' is' : 's are'} held by a running process: stop it (SIGTERM) and run this again`);
  }
}

export async function dlqCommand(
  action: 'list' | 'replay' | 'purge',
  dir: string,
  o: { readonly json?: boolean; readonly limit?: number; readonly quarantine?: boolean },
  logger: Logger,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const listed: unknown[] = [];
  await eachWal(
    dir,
    logger,
    async (wal, loc) => {
      switch (action) {
        case 'list': {
          const letters = await wal.listDeadLetters(o.limit);
          const quarantined = o.quarantine ? await wal.listQuarantine(o.limit) : [];
          const rows = [
            ...letters.map((r) => ({ space: 'dead-letter', ...row(r) })),
            ...quarantined.map((r) => ({ space: 'quarantine', ...row(r) })),
          ];
          if (o.json) listed.push({ name: loc.name, dir: loc.dir, records: rows });
          else {
            out.write(`${loc.name}  ${loc.dir}: ${letters.length} dead letter${letters.length === 1 ? '' : 's'}${o.quarantine ? `, ${quarantined.length} quarantined` : ''}\n`);
            for (const r of rows) {
              out.write(`  ${r.space === 'quarantine' ? 'Q ' : ''}seq ${r.seq}  ${r.movedAt}  ${r.project}/${r.logstore}  ${formatBytes(r.bytes)}  key ${r.idempotencyKey ?? '-'}  reason: ${r.reason}\n`);
            }
          }
          break;
        }
        case 'replay': {
          const n = await wal.replayDeadLetters();
          out.write(`${loc.name}: replayed ${n} dead letter${n === 1 ? '' : 's'} into the pending log (original idempotency keys kept)\n`);
          break;
        }
        case 'purge': {
          const n = await wal.purgeDeadLetters();
          const q = o.quarantine ? await wal.purgeQuarantine() : 0;
          await wal.compact();
          out.write(`${loc.name}: purged ${n} dead letter${n === 1 ? '' : 's'}${o.quarantine ? ` and ${q} quarantined record${q === 1 ? '' : 's'}` : ''}\n`);
          break;
        }
      }
    },
    err,
  );
  if (action === 'list' && o.json) out.write(`${JSON.stringify(listed, null, 2)}\n`);
  return ExitCodes.OK;
}

function row(r: Awaited<ReturnType<WriteAheadLog['listDeadLetters']>>[number]) {
  return {
    seq: r.seq,
    reason: r.reason,
    movedAt: new Date(r.movedAt).toISOString(),
    idempotencyKey: r.idempotencyKey ?? null,
    project: r.meta?.project ?? '',
    logstore: r.meta?.logstore ?? '',
    bytes: r.bytes,
  };
}
