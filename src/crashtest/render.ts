/** The crashtest report as text (`--json` prints the report object itself). */
import type { CrashtestReport } from './crashtest.ts';

export function renderReport(r: CrashtestReport): string {
  const ms = (v: number | null): string => (v === null ? '-' : `${v} ms`);
  const lines = [
    `walship crashtest — seed ${r.seed} (replay: walship crashtest --records ${r.records} --kills ${r.kills} --fail-rate ${r.failRate} --seed ${r.seed})`,
    `  records            ${r.records}`,
    `  kills              ${r.kills} (${r.lives} lives; killed while ${Object.entries(r.killedIn).filter(([, n]) => n > 0).map(([p, n]) => `${p} ${n}`).join(', ') || '-'})`,
    `  receiver           ${r.requests} requests, ${r.failedRequests} failed (503), ${r.resets} resets, ${r.receiverRestarts} restarts, ${r.receiverOutages} outages`,
    `  compactions        ${r.compactions}`,
    `  lost               ${r.lost}${r.lost > 0 ? ` (first: ${r.lostSample.join(', ')})` : ''}`,
    `  duplicates         ${r.duplicatesBeforeDedup} before dedup, ${r.duplicatesAfterDedup} after dedup (by idempotency key)`,
    `  restart → first delivery  worst ${ms(r.worstRestartToFirstDeliveryMs)}, median ${ms(r.medianRestartToFirstDeliveryMs)} (from spawn); worst ${ms(r.worstRunningToFirstDeliveryMs)} from "walship running"`,
    `  WAL after stop     ${r.wal.consistent ? 'consistent' : 'INCONSISTENT'}, ${r.wal.pendingRecords} pending, ${r.wal.quarantineRecords} quarantined, ${r.wal.deadLetterRecords} dead letters`,
  ];
  for (const s of r.scenarios) {
    const state = s.skipped !== undefined ? `SKIPPED: ${s.skipped}` : s.passed ? 'passed' : 'FAILED';
    lines.push(`  scenario ${s.name}: ${state} (${(s.durationMs / 1000).toFixed(1)} s; ${s.records} records, ${s.lost} lost, ${s.duplicatesBeforeDedup}/${s.duplicatesAfterDedup} duplicates before/after dedup)`);
    for (const c of s.checks) lines.push(`    ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}${c.detail === undefined ? '' : ` — ${c.detail}`}`);
    const q = s.details.lostToQuarantine as { lines: number; seqs: string } | undefined;
    const d = s.details.lostToRepair as { records: number; lines: number; seqs: string; reason: string } | undefined;
    if (q !== undefined && q.lines > 0) lines.push(`    lost to quarantine: ${q.lines} lines (${q.seqs}); reasons: ${JSON.stringify(s.details.quarantined)}`);
    if (d !== undefined && d.lines > 0) lines.push(`    lost to repair: ${d.lines} lines (${d.seqs}) in ${d.records} records — ${d.reason}`);
  }
  lines.push(`  duration           ${(r.durationMs / 1000).toFixed(1)} s`);
  lines.push(r.passed ? 'PASSED' : `FAILED — logs and WALs kept in ${r.dir}`);
  return `${lines.join('\n')}\n`;
}
