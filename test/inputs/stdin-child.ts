/**
 * A process running input_stdin into a DurableFlusher that delivers to <url> (the test's
 * receiver), for test/inputs/stdin-input.test.ts.
 *
 *   node --import tsx test/inputs/stdin-child.ts <walDir> <url> [configJson]
 *
 * Reads standard input to its end, then stops the input and the flusher (which delivers what
 * is pending first) and prints `D <logs> <linesCut>`.
 */
import { pino } from 'pino';
import { createFlusher } from '../../src/flusher/index.ts';
import { createInput, type StdinInputConfig } from '../../src/inputs/index.ts';

const [walDir, url, configJson] = process.argv.slice(2);
if (walDir === undefined || url === undefined) {
  process.stderr.write('usage: stdin-child.ts <walDir> <url> [configJson]\n');
  process.exit(64);
}
const logger = pino({ level: process.env.WALSHIP_LOG_LEVEL ?? 'silent' }, pino.destination(2));
const flusher = await createFlusher({
  dir: walDir,
  sink: { type: 'http', url, encoding: 'ndjson', probe: false },
  delivery: { retryMinDelayMs: 5, retryMaxDelayMs: 50 },
  modeOptions: { waitRetryMs: 10, maxWaitRetryMs: 100 },
  stopTimeoutMs: 10_000,
  logger,
});
const config: StdinInputConfig = { type: 'input_stdin', ...(configJson === undefined ? {} : (JSON.parse(configJson) as object)) };
const input = createInput(config, { flusher, project: 'proj', logstore: 'store', configName: 'stdin', logger });
await input.start();
await input.done;
await input.stop();
await flusher.stop();
const stats = input.stats();
process.stdout.write(`D ${stats.logs} ${stats.linesCut}\n`);
process.exit(0);
