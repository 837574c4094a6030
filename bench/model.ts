// Throughput of the LogGroup model on the hot path: groups of 1024 logs whose iLogtail size
// estimate is 200 bytes each (about 200 KiB per group), in ASCII and in mixed Unicode.
//
//   node --import tsx bench/model.ts              print the table
//   node --import tsx bench/model.ts --json out   also write the results as JSON to `out`
//
// Each row runs for ~1 s after a warm-up; the figure is the median of 5 such rounds.
import { writeFileSync } from 'node:fs';

import type { Log, LogGroup } from '../src/model/index.ts';
import {
  decodeLogGroup,
  encodeLogGroup,
  estimateLogGroupSize,
  estimateLogSize,
  validateLogGroup,
} from '../src/model/index.ts';

const LOGS_PER_GROUP = 1024;
const LOG_BYTES = 200;
const ROUND_MS = 1000;
const ROUNDS = 5;

function makeLog(i: number, unicode: boolean): Log {
  const contents = [
    { key: 'level', value: i % 10 === 0 ? 'warn' : 'info' },
    { key: 'host', value: 'web-01.example.internal' },
    { key: 'path', value: `/api/v1/items/${i}` },
    { key: 'msg', value: '' },
  ];
  const log: Log = { time: 1_700_000_000 + (i >> 4), timeNs: (i * 7919) % 1e9, contents };
  // Pad the message so that the log's estimate is exactly LOG_BYTES.
  const missing = LOG_BYTES - estimateLogSize(log);
  const unit = unicode ? 'é✓日' : 'x'; // 2 + 3 + 3 bytes when unicode
  const unitBytes = Buffer.byteLength(unit);
  contents[3]!.value = unit.repeat(Math.floor(missing / unitBytes)) + 'x'.repeat(missing % unitBytes);
  return log;
}

function makeGroup(unicode: boolean): LogGroup {
  const logs = Array.from({ length: LOGS_PER_GROUP }, (_, i) => makeLog(i, unicode));
  return {
    logs,
    topic: 'app',
    source: '10.0.0.1',
    logTags: [{ key: '__pack_id__', value: '5F3A9C2E1B7D4A60-1' }],
  };
}

/** Median operations per second of `fn` over ROUNDS rounds of ROUND_MS. */
function measure(fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn();
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let ops = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < ROUND_MS) {
      fn();
      ops++;
      elapsed = performance.now() - started;
    }
    rates.push((ops * 1000) / elapsed);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

interface Row {
  readonly case: string;
  readonly operation: string;
  readonly logsPerSecond: number;
  readonly mibPerSecond: number;
}

const rows: Row[] = [];
for (const unicode of [false, true]) {
  const lg = makeGroup(unicode);
  const bytes = encodeLogGroup(lg);
  const label = `${unicode ? 'unicode' : 'ascii'}, ${bytes.byteLength} B/group`;
  const operations: Array<[string, () => unknown]> = [
    ['encodeLogGroup', () => encodeLogGroup(lg)],
    ['decodeLogGroup', () => decodeLogGroup(bytes)],
    ['validateLogGroup', () => validateLogGroup(lg)],
    ['estimateLogGroupSize', () => estimateLogGroupSize(lg)],
  ];
  for (const [operation, fn] of operations) {
    const groupsPerSecond = measure(fn);
    rows.push({
      case: label,
      operation,
      logsPerSecond: groupsPerSecond * LOGS_PER_GROUP,
      mibPerSecond: (groupsPerSecond * bytes.byteLength) / (1024 * 1024),
    });
  }
}

console.log(`LogGroup model: ${LOGS_PER_GROUP} logs/group, ${LOG_BYTES}-byte logs (estimate), node ${process.version}`);
console.log(`${'case'.padEnd(26)} ${'operation'.padEnd(22)} ${'logs/s'.padStart(12)} ${'MiB/s'.padStart(8)}`);
for (const row of rows) {
  console.log(
    `${row.case.padEnd(26)} ${row.operation.padEnd(22)} ${Math.round(row.logsPerSecond).toLocaleString('en-US').padStart(12)} ${row.mibPerSecond.toFixed(0).padStart(8)}`,
  );
}

const jsonIndex = process.argv.indexOf('--json');
if (jsonIndex !== -1) {
  const out = process.argv[jsonIndex + 1];
  if (out === undefined) throw new TypeError('Expected a file name after --json');
  writeFileSync(out, `${JSON.stringify({ node: process.version, logsPerGroup: LOGS_PER_GROUP, logBytes: LOG_BYTES, rows }, null, 2)}\n`);
}
