// Writes test/fixtures/wal-v<N>: a small WAL in the current format version N that every later version of
// walship must still open (STYLE.md "Freeze formats"). Run once per format version:
//   node --import tsx scripts/make-wal-fixture.ts
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { WAL_FORMAT_VERSION, WriteAheadLog } from '../src/wal/index.ts';

const dir = join(import.meta.dirname, '..', 'test', 'fixtures', `wal-v${WAL_FORMAT_VERSION}`);
rmSync(dir, { recursive: true, force: true });
let t = 1_700_000_000_000;
const wal = await WriteAheadLog.open({ dir, randomId: () => 'f1x7ure0f1x7ure0', clock: () => t++ });
for (let i = 1; i <= 10; i++) {
  await wal.append(
    [{ payload: Buffer.from(`payload-${i}`), project: 'proj', logstore: 'store', configName: 'cfg', logstoreKey: BigInt(i % 3) }],
    i === 10 ? { checkpoints: [{ key: 'input/file', value: 'offset=10' }] } : {},
  );
}
await wal.append([{ payload: Buffer.from('replayed'), idempotencyKey: 'oldwal-42' }]);
const records = await wal.nextBatch(3, Number.POSITIVE_INFINITY);
await wal.ack([records[0]!, records[2]!]); // seq 1 and 3 acked, 2 still pending
const more = await wal.nextBatch(1, Number.POSITIVE_INFINITY);
await wal.deadLetter(more[0]!, 'http 400: bad request'); // seq 4 dead-lettered
await wal.close();
rmSync(join(dir, 'db', 'LOCK'), { force: true });
rmSync(join(dir, 'db', 'LOG'), { force: true });
rmSync(join(dir, 'db', 'LOG.old'), { force: true });
console.log(`wrote ${dir}`);
