/**
 * The process that test/delivery/kill.test.ts SIGKILLs, again and again, on one WAL.
 *
 *   node --import tsx test/delivery/kill-child.ts <dir> <url> <total> <mode> <batchMaxRecords> [chunk] [pauseMs]
 *
 * Opens the WAL in <dir> (`sync: 'always'`) and, at the same time:
 *
 * - appends records until <total> were appended over all runs: one LogGroup with one log per
 *   record, contents `seq=<n>` (n = 1..total), in chunks whose batch also writes the
 *   checkpoint `kill-test.appended` = the last n appended (the same LevelDB batch, so a kill
 *   never loses or repeats an n), <chunk> records (default 25) every <pauseMs> ms (default
 *   10): a backlog, or a trickle that delivery keeps up with. A later run continues from
 *   that checkpoint;
 * - delivers them with a DeliveryManager to <url> (the test's receiver), JSON encoding,
 *   through <mode> (`single`: SingleConnectionMode; `loadbalance`: LoadBalancerMode over
 *   makeClients with 3 workers on the one host), batches of <batchMaxRecords>.
 *
 * When everything was appended and nothing is pending it stops delivery, closes the WAL,
 * prints `D` and exits 0. stdout lines (synchronous: stdout is a pipe):
 *
 *   R <walId> <pendingRecords> <appendedBefore>   the WAL is open
 *   A <lastAppended>                              a chunk's append resolved
 *   D <deliveredRecords> <attempts>               done; the WAL is closed
 */
import { pino } from 'pino';
import {
  type ConnectionMode,
  DeliveryManager,
  LoadBalancerMode,
  makeClients,
  SingleConnectionMode,
} from '../../src/delivery/index.ts';
import { createHttpClient } from '../../src/sinks/http/index.ts';
import { WriteAheadLog } from '../../src/wal/index.ts';
import { seqEntries } from '../helpers/seq-wal.ts';

const CHECKPOINT = 'kill-test.appended';
const [dir, url, totalArg, modeArg = 'loadbalance', batchArg = '8', chunkArg = '25', pauseArg = '10'] = process.argv.slice(2);
if (dir === undefined || url === undefined || totalArg === undefined) {
  process.stderr.write('usage: kill-child.ts <dir> <url> <total> [single|loadbalance] [batchMaxRecords]\n');
  process.exit(64);
}
const total = Number(totalArg);
const batchMaxRecords = Number(batchArg);
const CHUNK = Number(chunkArg);
/** A pause between chunks, so that appending spans several kills. */
const CHUNK_PAUSE_MS = Number(pauseArg);

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function die(what: string, err: unknown): never {
  process.stderr.write(`kill-child: ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
}

const logger = pino({ level: process.env.WALSHIP_LOG_LEVEL ?? 'error' }, pino.destination(2));
const wal = await WriteAheadLog.open({ dir, logger, sync: 'always' }).catch((err: unknown) => die('open', err));
const stored = await wal.getCheckpoint(CHECKPOINT);
let appended = stored === undefined ? 0 : Number(stored.toString('utf8'));
out(`R ${wal.walId} ${wal.pendingRecords} ${appended}`);

const client = (i: number) => createHttpClient({ url, encoding: 'json', timeoutMs: 2000, logger, name: `receiver#${i}` });
const modeOptions = { waitRetryMs: 10, maxWaitRetryMs: 100, logger };
const mode: ConnectionMode =
  modeArg === 'single'
    ? new SingleConnectionMode(client(0), modeOptions)
    : new LoadBalancerMode(makeClients([url], (_h, i) => client(i), 3), modeOptions);
const manager = new DeliveryManager({
  source: wal,
  mode,
  logger,
  batchMaxRecords,
  retryMinDelayMs: 5,
  retryMaxDelayMs: 50,
});
manager.start();

try {
  while (appended < total) {
    const n = Math.min(CHUNK, total - appended);
    const last = appended + n;
    // The checkpoint travels in the records' own batch: after a kill, either both are there or neither.
    await wal.append(seqEntries(appended + 1, n), { checkpoints: [{ key: CHECKPOINT, value: String(last) }] });
    appended = last;
    out(`A ${appended}`);
    await new Promise((r) => setTimeout(r, CHUNK_PAUSE_MS));
  }
  while (wal.pendingRecords > 0) await new Promise((r) => setTimeout(r, 10));
} catch (err) {
  die('run', err);
}
await manager.stop(2000);
await wal.close();
const stats = manager.stats();
out(`D ${stats.deliveredRecords} ${stats.attempts}`);
process.exit(0);
