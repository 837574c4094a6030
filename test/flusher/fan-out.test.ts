/**
 * fanOut (src/flusher/fan-out.ts): several flushers behind one input. A retried batch goes only
 * to the flushers that do not have it yet; an attempt settles only when every append it started
 * settled; a first flusher without checkpoints (new, or renamed) borrows another flusher's.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import { createFlusher, type DurableFlusher, type DurableGroup, fanOut } from '../../src/flusher/index.ts';
import { createInput } from '../../src/inputs/index.ts';
import type { Checkpoint } from '../../src/wal/index.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { tempDir } from '../helpers/tmpdir.ts';

/** A stand-in DurableFlusher: its appends are decided by `behave`, and counted. */
function fake(behave: (call: number) => Promise<void> | void, checkpoint?: Buffer) {
  const f = {
    calls: 0,
    isReady: () => true,
    async appendDurable(_groups: readonly DurableGroup[], _checkpoints?: readonly Checkpoint[]) {
      f.calls++;
      await behave(f.calls);
    },
    getCheckpoint: async () => checkpoint,
  };
  return f;
}
const asFlushers = (list: unknown[]) => list as DurableFlusher[];
const retryable = () => new WalshipError(ErrorCodes.QUOTA_EXCEEDED, 'at the quota (test)');
const groups = (): DurableGroup[] => [{ project: 'p', logstore: 's', configName: 'c', logGroup: { logs: [] } } as unknown as DurableGroup];

describe('fanOut', () => {
  it('a retried batch goes only to the flushers that do not have it yet; the first flusher still last', async () => {
    const order: string[] = [];
    const first = fake(() => void order.push('first'));
    const healthy = fake(() => void order.push('healthy'));
    const refusing = fake((n) => {
      order.push('refusing');
      if (n <= 3) throw retryable();
    });
    const target = fanOut(asFlushers([first, healthy, refusing]));
    const batch = groups();
    for (let attempt = 1; ; attempt++) {
      try {
        await target.appendDurable(batch, []);
        break;
      } catch (err) {
        assert.ok(attempt <= 3, String(err));
      }
    }
    assert.equal(healthy.calls, 1, 'stored once, not once per retry');
    assert.equal(refusing.calls, 4);
    assert.equal(first.calls, 1);
    assert.equal(order.at(-1), 'first');
    // Another batch (a new array) goes to everyone again; so do checkpoint-only appends.
    await target.appendDurable(groups(), []);
    await target.appendDurable([], [{ key: 'k', value: 'v' }]);
    await target.appendDurable([], [{ key: 'k', value: 'v' }]);
    assert.deepEqual([first.calls, healthy.calls, refusing.calls], [4, 4, 7]);
  });

  it('an attempt settles only when every append it started settled', async () => {
    let release: () => void = () => {};
    const waiting = fake(() => new Promise<void>((r) => (release = r))); // waiting for room
    const refusing = fake(() => {
      throw retryable();
    });
    const first = fake(() => {});
    const target = fanOut(asFlushers([first, waiting, refusing]));
    let settled = false;
    const attempt = target.appendDurable(groups(), []).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, 'not while a flusher is still appending');
    release();
    await assert.rejects(attempt, (e: unknown) => e instanceof WalshipError && e.code === ErrorCodes.QUOTA_EXCEEDED);
    assert.equal(first.calls, 0, 'the checkpointing flusher is not appended to after a failure');
  });

  it('a first flusher without a checkpoint borrows the next one that has it, with a warning', async () => {
    const { logger, lines } = captureLogger();
    const target = fanOut(asFlushers([fake(() => {}), fake(() => {}), fake(() => {}, Buffer.from('offsets'))]), {
      logger,
      names: ['new', 'old-1', 'old-2'],
    });
    assert.equal(String(await target.getCheckpoint('input_file:x')), 'offsets');
    assert.ok(lines.some((l) => l.level === 40 && l.from === 'old-2' && l.first === 'new'), JSON.stringify(lines));
    assert.equal(await fanOut(asFlushers([fake(() => {})])).getCheckpoint('k'), undefined);
  });

  it('a flusher added at the head of the list: the lines written while walship was down still reach every destination', { timeout: 60_000 }, async () => {
    const root = tempDir('walship-fanout');
    const { logger: quiet } = captureLogger('error');
    const flusher = (name: string) => createFlusher({ dir: join(root, name), sink: { type: 'file', path: join(root, `${name}.ndjson`) }, logger: quiet });
    const app = join(root, 'app.log');
    writeFileSync(app, '');
    const ctx = { project: 'p', logstore: 's', configName: 'c', logger: quiet };
    const write = (label: string) => appendFileSync(app, Array.from({ length: 100 }, (_, i) => `${label} ${i}\n`).join(''));
    const delivered = (name: string, label: string) => {
      const p = join(root, `${name}.ndjson`);
      return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter((l) => l.includes(`"${label} `)).length : 0;
    };
    const waitFor = async (cond: () => boolean) => {
      for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
    };
    // Run 1: flushers [old].
    let old = await flusher('old');
    let input = createInput({ type: 'input_file', path: app, pollMs: 20 }, { ...ctx, flusher: fanOut([old]) });
    await input.start();
    write('run1');
    await waitFor(() => delivered('old', 'run1') === 100);
    await input.stop();
    await old.stop();
    write('down'); // walship is down; the application logs on
    // Run 2: flushers [new, old].
    const added = await flusher('new');
    old = await flusher('old');
    input = createInput({ type: 'input_file', path: app, pollMs: 20 }, { ...ctx, flusher: fanOut([added, old], { logger: quiet }) });
    await input.start();
    write('run2');
    await waitFor(() => ['new', 'old'].every((n) => delivered(n, 'down') === 100 && delivered(n, 'run2') === 100));
    await input.stop();
    await Promise.all([added.stop(), old.stop()]);
    assert.deepEqual(
      ['old', 'new'].map((n) => [delivered(n, 'run1'), delivered(n, 'down'), delivered(n, 'run2')]),
      [
        [100, 100, 100],
        [0, 100, 100],
      ],
    );
  });
});
