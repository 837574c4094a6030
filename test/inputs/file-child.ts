/**
 * The process that test/inputs/file-kill.test.ts SIGKILLs: an input_file tailing <pattern>
 * into the WAL in <walDir> (a real DurableFlusher; its sink is <url>, a receiver that
 * refuses everything, so every record stays in the WAL for the test to read back).
 *
 *   node --import tsx test/inputs/file-child.ts <walDir> <pattern> <url> <endLine> [quietMs]
 *
 * stdout lines:
 *
 *   R                 the input started (checkpoint restored, files open)
 *   A <logs>          an append carrying <logs> logs is durable
 *   D                 <endLine> became durable in this run (or, with [quietMs], no append came
 *                     for that long: an earlier run made it durable), every rotated file was
 *                     finished, and the input and flusher stopped cleanly
 */
import { pino } from 'pino';
import { createFlusher } from '../../src/flusher/index.ts';
import { createInput, type InputFlusher } from '../../src/inputs/index.ts';

const [walDir, pattern, url, endLine, quietArg] = process.argv.slice(2);
const quietMs = quietArg === undefined ? Number.POSITIVE_INFINITY : Number(quietArg);
let lastAppendAt = Date.now();
if (walDir === undefined || pattern === undefined || url === undefined || endLine === undefined) {
  process.stderr.write('usage: file-child.ts <walDir> <pattern> <url> <endLine>\n');
  process.exit(64);
}
const out = (line: string) => process.stdout.write(`${line}\n`);
const logger = pino({ level: process.env.WALSHIP_LOG_LEVEL ?? 'silent' }, pino.destination(2));

const flusher = await createFlusher({
  dir: walDir,
  sink: { type: 'http', url, encoding: 'ndjson', probe: false },
  delivery: { retryMinDelayMs: 200, retryMaxDelayMs: 1000 },
  modeOptions: { waitRetryMs: 200, maxWaitRetryMs: 1000 },
  stopTimeoutMs: 0,
  logger,
});

let ended = false;
// The real flusher, watched: the test learns which appends were durable.
const watched: InputFlusher = {
  isReady: () => flusher.isReady(),
  getCheckpoint: (key) => flusher.getCheckpoint(key),
  async appendDurable(groups, checkpoints) {
    await flusher.appendDurable(groups, checkpoints);
    let logs = 0;
    for (const g of groups) {
      logs += g.logGroup.logs.length;
      if (g.logGroup.logs.some((l) => l.contents[0]?.value === endLine)) ended = true;
    }
    lastAppendAt = Date.now();
    out(`A ${logs}`);
  },
};

const input = createInput(
  { type: 'input_file', path: pattern, readFromHead: true, pollMs: 50, rotatedCloseMs: 300, readChunkBytes: 16 * 1024 },
  { flusher: watched, project: 'proj', logstore: 'store', configName: 'kill', logger },
);
await input.start();
out('R');
while (!((ended || Date.now() - lastAppendAt >= quietMs) && input.stats().files === 1)) await new Promise((r) => setTimeout(r, 20));
await input.stop();
await flusher.stop();
out('D');
process.exit(0);
