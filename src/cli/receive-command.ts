/**
 * `walship receive`: the test receiver (src/receiver) as a command, with its faults on flags.
 * Prints its URL on stdout, serves until SIGINT/SIGTERM, then prints its counters as JSON.
 */
import { startReceiver } from '../receiver/index.ts';
import { CliError, ExitCodes } from './cli-error.ts';
import { createCliLogger } from './cli-logger.ts';

export interface ReceiveCommandOptions {
  readonly port?: number;
  readonly host?: string;
  readonly failRate?: number;
  readonly status?: number;
  /** `"20"` or `"5-50"` (ms). */
  readonly latency?: string;
  readonly resetRate?: number;
  readonly out?: string;
  readonly seed?: number;
  readonly logLevel?: string;
}

export function parseLatency(s: string): number | [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s.trim());
  if (m === null) throw new CliError(ExitCodes.USAGE, `--latency: expected milliseconds ("20") or a range ("5-50"), got ${JSON.stringify(s)}`);
  return m[2] === undefined ? Number(m[1]) : [Number(m[1]), Number(m[2])];
}

export async function receiveCommand(o: ReceiveCommandOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const logger = createCliLogger(o.logLevel ?? 'warn');
  const latencyMs = o.latency === undefined ? undefined : parseLatency(o.latency);
  let receiver;
  try {
    receiver = await startReceiver({
      ...(o.port === undefined ? {} : { port: o.port }),
      ...(o.host === undefined ? {} : { host: o.host }),
      ...(o.failRate === undefined ? {} : { failRate: o.failRate }),
      ...(o.status === undefined ? {} : { failStatus: o.status }),
      ...(latencyMs === undefined ? {} : { latencyMs }),
      ...(o.resetRate === undefined ? {} : { resetRate: o.resetRate }),
      ...(o.out === undefined ? {} : { out: o.out }),
      ...(o.seed === undefined ? {} : { seed: o.seed }),
      // Long runs write to --out; memory keeps only counters then.
      keepLogs: false,
      logger,
    });
  } catch (err) {
    throw new CliError((err as { code?: string }).code === 'WALSHIP_INVALID_OPTIONS' ? ExitCodes.USAGE : ExitCodes.FAILURE, (err as Error).message);
  }
  out.write(`walship receive: listening on ${receiver.url} (seed ${receiver.seed})\n`);
  const r = receiver;
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await r.close();
  out.write(`${JSON.stringify(r.stats())}\n`);
  return ExitCodes.OK;
}
