/**
 * `walship crashtest`: the crash harness (src/crashtest) as a command. Progress lines go to
 * stderr, the report to stdout (text, or JSON with `--json`). Exit 0 when nothing was lost and
 * every scenario asked for passed (or was skipped), 1 otherwise, 2 on bad flags.
 */
import { type CrashtestOptions, runCrashtest } from '../crashtest/crashtest.ts';
import { renderReport } from '../crashtest/render.ts';
import { SCENARIOS, type ScenarioName } from '../crashtest/scenarios.ts';
import { ErrorCodes, isWalshipError } from '../errors.ts';
import { CliError, ExitCodes } from './cli-error.ts';

export interface CrashtestCommandOptions {
  readonly records?: number;
  readonly kills?: number;
  readonly failRate?: number;
  readonly seed?: number;
  readonly json?: boolean;
  readonly dir?: string;
  readonly timeout?: number;
  readonly quiet?: boolean;
  readonly quotaFull?: boolean;
  readonly diskFull?: boolean;
  readonly corruption?: boolean;
  readonly secondProcess?: boolean;
  readonly fanOut?: boolean;
  readonly allScenarios?: boolean;
}

const FLAG_OF: Readonly<Record<ScenarioName, keyof CrashtestCommandOptions>> = {
  'quota-full': 'quotaFull',
  'disk-full': 'diskFull',
  corruption: 'corruption',
  'second-process': 'secondProcess',
  'fan-out': 'fanOut',
};

export async function crashtestCommand(
  o: CrashtestCommandOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const scenarios = SCENARIOS.filter((s) => o.allScenarios === true || o[FLAG_OF[s]] === true);
  const options: CrashtestOptions = {
    ...(o.records === undefined ? {} : { records: o.records }),
    ...(o.kills === undefined ? {} : { kills: o.kills }),
    ...(o.failRate === undefined ? {} : { failRate: o.failRate }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.dir === undefined ? {} : { dir: o.dir }),
    ...(o.timeout === undefined ? {} : { timeoutMs: o.timeout }),
    scenarios,
    ...(o.quiet === true ? {} : { onProgress: (line: string) => err.write(`crashtest: ${line}\n`) }),
  };
  let report;
  try {
    report = await runCrashtest(options);
  } catch (e) {
    if (isWalshipError(e, ErrorCodes.INVALID_OPTIONS)) throw new CliError(ExitCodes.USAGE, e.message);
    throw e;
  }
  out.write(o.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  return report.passed ? ExitCodes.OK : ExitCodes.FAILURE;
}
