/**
 * A process whose stdout is the sink: a flusher with `{ type: 'flusher_stdout', format }`
 * appends `groups` LogGroups of 5 logs (seqs `c<g>-<i>`), waits until its WAL drained, stops
 * and exits 0. Argv: <wal dir> <format> <groups>. Walship's own logs go to stderr.
 */
import { pino } from 'pino';
import { createFlusher } from '../../src/flusher/index.ts';
import { makeGroup } from '../conformance/records.ts';

const [dir, format, groups] = process.argv.slice(2);
const flusher = await createFlusher({
  dir: dir!,
  sink: { type: 'flusher_stdout', format },
  logger: pino({ level: 'error' }, pino.destination(2)),
});
for (let g = 0; g < Number(groups); g++) await flusher.flush('proj', 'store', 'child', [makeGroup(`c${g}`, 5, 200)]);
while ((await flusher.stats())?.wal.pendingRecords !== 0) await new Promise((r) => setTimeout(r, 5));
await flusher.stop();
