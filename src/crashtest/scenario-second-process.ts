/**
 * A second process on the same WAL: while one `walship run` holds it, a second one with the
 * same config must refuse at once (exit 1, `WALSHIP_LOCKED`), and the first must go on
 * undisturbed and deliver everything.
 */
import { Rig } from './rig.ts';
import { describeExit, receivedAll, type ScenarioOptions, type ScenarioReport, ScenarioLog } from './scenario-kit.ts';

export async function secondProcessScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const log = new ScenarioLog('second-process', o.onProgress);
  // Slow answers keep the first process busy delivering while the second one tries.
  const rig = await Rig.create({ dir: o.dir, command: o.command, records: o.records, receiver: { latencyMs: [5, 30], seed: o.seed } });
  rig.writeUpTo(Math.ceil(o.records / 2));
  const first = rig.launch('first');
  let second: ReturnType<Rig['launch']> | undefined;
  try {
    log.check('the first walship run starts', await first.reached('running', 30_000), describeExit(first));
    const deliveredBefore = rig.receiver.stats().unique;
    second = rig.launch('second');
    const exit = await Promise.race([second.exited, new Promise<undefined>((r) => setTimeout(r, 30_000, undefined))]);
    const codes = second.codes();
    const text = second.lines().map((l) => String(l.msg)).join('\n');
    log.details.secondExit = exit === undefined ? 'still running' : describeExit(second);
    log.details.secondOutput = text.slice(0, 500);
    log.check('the second process exits with code 1', exit?.code === 1, describeExit(second));
    log.check('the second process names WALSHIP_LOCKED', codes.has('WALSHIP_LOCKED'), [...codes].join(', ') || text.slice(0, 200));
    log.check('the second process never got past opening', second.phase() === 'booting', second.phase());
    rig.writeUpTo(o.records);
    log.check('the first process is still running', first.alive && first.phase() === 'running', describeExit(first));
    const all = await receivedAll(rig, first, o.timeoutMs);
    log.check('the first process delivers every line, including those written after the second one tried', all, `received ${rig.receiver.stats().unique}/${o.records} (${deliveredBefore} before the second started)`);
    const stop = await first.stop(15_000);
    log.check('the first process stops gracefully (exit 0)', stop.code === 0, describeExit(first));
  } finally {
    await second?.kill();
    await first.kill();
    await rig.close();
  }
  return log.report(rig);
}
