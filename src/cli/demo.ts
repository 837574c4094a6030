/**
 * `walship demo` (= `npm start`): the sample logs in data/sample go through the durable core
 * on the embedded default (a LevelDB WAL in ./data/wal): parsed into LogGroups of at most
 * 1024 logs, appended with fsync, read back in order, checked and acknowledged.
 * Delivery to a real receiver joins when the delivery issue lands.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { DEFAULT_MAX_LOGS_PER_GROUP } from '../config/defaults.ts';
import { decodeLogGroup, encodeLogGroup, type Log, type LogGroup } from '../model/index.ts';
import { WriteAheadLog } from '../wal/index.ts';

export interface DemoOptions {
  readonly dataDir: string;
  readonly walDir: string;
  readonly out: NodeJS.WritableStream;
}

function toLog(line: string, now: number): Log {
  return { time: now, contents: [{ key: 'content', value: line }] };
}

export async function runDemo(options: DemoOptions): Promise<{ appended: number; acked: number }> {
  const say = (s: string) => options.out.write(`${s}\n`);
  const started = performance.now();
  const logger = pino({ level: process.env.WALSHIP_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const wal = await WriteAheadLog.open({ dir: options.walDir, logger });
  const before = await wal.stats();
  say(`walship demo: WAL ${options.walDir} (walId ${wal.walId}), ${before.pendingRecords} records pending from an earlier run`);

  const now = Math.floor(Date.now() / 1000);
  let appendedLogs = 0;
  let appendedGroups = 0;
  for (const file of ['nginx-access.log', 'app.jsonl']) {
    const lines = (await readFile(join(options.dataDir, file), 'utf8')).split('\n').filter((l) => l.length > 0);
    for (let i = 0; i < lines.length; i += DEFAULT_MAX_LOGS_PER_GROUP) {
      const group: LogGroup = {
        logs: lines.slice(i, i + DEFAULT_MAX_LOGS_PER_GROUP).map((l) => toLog(l, now)),
        source: basename(file),
        topic: 'demo',
        logTags: [{ key: '__path__', value: file }],
      };
      await wal.append([{ payload: encodeLogGroup(group), project: 'demo', logstore: basename(file) }]);
      appendedLogs += group.logs.length;
      appendedGroups++;
    }
    say(`  appended ${file}: ${lines.length} logs (fsynced)`);
  }

  let acked = 0;
  let ackedLogs = 0;
  const total = (await wal.stats()).pendingRecords;
  while (acked < total) {
    const batch = await wal.nextBatch(16, 4 * 1024 * 1024);
    for (const r of batch) ackedLogs += decodeLogGroup(r.payload).logs.length;
    await wal.ack(batch);
    acked += batch.length;
  }
  await wal.close();
  const after = await WriteAheadLog.open({ dir: options.walDir, logger });
  const stats = await after.stats();
  await after.close();
  const ms = Math.round(performance.now() - started);
  say('');
  say('  | appended groups | appended logs | read + acked groups | logs read | pending after | disk bytes | ms |');
  say('  |---|---|---|---|---|---|---|---|');
  say(`  | ${appendedGroups} | ${appendedLogs} | ${acked} | ${ackedLogs} | ${stats.pendingRecords} | ${stats.diskBytes} | ${ms} |`);
  return { appended: appendedGroups, acked };
}
