/**
 * `walship inspect DIR [--json]`: what a WAL (or a WAL root with one WAL per flusher) holds:
 * pending records and bytes, bytes on disk, age of the oldest record, quota use, dead-letter
 * and quarantine counts, and, when `walship run` holds it, the per-sink state from its
 * `/status`.
 */
import { formatBytes, formatDuration } from '../config/index.ts';
import type { Logger } from '../logging/logger.ts';
import type { WalStats } from '../wal/index.ts';
import { CliError, ExitCodes } from './cli-error.ts';
import { fetchStatus, findWals, heldMessage, openWal, type RunStatus, type WalLocation } from './wal-access.ts';

export interface InspectedWal {
  readonly name: string;
  readonly dir: string;
  /** `wal`: opened directly; `admin`: read from the running process's /status. */
  readonly source: 'wal' | 'admin' | 'none';
  readonly heldBy: { readonly pid: number; readonly url: string } | null;
  readonly wal: WalStats | null;
  readonly delivery: Record<string, unknown> | null;
  readonly endpoints: ReadonlyArray<{ readonly name: string; readonly connected: boolean }>;
  readonly error?: string;
}

export async function inspectWals(dir: string, logger: Logger, maxBytes?: number): Promise<InspectedWal[]> {
  const result: InspectedWal[] = [];
  const statusCache = new Map<string, RunStatus>();
  for (const loc of findWals(dir)) result.push(await inspectOne(loc, logger, statusCache, maxBytes));
  return result;
}

async function inspectOne(loc: WalLocation, logger: Logger, cache: Map<string, RunStatus>, maxBytes?: number): Promise<InspectedWal> {
  const opened = await openWal(loc, logger, maxBytes === undefined ? {} : { maxBytes });
  if (opened.kind === 'open') {
    try {
      return { name: loc.name, dir: loc.dir, source: 'wal', heldBy: null, wal: await opened.wal.stats(), delivery: null, endpoints: [] };
    } finally {
      await opened.wal.close();
    }
  }
  const h = opened.holder;
  logger.info(heldMessage(loc, h));
  if (h === undefined) {
    return { name: loc.name, dir: loc.dir, source: 'none', heldBy: null, wal: null, delivery: null, endpoints: [], error: heldMessage(loc, h) };
  }
  let status = cache.get(h.url);
  if (status === undefined) {
    status = await fetchStatus(h);
    cache.set(h.url, status);
  }
  const f = status.flushers.find((x) => x.dir === loc.dir);
  return {
    name: loc.name,
    dir: loc.dir,
    source: 'admin',
    heldBy: { pid: h.pid, url: h.url },
    wal: (f?.wal as unknown as WalStats | undefined) ?? null,
    delivery: f?.delivery ?? null,
    endpoints: f?.endpoints ?? [],
  };
}

export function renderInspect(wals: readonly InspectedWal[]): string {
  const lines: string[] = [];
  for (const w of wals) {
    const held = w.heldBy === null ? 'not running' : `held by pid ${w.heldBy.pid} (${w.heldBy.url}/status)`;
    lines.push(`${w.name}  ${w.dir}  [${held}]`);
    if (w.error !== undefined) lines.push(`  ${w.error}`);
    const s = w.wal;
    if (s !== null) {
      const row = (k: string, v: string) => lines.push(`  ${k.padEnd(14)}${v}`);
      row('walId', `${s.walId} (${s.state}${s.failure === undefined || s.failure === null ? '' : `, ${s.failure.code}`})`);
      row('pending', `${s.pendingRecords} records, ${formatBytes(s.pendingBytes)}`);
      row('on disk', formatBytes(s.diskBytes));
      row('oldest', s.pendingRecords === 0 ? '-' : formatDuration(s.oldestRecordAgeMs));
      row('quota', `${formatBytes(s.heldBytes)} of ${formatBytes(s.maxBytes)} (${(s.quotaRatio * 100).toFixed(1)}%)${s.overQuota ? ', OVER QUOTA' : ''}`);
      row('dead letters', `${s.deadLetterRecords} (${formatBytes(s.deadLetterBytes)})`);
      row('quarantine', `${s.quarantineRecords} (${formatBytes(s.quarantineBytes)})`);
    }
    if (w.delivery !== null) {
      const d = w.delivery as { deliveredRecords?: number; retries?: number; deadLettered?: number; failures?: Record<string, number> };
      const failures = Object.entries(d.failures ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
      lines.push(`  ${'delivery'.padEnd(14)}${d.deliveredRecords ?? 0} delivered, ${d.retries ?? 0} retries, ${d.deadLettered ?? 0} dead-lettered${failures === '' ? '' : `, failures ${failures}`}`);
    }
    if (w.heldBy === null) lines.push(`  ${'sinks'.padEnd(14)}(no process running)`);
    else for (const e of w.endpoints) lines.push(`  ${'sink'.padEnd(14)}${e.name} ${e.connected ? 'connected' : 'DISCONNECTED'}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function inspectCommand(
  dir: string,
  o: { readonly json?: boolean; readonly maxBytes?: number },
  logger: Logger,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const wals = await inspectWals(dir, logger, o.maxBytes);
  out.write(o.json ? `${JSON.stringify({ dir, wals }, null, 2)}\n` : renderInspect(wals));
  if (wals.some((w) => w.source === 'none')) throw new CliError(ExitCodes.FAILURE, 'some WALs could not be read (see above)');
  return ExitCodes.OK;
}
