/**
 * input_file against a real flusher and receiver: follows appends, picks up new files of a
 * glob, survives rename and truncation (I3), resumes from its checkpoint without re-reading
 * (I1, I5), joins multiline records and cuts long lines (I2, I6), and pauses for the quota
 * (I4). Each delivered line is checked exactly once: the receiver deduplicates retries by
 * idempotency key, so a line read twice would show up twice.
 */
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCodes, isWalshipError } from '../../src/errors.ts';
import { createInput } from '../../src/inputs/index.ts';
import { hookOpen } from '../helpers/hook-open.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { exactlyOnce, lines, numbered, quiet, received, startRig, until } from './harness.ts';

const FAST = { pollMs: 50, rotatedCloseMs: 200, readFromHead: true } as const;

describe('input_file', () => {
  it('follows appends to a file and tags each log with its path', async () => {
    const root = tempDir('walship-in');
    const file = join(root, 'app.log');
    writeFileSync(file, lines(numbered('a', 1, 3)));
    const rig = await startRig(join(root, 'wal'));
    const input = rig.input({ type: 'input_file', path: file, ...FAST });
    await input.start();
    appendFileSync(file, lines(numbered('a', 4, 6)));
    await until(() => received(rig.receiver).length >= 6, 'six lines delivered');
    appendFileSync(file, 'a-7\n');
    await until(() => received(rig.receiver).length >= 7, 'seventh line delivered');
    assert.equal(exactlyOnce(received(rig.receiver), numbered('a', 1, 7)), undefined);
    assert.equal(rig.receiver.logs()[0]?.tags.__path__, file);
    assert.ok(rig.receiver.logs()[0]?.tags.__pack_id__, 'groups carry a __pack_id__');
    await input.stop();
    assert.equal(input.stats().logs, 7);
  });

  it('I5: on the very first start reads existing files from their end unless readFromHead; a file created later is read whole', async () => {
    const root = tempDir('walship-in');
    writeFileSync(join(root, 'old.log'), lines(numbered('old', 1, 5)));
    const rig = await startRig(join(root, 'wal'));
    const input = rig.input({ type: 'input_file', path: join(root, '*.log'), pollMs: 50 });
    await input.start();
    appendFileSync(join(root, 'old.log'), 'old-6\n');
    writeFileSync(join(root, 'new.log'), lines(numbered('new', 1, 3)));
    await until(() => received(rig.receiver).length >= 4, 'the appended line and the new file');
    assert.equal(exactlyOnce(received(rig.receiver), ['old-6', ...numbered('new', 1, 3)]), undefined);
  });

  it('picks up files that appear under a glob while running', async () => {
    const root = tempDir('walship-in');
    const rig = await startRig(join(root, 'wal'));
    const input = rig.input({ type: 'input_file', path: join(root, 'logs', '**', '*.log'), ...FAST });
    await input.start();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(root, 'logs', 'a'), { recursive: true });
    writeFileSync(join(root, 'logs', 'a', 'one.log'), lines(numbered('one', 1, 10)));
    writeFileSync(join(root, 'logs', 'two.log'), lines(numbered('two', 1, 10)));
    writeFileSync(join(root, 'logs', 'skip.txt'), 'not matched\n');
    await until(() => received(rig.receiver).length >= 20, 'both files delivered');
    assert.equal(exactlyOnce(received(rig.receiver), [...numbered('one', 1, 10), ...numbered('two', 1, 10)]), undefined);
    assert.equal(input.stats().files, 2);
  });

  it('I3: rotation by rename: reads the renamed file to its end (late writes included), then the new file, each line once', async () => {
    const root = tempDir('walship-in');
    const file = join(root, 'app.log');
    writeFileSync(file, lines(numbered('r', 1, 50)));
    const rig = await startRig(join(root, 'wal'));
    const input = rig.input({ type: 'input_file', path: file, ...FAST, rotatedCloseMs: 1500 });
    await input.start();
    await until(() => received(rig.receiver).length >= 50, 'the first 50 lines');
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(numbered('r', 61, 100)));
    // A writer that has not reopened yet still appends to the renamed file.
    appendFileSync(`${file}.1`, lines(numbered('r', 51, 60)));
    await until(() => received(rig.receiver).length >= 100, 'all 100 lines');
    assert.equal(exactlyOnce(received(rig.receiver), numbered('r', 1, 100)), undefined);
    assert.equal(input.stats().rotations, 1);
    // The rotated file is closed once it has been at its end for rotatedCloseMs.
    await until(() => input.stats().files === 1, 'the rotated file closed');
    const paths = new Set(rig.receiver.logs().map((l) => l.tags.__path__));
    assert.deepEqual([...paths].sort(), [file]);
  });

  it('I3: truncation: restarts the file from 0 (logged, counted) and does not re-send what was before', async () => {
    const root = tempDir('walship-in');
    const file = join(root, 'app.log');
    writeFileSync(file, lines(numbered('before', 1, 20)));
    const rig = await startRig(join(root, 'wal'));
    const input = rig.input({ type: 'input_file', path: file, ...FAST });
    await input.start();
    await until(() => received(rig.receiver).length >= 20, 'the first 20 lines');
    truncateSync(file, 0);
    await until(() => input.stats().truncations === 1, 'the truncation seen');
    appendFileSync(file, lines(numbered('after', 1, 5)));
    await until(() => received(rig.receiver).length >= 25, 'the lines after the truncation');
    assert.equal(exactlyOnce(received(rig.receiver), [...numbered('before', 1, 20), ...numbered('after', 1, 5)]), undefined);
  });

  it('I1, I3: a restart resumes each file from its checkpoint, finds a file renamed while down, and re-reads a rewritten one', async () => {
    const root = tempDir('walship-in');
    const app = join(root, 'app.log');
    const other = join(root, 'other.log');
    writeFileSync(app, lines(numbered('app', 1, 10)));
    writeFileSync(other, lines(numbered('other', 1, 10)));
    const rig = await startRig(join(root, 'wal'));
    const first = rig.input({ type: 'input_file', path: join(root, '*.log'), ...FAST });
    await first.start();
    await until(() => received(rig.receiver).length >= 20, 'the first 20 lines');
    await first.stop();

    // While the input is down: app.log grows, then is rotated away (renamed out of the glob)
    // and grows again there; a new app.log appears; other.log is rewritten with a longer,
    // different content (same inode: the fingerprint tells).
    appendFileSync(app, lines(numbered('app', 11, 15)));
    renameSync(app, join(root, 'app.log.rotated'));
    appendFileSync(join(root, 'app.log.rotated'), lines(numbered('app', 16, 18)));
    writeFileSync(app, lines(numbered('app', 19, 20)));
    writeFileSync(other, lines(numbered('rewritten', 1, 30)));

    const second = rig.input({ type: 'input_file', path: join(root, '*.log'), ...FAST });
    await second.start();
    const want = [...numbered('app', 1, 20), ...numbered('other', 1, 10), ...numbered('rewritten', 1, 30)];
    await until(() => received(rig.receiver).length >= want.length, 'every line');
    await until(() => second.stats().files === 2, 'the rotated file finished and closed');
    assert.equal(exactlyOnce(received(rig.receiver), want), undefined);
    assert.equal(second.stats().truncations, 1);
  });

  it('I1, I3: a file rotated between the restart\'s glob and its open is found again by inode, not dropped with its tail (a CI flake, then reproduced)', async (t) => {
    const root = tempDir('walship-in');
    const app = join(root, 'app.log');
    writeFileSync(app, lines(numbered('app', 1, 10)));
    const rig = await startRig(join(root, 'wal'));
    const first = rig.input({ type: 'input_file', path: app, ...FAST });
    await first.start();
    await until(() => received(rig.receiver).length >= 10, 'the first 10 lines');
    await first.stop();
    appendFileSync(app, lines(numbered('app', 11, 20)));

    // The rotation lands exactly between the restart's look at app.log and its open: the
    // open finds the new (empty) file at the path.
    let rotated = false;
    hookOpen(t, { before: (path) => {
      if (!rotated && path === app) {
        rotated = true;
        renameSync(app, `${app}.1`);
        writeFileSync(app, '');
      }
    } });

    const second = rig.input({ type: 'input_file', path: app, ...FAST });
    await second.start();
    assert.equal(rotated, true, 'the rotation was injected');
    appendFileSync(app, lines(numbered('app', 21, 25)));
    const want = numbered('app', 1, 25);
    await until(() => received(rig.receiver).length >= want.length, 'every line, the rotated file\'s tail included');
    assert.equal(exactlyOnce(received(rig.receiver), want), undefined);
  });

  it('a new file deleted before its first open does not make walship ship an unrelated file that reused its inode (found by a review)', async (t) => {
    const root = tempDir('walship-in');
    const rig = await startRig(join(tempDir('walship-in'), 'wal'));
    const input = rig.input({ type: 'input_file', path: join(root, '*.log'), pollMs: 50, rotatedCloseMs: 200 });
    await input.start();
    const short = join(root, 'tmp.log');
    let injected = false;
    hookOpen(t, { before: (path) => {
      if (!injected && path === short) {
        injected = true;
        unlinkSync(short); // a short-lived log file …
        writeFileSync(join(root, 'credentials.txt'), 'SECRET=hunter2\n'); // … whose inode the next file may take
      }
    } });
    writeFileSync(short, 'short-lived\n');
    await until(() => injected, 'the open of tmp.log');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepEqual(received(rig.receiver), []);
  });

  it('a checkpointed file renamed, between the glob and its open, to a name the glob still matches is read once (found by a review)', async (t) => {
    const root = tempDir('walship-in');
    const app = join(root, 'app.log');
    writeFileSync(app, lines(numbered('app', 1, 10)));
    const rig = await startRig(join(tempDir('walship-in'), 'wal'));
    const config = { type: 'input_file', path: join(root, '*.log'), pollMs: 1000, rotatedCloseMs: 100, readFromHead: true } as const;
    const first = rig.input(config);
    await first.start();
    await until(() => received(rig.receiver).length >= 10, 'the first 10 lines');
    await first.stop();
    appendFileSync(app, lines(numbered('app', 11, 20)));
    let renamed = false;
    hookOpen(t, { before: (path) => {
      if (!renamed && path === app) {
        renamed = true;
        renameSync(app, join(root, 'app-1.log'));
        writeFileSync(app, '');
      }
    } });
    const second = rig.input(config);
    await second.start();
    assert.equal(renamed, true);
    await until(() => received(rig.receiver).length >= 20, 'the 20 lines');
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past rotatedCloseMs and the next discovery
    assert.equal(exactlyOnce(received(rig.receiver), numbered('app', 1, 20)), undefined);
  });

  it('a file truncated and rewritten, then renamed out of the glob, while walship was down is read from 0, by its birth time (found by a review)', async () => {
    const root = tempDir('walship-in');
    const app = join(root, 'app.log');
    writeFileSync(app, lines(numbered('old', 1, 10)));
    const rig = await startRig(join(tempDir('walship-in'), 'wal'));
    const first = rig.input({ type: 'input_file', path: app, ...FAST });
    await first.start();
    await until(() => received(rig.receiver).length >= 10, 'the first 10 lines');
    await first.stop();
    // While down: the app restarts and truncates its log (same inode), writes new lines, then
    // logrotate (create) renames it away and creates a fresh app.log.
    writeFileSync(app, lines(numbered('new', 1, 20)));
    renameSync(app, `${app}.1`);
    writeFileSync(app, lines(numbered('next', 1, 3)));
    const second = rig.input({ type: 'input_file', path: app, ...FAST });
    await second.start();
    const want = [...numbered('old', 1, 10), ...numbered('new', 1, 20), ...numbered('next', 1, 3)];
    await until(() => received(rig.receiver).length >= want.length, 'every line');
    assert.equal(exactlyOnce(received(rig.receiver), want), undefined);
  });

  it('an empty checkpointed file deleted while down does not make walship ship a file that reused its inode (found by a review)', async (t) => {
    const root = tempDir('walship-in');
    const app = join(root, 'app.log');
    writeFileSync(app, '');
    const rig = await startRig(join(tempDir('walship-in'), 'wal'));
    const first = rig.input({ type: 'input_file', path: app, ...FAST });
    await first.start();
    await first.stop();
    const ino = statSync(app).ino;
    unlinkSync(app);
    const secret = join(root, 'credentials.txt');
    writeFileSync(secret, 'SECRET=hunter2\n');
    t.diagnostic(`inode ${statSync(secret).ino === ino ? 'reused' : 'not reused'} by credentials.txt on this filesystem`);
    const second = rig.input({ type: 'input_file', path: app, ...FAST });
    await second.start();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepEqual(received(rig.receiver), []);
  });

  it('a new file rotated twice (app.log → .1 → .2) around its first opens is still read (found by a review)', async (t) => {
    const root = tempDir('walship-in');
    const app = join(root, 'app.log');
    const rig = await startRig(join(tempDir('walship-in'), 'wal'));
    const input = rig.input({ type: 'input_file', path: app, pollMs: 50, rotatedCloseMs: 200 });
    await input.start();
    let step = 0;
    hookOpen(t, { before: (path) => {
      if (step === 0 && path === app) {
        step = 1;
        renameSync(app, `${app}.1`);
      } else if (step === 1 && path === `${app}.1`) {
        step = 2;
        renameSync(`${app}.1`, `${app}.2`);
      }
    } });
    writeFileSync(app, lines(numbered('x', 1, 5)));
    await until(() => step === 2, 'both renames injected');
    await until(() => received(rig.receiver).length >= 5, 'the 5 lines');
    assert.equal(exactlyOnce(received(rig.receiver), numbered('x', 1, 5)), undefined);
  });

  it('I2, I6: joins multiline records, ships a quiet last record after flushTimeoutMs, cuts and counts long lines', async () => {
    const root = tempDir('walship-in');
    const file = join(root, 'app.log');
    const rig = await startRig(join(root, 'wal'));
    const input = rig.input({
      type: 'input_file',
      path: file,
      ...FAST,
      maxLineBytes: 64,
      multiline: { startPattern: '\\[\\d+\\]', flushTimeoutMs: 150 },
    });
    await input.start();
    writeFileSync(file, `[1] boom\n  at one\n  at two\n[2] ${'x'.repeat(100)}\n[3] last\n  at three\n`);
    await until(() => received(rig.receiver).length >= 3, 'three records');
    assert.deepEqual(received(rig.receiver), ['[1] boom\n  at one\n  at two', `[2] ${'x'.repeat(60)}`, '[3] last\n  at three']);
    assert.equal(input.stats().linesCut, 1);
  });

  it('I4: pauses reading while the WAL is over its quota, and resumes once delivery drains it', async () => {
    const root = tempDir('walship-in');
    const file = join(root, 'big.log');
    const want = numbered(`line-${'p'.repeat(80)}`, 1, 2000);
    writeFileSync(file, lines(want));
    // Every request fails at first: nothing is acknowledged, the WAL fills to its quota.
    const rig = await startRig(join(root, 'wal'), { wal: { maxBytes: 32 * 1024 } }, { failRate: 1 });
    const input = rig.input({ type: 'input_file', path: file, ...FAST, readChunkBytes: 4096 });
    await input.start();
    await until(() => input.stats().paused, 'reading paused');
    const stats = await rig.flusher.stats();
    assert.equal(stats?.wal.overQuota, true);
    const readWhilePaused = input.stats().bytesRead;
    assert.ok(input.stats().logs < want.length, 'not everything was read');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(input.stats().bytesRead, readWhilePaused, 'no reading while paused');
    rig.receiver.setFaults({ failRate: 0 });
    await until(() => received(rig.receiver).length >= want.length, 'every line delivered after the drain', 30_000);
    assert.equal(exactlyOnce(received(rig.receiver), want), undefined);
    assert.ok(input.stats().pauses >= 1);
  });

  it('rejects a bad config with WALSHIP_INVALID_OPTIONS, naming the field', () => {
    const ctx = { flusher: { isReady: () => true, appendDurable: async () => {}, getCheckpoint: async () => undefined }, project: '', logstore: '', configName: 'c', logger: quiet };
    const bad = [
      [{ type: 'input_file', path: '' }, /`path`/],
      [{ type: 'input_file', path: 'x', multiline: { startPattern: '(' } }, /multiline.startPattern/],
      [{ type: 'input_file', path: 'x', maxLineBytes: 0 }, /maxLineBytes/],
      [{ type: 'input_file', path: 'x', readFromHead: 'yes' }, /readFromHead/],
      [{ type: 'input_kafka' }, /input_stdin/],
    ] as const;
    for (const [config, message] of bad) {
      assert.throws(
        () => createInput(config as never, ctx),
        (err: unknown) => isWalshipError(err, ErrorCodes.INVALID_OPTIONS) && message.test((err as Error).message),
      );
    }
  });
});
