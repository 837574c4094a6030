/**
 * A program that logs with a real pino logger through the walship transport, for
 * test/pino/transport.test.ts.
 *
 *   node --import tsx test/pino/pino-child.ts <walDir> <url> <mode> <count>
 *
 * - `exit`:   logs <count> lines (`n` = 1..count, a nested `req` object) and returns from main,
 *             so pino ends the transport at exit (which delivers, then closes the WAL).
 * - `stream`: logs batches of 50 lines without end; after each batch `logger.flush(cb)`, and in
 *             the callback (every line so far is durable in the WAL) prints `F <last n>`.
 *             The test SIGKILLs it.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';

const [walDir, url, mode, countArg] = process.argv.slice(2);
if (walDir === undefined || url === undefined || mode === undefined) {
  process.stderr.write('usage: pino-child.ts <walDir> <url> <exit|stream> [count]\n');
  process.exit(64);
}
const transport = pino.transport({
  target: fileURLToPath(new URL('./ts-transport.mjs', import.meta.url)),
  options: {
    dir: walDir,
    sink: { type: 'http', url, encoding: 'ndjson', probe: false },
    logstore: 'app',
    delivery: { retryMinDelayMs: 5, retryMaxDelayMs: 50 },
    modeOptions: { waitRetryMs: 10, maxWaitRetryMs: 100 },
    stopTimeoutMs: 5000,
  },
});
const logger = pino(transport);

if (mode === 'exit') {
  const count = Number(countArg ?? '100');
  for (let n = 1; n <= count; n++) logger.info({ n, req: { method: 'GET', url: `/item/${n}` } }, `line ${n}`);
} else {
  let n = 0;
  for (;;) {
    for (let i = 0; i < 50; i++) {
      n++;
      logger.info({ n }, `line ${n}`);
    }
    const last = n;
    await new Promise<void>((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
    process.stdout.write(`F ${last}\n`);
  }
}
