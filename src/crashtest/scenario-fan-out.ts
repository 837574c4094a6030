/**
 * Fan-out: one input shipped by three flushers, each with its own WAL and destination: the rig's
 * receiver (fast), a flaky one (30% of requests answered 503) and a slow one behind a small WAL
 * quota (so the input keeps waiting for it). The first flusher's WAL holds the input's
 * checkpoints and is appended to last: a kill between the appends makes the input read the
 * lines again (duplicates in the others), never skip them. `walship run` is SIGKILLed at random
 * moments while the input grows, restarted, and at the end every destination must hold every
 * line.
 */
import { writeFileSync } from 'node:fs';
import { mulberry32 } from '../receiver/prng.ts';
import { crashtestConfig, Rig } from './rig.ts';
import { sleep } from './run-child.ts';
import { describeExit, type ScenarioOptions, type ScenarioReport, ScenarioLog } from './scenario-kit.ts';
import { LINE_BYTES } from './seq-input.ts';
import { SeqReceiver } from './seq-receiver.ts';

/** SIGKILLs before the last life. */
const KILLS = 8;

export async function fanOutScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const log = new ScenarioLog('fan-out', o.onProgress);
  const rig = await Rig.create({ dir: o.dir, command: o.command, records: o.records, receiver: { seed: o.seed } });
  const flaky = await SeqReceiver.start({ expected: o.records, failRate: 0.3, seed: o.seed + 1 });
  const slow = await SeqReceiver.start({ expected: o.records, latencyMs: [2, 15], seed: o.seed + 2 });
  const destinations = [
    { name: 'http', receiver: rig.receiver },
    { name: 'flaky', receiver: flaky },
    { name: 'slow', receiver: slow },
  ];
  // The slow flusher's quota: about a tenth of the input, at least 64 KiB.
  const quota = Math.max(64 * 1024, Math.floor((o.records * LINE_BYTES) / 10));
  const config = crashtestConfig(rig.input, rig.walRoot, rig.receiver.url) as { flushers: Array<Record<string, unknown>> };
  const base = config.flushers[0] as Record<string, unknown>;
  config.flushers.push(
    { ...base, Name: 'flaky', RemoteURL: `${flaky.url}/ingest` },
    { ...base, Name: 'slow', RemoteURL: `${slow.url}/ingest`, Wal: { MaxBytes: String(quota) } },
  );
  writeFileSync(rig.configPath, `${JSON.stringify(config, null, 2)}\n`);
  log.details.slowQuotaBytes = quota;
  const random = mulberry32(o.seed);
  let life = rig.launch();
  try {
    let killed = 0;
    for (let k = 0; k < KILLS; k++) {
      rig.writeUpTo(Math.ceil((o.records * (k + 1)) / (KILLS + 1)));
      if (!(await life.reached('running', 30_000))) break;
      await sleep(50 + random() * 400);
      await life.kill();
      killed++;
      life = rig.launch();
    }
    log.check(`walship run was killed (SIGKILL) ${KILLS} times while shipping to three destinations`, killed === KILLS, `${killed} kills`);
    rig.writeUpTo(o.records);
    const all = await life.until(() => destinations.every((d) => d.receiver.stats().unique >= o.records), o.timeoutMs);
    const counts = Object.fromEntries(
      destinations.map((d) => {
        const s = d.receiver.stats();
        return [d.name, { unique: s.unique, duplicatesBeforeDedup: s.duplicatesBeforeDedup, duplicatesAfterDedup: s.duplicatesAfterDedup, failed: s.failed }];
      }),
    );
    log.details.destinations = counts;
    for (const d of destinations) {
      const s = d.receiver.stats();
      log.check(`destination ${d.name} has every line`, s.unique === o.records, `${s.unique}/${o.records}, missing e.g. ${d.receiver.missing(3).join(', ') || 'none'}`);
    }
    log.check('the flaky destination did refuse requests', flaky.stats().failed > 0, `${flaky.stats().failed} answered 503`);
    log.check('every line was there in time', all, describeExit(life));
    const exit = await life.stop(15_000);
    log.check('the last walship run stops gracefully (exit 0)', exit.code === 0, describeExit(life));
  } finally {
    await life.kill();
    await Promise.all([rig.close(), flaky.close(), slow.close()]);
  }
  const lost = destinations.reduce((n, d) => n + (o.records - d.receiver.stats().unique), 0);
  return log.report(rig, { lost });
}
