/**
 * `walship demo` (= `npm start`): the sample logs in data/sample travel the whole durable
 * path on the embedded default, with nothing to install: parsed into LogGroups, appended to a
 * LevelDB WAL in ./data/wal (fsynced), then delivered by the delivery manager (load balance
 * over two HTTP clients) to a flaky receiver on loopback (20% 503s, resets, latency) that
 * deduplicates by idempotency key. Ends with a summary: lost must be 0.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { DEFAULT_MAX_LOGS_PER_GROUP } from '../config/defaults.ts';
import { DeliveryManager, LoadBalancerMode, makeClients } from '../delivery/index.ts';
import { encodeLogGroup, type LogGroup } from '../model/index.ts';
import { startReceiver } from '../receiver/index.ts';
import { createHttpClient } from '../sinks/http/index.ts';
import { WriteAheadLog } from '../wal/index.ts';

export interface DemoOptions {
  readonly dataDir: string;
  readonly walDir: string;
  readonly out: NodeJS.WritableStream;
  /** Logs per LogGroup (small by default, so the demo shows many deliveries and retries). */
  readonly logsPerGroup?: number;
}

export interface DemoSummary {
  readonly logsRead: number;
  readonly groupsAppended: number;
  readonly logsReceived: number;
  readonly retries: number;
  readonly duplicatesDropped: number;
  readonly lost: number;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const say = (s: string) => options.out.write(`${s}\n`);
  const started = performance.now();
  const logger = pino({ level: process.env.WALSHIP_LOG_LEVEL ?? 'error' }, pino.destination(2));
  const receiver = await startReceiver({ failRate: 0.2, resetRate: 0.05, latencyMs: [1, 15], seed: 42, logger });
  const wal = await WriteAheadLog.open({ dir: options.walDir, logger });
  say(`walship demo: WAL ${options.walDir} (walId ${wal.walId}), receiver ${receiver.url} (20% 503s, 5% resets)`);
  if (wal.pendingRecords > 0) say(`  ${wal.pendingRecords} records left from an earlier run are delivered too`);

  const perGroup = Math.min(options.logsPerGroup ?? 50, DEFAULT_MAX_LOGS_PER_GROUP);
  const now = Math.floor(Date.now() / 1000);
  const expected = new Set<string>();
  let groups = 0;
  for (const file of ['nginx-access.txt', 'app.jsonl']) {
    const lines = (await readFile(join(options.dataDir, file), 'utf8')).split('\n').filter((l) => l.length > 0);
    for (let i = 0; i < lines.length; i += perGroup) {
      const group: LogGroup = {
        logs: lines.slice(i, i + perGroup).map((line) => {
          expected.add(`${file}\n${line}`);
          return { time: now, contents: [{ key: 'content', value: line }] };
        }),
        source: basename(file),
        topic: 'demo',
        logTags: [{ key: '__path__', value: file }],
      };
      await wal.append([{ payload: encodeLogGroup(group), project: 'demo', logstore: basename(file) }]);
      groups++;
    }
    say(`  read ${file}: ${lines.length} logs → WAL (fsynced)`);
  }

  const clients = makeClients([receiver.url, receiver.url], (url, i) =>
    createHttpClient({ url, encoding: 'ndjson', name: `receiver#${i}`, logger }),
  );
  const manager = new DeliveryManager({
    source: wal,
    mode: new LoadBalancerMode(clients, { waitRetryMs: 50, maxWaitRetryMs: 500, logger }),
    retryMinDelayMs: 20,
    retryMaxDelayMs: 200,
    batchMaxRecords: 2,
    logger,
  });
  manager.start();
  const total = wal.pendingRecords;
  const tty = (options.out as { isTTY?: boolean }).isTTY === true;
  let lastLine = '';
  while (wal.pendingRecords > 0) {
    const s = manager.stats();
    const line = `  delivering: ${total - wal.pendingRecords}/${total} groups acked, ${s.retries} retries`;
    if (tty) options.out.write(`\r${line}`);
    else if (line !== lastLine && (total - wal.pendingRecords) % 5 === 0) say(line);
    lastLine = line;
    await new Promise((r) => setTimeout(r, 50));
  }
  await manager.stop(1000);
  if (tty) options.out.write('\n');
  await wal.close();

  const received = new Set(receiver.logs().map((l) => `${l.logstore}\n${l.contents.content}`));
  const lost = [...expected].filter((k) => !received.has(k)).length;
  const rs = receiver.stats();
  const ds = manager.stats();
  await receiver.close();
  const summary: DemoSummary = {
    logsRead: expected.size,
    groupsAppended: groups,
    logsReceived: rs.logs,
    retries: ds.retries,
    duplicatesDropped: rs.duplicateLogs,
    lost,
  };
  say('');
  say('  | logs read | groups appended | logs received | retries | duplicates dropped | lost | seconds |');
  say('  |---:|---:|---:|---:|---:|---:|---:|');
  say(
    `  | ${summary.logsRead} | ${groups} | ${summary.logsReceived} | ${summary.retries} | ${summary.duplicatesDropped} | ${lost} | ${((performance.now() - started) / 1000).toFixed(1)} |`,
  );
  return summary;
}
