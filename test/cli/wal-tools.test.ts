import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { findWals } from '../../src/cli/wal-access.ts';
import { after, describe, it } from 'node:test';
import { captureLogger } from '../helpers/capture-logger.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { encodeLogGroup } from '../../src/model/index.ts';
import { WriteAheadLog } from '../../src/wal/index.ts';
import { cli } from './cli-process.ts';

const logger = captureLogger('warn').logger;

/** A WAL root with one flusher WAL `http-0`: 5 records, 2 dead-lettered, 1 acked, 2 pending. */
async function prepare(): Promise<{ cwd: string; dir: string; walId: string; deadKeys: string[] }> {
  const cwd = tempDir();
  const dir = join(cwd, 'data', 'wal', 'http-0');
  const wal = await WriteAheadLog.open({ dir, logger, freeSpaceFloor: 0 });
  for (let i = 0; i < 5; i++) {
    await wal.append([{ payload: encodeLogGroup({ logs: [{ time: 1, contents: [{ key: 'n', value: String(i) }] }], logTags: [] }), project: 'p', logstore: 'ls' }]);
  }
  const batch = await wal.nextBatch(5, 1 << 20);
  assert.equal(batch.length, 5);
  const [r1, r2, r3] = batch as [(typeof batch)[0], (typeof batch)[0], (typeof batch)[0]];
  await wal.deadLetter(r1, 'http_400: bad record');
  await wal.deadLetter(r2, 'http_400: bad record');
  await wal.ack([r3]);
  const walId = wal.walId;
  await wal.close();
  return { cwd, dir, walId, deadKeys: [r1.idempotencyKey, r2.idempotencyKey] };
}

describe('walship inspect, dlq and wal on a stopped WAL', () => {
  it('inspect reports pending, disk, quota, dead letters and quarantine, as text and as JSON', async () => {
    const { cwd, walId } = await prepare();
    const text = await cli(['inspect', 'data/wal', '--max-bytes', '1MiB'], { cwd });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^http-0 {2}.*data\/wal\/http-0 {2}\[not running\]$/m);
    assert.match(text.stdout, new RegExp(`walId {9}${walId} \\(open\\)`));
    assert.match(text.stdout, /pending {7}2 records, \d+ B/);
    assert.match(text.stdout, /quota {9}\d+ B of 1 MiB \(\d+\.\d%\)/);
    assert.match(text.stdout, /dead letters {2}2 \(\d+ B\)/);
    assert.match(text.stdout, /quarantine {4}0 \(0 B\)/);
    assert.match(text.stdout, /oldest {8}\d/);
    const j = JSON.parse((await cli(['inspect', 'data/wal/http-0', '--json'], { cwd })).stdout);
    assert.equal(j.wals.length, 1);
    assert.deepEqual(
      { ...j.wals[0], wal: { pending: j.wals[0].wal.pendingRecords, dead: j.wals[0].wal.deadLetterRecords, q: j.wals[0].wal.quarantineRecords } },
      { name: 'http-0', dir: join(cwd, 'data', 'wal', 'http-0'), source: 'wal', heldBy: null, wal: { pending: 2, dead: 2, q: 0 }, delivery: null, endpoints: [] },
    );
    assert.ok(j.wals[0].wal.diskBytes > 0);
  });

  it('dlq list shows each dead letter with its reason and key; replay keeps the original idempotency keys (D2)', async () => {
    const { cwd, dir, deadKeys } = await prepare();
    const list = await cli(['dlq', 'list', 'data/wal', '--json'], { cwd });
    assert.equal(list.code, 0, list.stderr);
    const [w] = JSON.parse(list.stdout);
    assert.deepEqual(
      w.records.map((r: any) => [r.space, r.reason, r.idempotencyKey, r.project, r.logstore]),
      deadKeys.map((k) => ['dead-letter', 'http_400: bad record', k, 'p', 'ls']),
    );
    const text = await cli(['dlq', 'list', 'data/wal'], { cwd });
    assert.match(text.stdout, /http-0 .*: 2 dead letters/);
    assert.match(text.stdout, /seq 1 .* p\/ls .* reason: http_400: bad record/);

    const replay = await cli(['dlq', 'replay', 'data/wal'], { cwd });
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /http-0: replayed 2 dead letters into the pending log \(original idempotency keys kept\)/);
    const wal = await WriteAheadLog.open({ dir, logger, freeSpaceFloor: 0 });
    after(() => wal.close());
    assert.equal(wal.pendingRecords, 4);
    const again = await wal.nextBatch(10, 1 << 20);
    const keys = again.map((r) => r.idempotencyKey);
    for (const k of deadKeys) assert.ok(keys.includes(k), `replayed record keeps key ${k}: ${keys.join(', ')}`);
    assert.equal((await wal.stats()).deadLetterRecords, 0);
  });

  it('dlq purge deletes the dead letters; wal compact and wal repair run, repair giving a new walId (W8)', async () => {
    const { cwd, dir, walId } = await prepare();
    const purge = await cli(['dlq', 'purge', 'data/wal'], { cwd });
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /http-0: purged 2 dead letters/);
    const compact = await cli(['wal', 'compact', 'data/wal'], { cwd });
    assert.equal(compact.code, 0, compact.stderr);
    assert.match(compact.stdout, /http-0: compacted, .* → .* on disk/);
    const repair = await cli(['wal', 'repair', 'data/wal'], { cwd });
    assert.equal(repair.code, 0, repair.stderr);
    assert.match(repair.stdout, new RegExp(`http-0: repaired; walId ${walId} → [0-9a-f]+; 2 pending`));
    const wal = await WriteAheadLog.open({ dir, logger, freeSpaceFloor: 0 });
    after(() => wal.close());
    assert.notEqual(wal.walId, walId);
    assert.equal(wal.pendingRecords, 2);
    assert.equal((await wal.stats()).deadLetterRecords, 0);
  });

  it('a WAL held by another process without an admin file: commands say so and exit 1 (X3)', async () => {
    const { cwd, dir } = await prepare();
    const wal = await WriteAheadLog.open({ dir, logger, freeSpaceFloor: 0 });
    after(() => wal.close());
    for (const args of [['inspect', 'data/wal'], ['dlq', 'replay', 'data/wal'], ['wal', 'compact', 'data/wal']]) {
      const r = await cli(args, { cwd });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout + r.stderr, /is held by another process \(WALSHIP_LOCKED/);
    }
    assert.equal(wal.pendingRecords, 2, 'nothing was changed');
  });

  it('usage errors exit 2, a directory without a WAL exits 1', async () => {
    const cwd = tempDir();
    assert.equal((await cli(['dlq', 'list'], { cwd })).code, 2);
    assert.equal((await cli(['inspect', '.', '--max-bytes', 'lots'], { cwd })).code, 2);
    const none = await cli(['inspect', '.'], { cwd });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no WAL in /);
  });
});

describe('finding WALs in a root (found by a code review)', () => {
  it('skips a dangling symlink or a symlink loop next to the WALs instead of crashing', () => {
    const root = tempDir();
    mkdirSync(join(root, 'app', 'db'), { recursive: true });
    symlinkSync(join(root, 'gone'), join(root, 'stale-link'));
    // A symlink loop (ELOOP) is skipped too.
    symlinkSync(join(root, 'loop-b'), join(root, 'loop-a'));
    symlinkSync(join(root, 'loop-a'), join(root, 'loop-b'));
    assert.deepEqual(
      findWals(root).map((w) => w.name),
      ['app'],
    );
  });
});

