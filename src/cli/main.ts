#!/bin/sh
//usr/bin/env true; exec node --max-semi-space-size=1 "$0" "$@"
/**
 * # The `walship` command
 *
 * | command | what it does |
 * |---|---|
 * | `walship run --config FILE` | runs the pipeline of a JSON config until SIGTERM/SIGINT |
 * | `walship validate FILE` | checks a config without running it |
 * | `walship receive [--port] [--fail-rate] [--status] [--latency] [--reset-rate] [--out]` | the test receiver |
 * | `walship inspect DIR [--json]` | what a WAL holds (reads `/status` when a process holds it) |
 * | `walship dlq list\|replay\|purge DIR` | the dead-letter space |
 * | `walship wal compact\|repair DIR` | WAL maintenance |
 * | `walship crashtest [--records N] [--kills K] [--fail-rate P] [--seed S] [--json] [--quota-full] [--disk-full] [--corruption] [--second-process] [--fan-out]` | kills `walship run` at random and checks nothing was lost |
 * | `walship demo [--wal-dir] [--encoding] [--seed]` (also with no command) | the sample logs through input_file, the WAL and flusher_http to a flaky receiver |
 *
 * ## Invariants
 *
 * - **X1** Exit codes: 0 ok; 1 runtime failure (WAL held or damaged, a server down at
 *   start, logs an input had read lost at a graceful stop, ...); 2 usage or config error (unknown command or option, invalid config: nothing
 *   was started). A second signal during a graceful stop exits with 130 (SIGINT) / 143 (SIGTERM).
 * - **X2** Results go to stdout; logs (pino JSON lines, credentials redacted) and errors go
 *   to stderr, so `flusher_stdout` and `--json` output stay clean.
 * - **X3** `inspect`, `dlq` and `wal` never open a WAL another process holds: they report the
 *   holder's pid and read its admin endpoint (`/status`) instead; `wal repair` also refuses
 *   while the admin file names a live process.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS, parseSize } from '../config/index.ts';
import { isWalshipError } from '../errors.ts';
import { CliError, ExitCodes } from './cli-error.ts';
import { createCliLogger } from './cli-logger.ts';
// Each command's module is loaded when the command runs: `walship run` does not load the
// receiver, the crash harness or the demo (startup time, memory).

const root = join(import.meta.dirname, '..', '..');
const COMMANDS = ['run', 'validate', 'receive', 'inspect', 'dlq', 'wal', 'crashtest', 'demo'];

function intArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

function rateArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
}

function sizeArg(v: string): number {
  const n = parseSize(v);
  if (n === undefined || n < 1) throw new InvalidArgumentError('expected a size such as "1GiB" or a number of bytes');
  return n;
}

/** Commander's errors as one `walship: ...` line; an unknown command lists the known ones. */
function errorOutput(name: string, commands: readonly string[]) {
  return {
    outputError: (str: string, write: (s: string) => void) => {
      const m = /unknown command '([^']*)'/.exec(str);
      write(m === null ? `walship: ${str.replace(/^error: /, '')}` : `${name}: unknown command ${JSON.stringify(m[1])}; available: ${commands.join(', ')}\n`);
    },
  };
}

let exitCode: number = ExitCodes.OK;

function buildProgram(): Command {
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // Not beside its package.json (a copied bundle): the version is all that is lost.
  }
  const program = new Command('walship')
    .description('A durable, disk-buffered log flusher: inputs → LevelDB WAL → sinks, at least once.')
    .version(version)
    .addOption(new Option('--log-level <level>', 'log level (logs are JSON lines on stderr)').choices(LOG_LEVELS))
    .exitOverride()
    .configureOutput(errorOutput('walship', COMMANDS));
  const logLevel = (fallback: string): string => (program.opts().logLevel as string | undefined) ?? fallback;

  program
    .command('run')
    .description('run the pipeline of a JSON config until SIGTERM/SIGINT (a second signal exits at once)')
    .requiredOption('-c, --config <file>', 'the JSON config')
    .option('--metrics-port <port>', 'port of /metrics, /healthz and /status (overrides metrics.Port)', intArg(0, 65535))
    .option('--metrics-host <host>', 'address of the admin server (overrides metrics.Host)')
    .action(async (o: { config: string; metricsPort?: number; metricsHost?: string }) => {
      const level = program.opts().logLevel as string | undefined;
      exitCode = await (await import('./run-command.ts')).runCommand({ ...o, ...(level === undefined ? {} : { logLevel: level }) });
    });

  program
    .command('validate')
    .description('check a JSON config without running it (exit 0 when valid, 2 with every problem otherwise)')
    .argument('<config>', 'the JSON config')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (file: string, o: { json?: boolean }) => {
      exitCode = await (await import('./validate-command.ts')).validateCommand(file, o);
    });

  program
    .command('receive')
    .description('run the test HTTP receiver (sls, json, ndjson; dedup by idempotency key) with injected faults')
    .option('-p, --port <port>', 'port (0 = a free one)', intArg(0, 65535))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--fail-rate <rate>', 'share of requests answered with --status', rateArg)
    .option('--status <code>', 'status code of failed requests', intArg(100, 599))
    .option('--latency <ms>', 'delay per request: "20" or a range "5-50" (ms)')
    .option('--reset-rate <rate>', 'share of connections destroyed without an answer', rateArg)
    .option('--out <file>', 'append accepted logs as NDJSON to this file')
    .option('--seed <n>', 'seed of the fault PRNG', intArg(0, 0xffffffff))
    .action(async (o: Record<string, unknown>) => {
      exitCode = await (await import('./receive-command.ts')).receiveCommand({ ...o, logLevel: logLevel('warn') });
    });

  program
    .command('inspect')
    .description('show what a WAL holds: pending, disk, oldest age, quota, dead letters, quarantine, sinks')
    .argument('<dir>', 'a WAL directory or the WAL root (wal.Dir) of a config')
    .option('--json', 'print JSON')
    .option('--max-bytes <size>', 'the quota to report against when no process holds the WAL (default 1GiB)', sizeArg)
    .action(async (dir: string, o: { json?: boolean; maxBytes?: number }) => {
      exitCode = await (await import('./inspect-command.ts')).inspectCommand(dir, o, createCliLogger(logLevel('warn')));
    });

  const dlq = program.command('dlq').description('list, replay or purge dead letters').configureOutput(errorOutput('walship dlq', ['list', 'replay', 'purge']));
  dlq
    .command('list')
    .argument('<dir>', 'a WAL directory or WAL root')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'at most this many per WAL', intArg(1, Number.MAX_SAFE_INTEGER))
    .option('--quarantine', 'also list quarantined records')
    .action(async (dir: string, o: { json?: boolean; limit?: number; quarantine?: boolean }) => {
      exitCode = await (await import('./dlq-command.ts')).dlqCommand('list', dir, o, createCliLogger(logLevel('warn')));
    });
  dlq
    .command('replay')
    .description('move dead letters back to the pending log (original idempotency keys kept)')
    .argument('<dir>', 'a WAL directory or WAL root')
    .action(async (dir: string) => {
      exitCode = await (await import('./dlq-command.ts')).dlqCommand('replay', dir, {}, createCliLogger(logLevel('warn')));
    });
  dlq
    .command('purge')
    .description('delete every dead letter')
    .argument('<dir>', 'a WAL directory or WAL root')
    .option('--quarantine', 'also delete quarantined records')
    .action(async (dir: string, o: { quarantine?: boolean }) => {
      exitCode = await (await import('./dlq-command.ts')).dlqCommand('purge', dir, o, createCliLogger(logLevel('warn')));
    });

  const wal = program.command('wal').description('WAL maintenance').configureOutput(errorOutput('walship wal', ['compact', 'repair']));
  wal
    .command('compact')
    .description('compact the acknowledged range now')
    .argument('<dir>', 'a WAL directory or WAL root')
    .action(async (dir: string) => {
      exitCode = await (await import('./wal-command.ts')).walCommand('compact', dir, createCliLogger(logLevel('warn')));
    });
  wal
    .command('repair')
    .description('repair a damaged WAL (LevelDB repair, record checks, counters rebuilt, new walId)')
    .argument('<dir>', 'a WAL directory or WAL root')
    .action(async (dir: string) => {
      exitCode = await (await import('./wal-command.ts')).walCommand('repair', dir, createCliLogger(logLevel('warn')));
    });

  program
    .command('crashtest')
    .description('SIGKILL `walship run` at random moments while it ships a numbered input, and check nothing was lost')
    .option('--records <n>', 'input lines (default 20000)', intArg(1, 9_999_999_999))
    .option('--kills <k>', 'SIGKILLs of walship run (default 20)', intArg(0, 1_000_000))
    .option('--fail-rate <p>', 'share of requests the receiver fails with 503 (default 0.1)', rateArg)
    .option('--seed <s>', 'seed of every random choice (default random; printed to replay)', intArg(0, 0xffffffff))
    .option('--json', 'print the report as JSON')
    .option('--dir <dir>', 'working directory (default a temporary one, removed when everything passed)')
    .option('--timeout <ms>', 'how long the last life and each scenario may take to deliver (default 120000)', intArg(1, 86_400_000))
    .option('--quota-full', 'scenario: receiver down until the WAL quota is reached; input pauses, then resumes')
    .option('--disk-full', 'scenario: the WAL on a full 8 MiB tmpfs (root only; skipped otherwise)')
    .option('--corruption', 'scenario: bytes flipped in a WAL table file; quarantine or repair, the rest delivered')
    .option('--second-process', 'scenario: a second walship run on the same WAL gets WALSHIP_LOCKED')
    .option('--fan-out', 'scenario: three flushers (fast, flaky, slow at its quota), killed at random; each gets every line')
    .option('--all-scenarios', 'every scenario above')
    .option('-q, --quiet', 'no progress lines on stderr')
    .action(async (o: Record<string, unknown>) => {
      exitCode = await (await import('./crashtest-command.ts')).crashtestCommand(o);
    });

  program
    .command('demo')
    .description('ship the sample logs through input_file, the WAL and flusher_http to a flaky receiver (the default with no command)')
    .option('--wal-dir <dir>', 'where the demo keeps its WAL and the receiver\'s file', './data/wal/demo')
    .addOption(new Option('--encoding <encoding>', 'flusher_http encoding').choices(['ndjson', 'sls']).default('ndjson'))
    .option('--seed <n>', 'seed of the receiver\'s faults (default: random)', intArg(0, 0xffffffff))
    .action(async (o: { walDir: string; encoding: 'ndjson' | 'sls'; seed?: number }) => {
      const summary = await (await import('./demo.ts')).runDemo({
        dataDir: join(root, 'data', 'sample'),
        walDir: resolve(o.walDir),
        out: process.stdout,
        encoding: o.encoding,
        ...(o.seed === undefined ? {} : { seed: o.seed }),
        ...(program.opts().logLevel === undefined ? {} : { logLevel: program.opts().logLevel as string }),
      });
      exitCode = summary.interrupted ? 130 : summary.lost === 0 ? ExitCodes.OK : ExitCodes.FAILURE;
    });
  return program;
}

async function main(argv: string[]): Promise<number> {
  const args = argv.length === 0 ? ['demo'] : argv;
  const program = buildProgram();
  try {
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      return ok ? ExitCodes.OK : ExitCodes.USAGE;
    }
    if (err instanceof CliError) {
      process.stderr.write(`walship: ${err.message}\n`);
      return err.exitCode;
    }
    if (isWalshipError(err)) {
      process.stderr.write(`walship: ${err.code}: ${err.message}\n`);
      return ExitCodes.FAILURE;
    }
    process.stderr.write(`walship: ${(err as Error).stack ?? String(err)}\n`);
    return ExitCodes.FAILURE;
  }
}

const code = await main(process.argv.slice(2));
// Let stdout drain (a pipe) before leaving; background handles must not keep us alive.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
