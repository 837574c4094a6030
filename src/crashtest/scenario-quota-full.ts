/**
 * Quota full: the receiver is down from the start, so the WAL fills to its quota (a fraction of
 * the input). The input must pause (stop reading, drop nothing), and once the receiver is back
 * resume and deliver every line.
 */
import { LINE_BYTES } from './seq-input.ts';
import { Rig } from './rig.ts';
import { describeExit, receivedAll, type ScenarioOptions, type ScenarioReport, ScenarioLog, statusUntil } from './scenario-kit.ts';
import { sleep } from './run-child.ts';

/** The quota: about a third of the input's bytes, at least 64 KiB. */
export function quotaFor(records: number): number {
  return Math.max(64 * 1024, Math.floor((records * LINE_BYTES) / 3));
}

/** How long the input must read nothing while the WAL is full to count as paused (ms). */
const PAUSE_OBSERVED_MS = 1000;

export async function quotaFullScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const log = new ScenarioLog('quota-full', o.onProgress);
  const quota = quotaFor(o.records);
  const rig = await Rig.create({ dir: o.dir, command: o.command, records: o.records, maxBytes: String(quota), receiver: { down: true, seed: o.seed } });
  const inputBytes = o.records * LINE_BYTES;
  log.details.quotaBytes = quota;
  log.details.inputBytes = inputBytes;
  const life = rig.launch();
  try {
    rig.writeUpTo(o.records);
    const full = await statusUntil(rig, life, (s) => (s.inputs[0]?.paused ?? false) && (s.flushers[0]?.wal?.overQuota ?? false), o.timeoutMs);
    const read1 = full.status?.inputs[0]?.bytesRead ?? -1;
    log.check('the WAL reaches its quota while the receiver is down, and the input pauses', full.ok, `held ${full.status?.flushers[0]?.wal?.heldBytes ?? '?'} of ${quota} bytes, read ${read1} of ${inputBytes}`);
    await sleep(PAUSE_OBSERVED_MS);
    const again = await statusUntil(rig, life, () => true, 5000);
    const read2 = again.status?.inputs[0]?.bytesRead ?? -2;
    log.check(`the input reads nothing more while the WAL is full (${PAUSE_OBSERVED_MS} ms)`, read1 === read2 && read1 < inputBytes, `${read1} → ${read2} bytes read`);
    log.check('walship run keeps running while full', life.alive, describeExit(life));
    log.details.pausedLogged = life.lines().some((l) => /reading paused/.test(String(l.msg)));

    await rig.receiver.up();
    log.note('receiver up');
    const all = await receivedAll(rig, life, o.timeoutMs);
    const end = await statusUntil(rig, life, (s) => s.inputs[0]?.bytesRead === inputBytes && s.flushers[0]?.wal?.pendingRecords === 0, 10_000);
    log.check('after the receiver is back, the input resumes and every line is delivered', all && end.ok, `received ${rig.receiver.stats().unique}/${o.records}`);
    log.check('nothing was dead-lettered or quarantined', end.status?.flushers[0]?.wal !== undefined && (end.status.flushers[0].wal.quarantineRecords ?? 0) === 0);
    const exit = await life.stop(15_000);
    log.check('walship run stops gracefully (exit 0)', exit.code === 0, describeExit(life));
    log.details.pauses = end.status?.inputs[0]?.pauses;
  } finally {
    await life.kill();
    await rig.close();
  }
  return log.report(rig);
}
