/**
 * DurableFlusher.appendDurable / getCheckpoint, the path every input takes (F5, I1, I4):
 * groups and a checkpoint land together; a checkpoint-only append is never refused for the
 * quota; after stop, appends reject with WALSHIP_CLOSED.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCodes, isWalshipError } from '../../src/errors.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { received, startRig, until } from './harness.ts';

const group = (text: string) => ({
  project: 'proj',
  logstore: 'store',
  configName: 'test',
  logGroup: { logs: [{ time: 1_700_000_000, contents: [{ key: 'content', value: text }] }], logTags: [] },
});

describe('DurableFlusher.appendDurable', () => {
  it('F5: writes the groups and the checkpoint, readable with getCheckpoint, and the groups are delivered', async () => {
    const rig = await startRig(join(tempDir('walship-ad'), 'wal'));
    assert.equal(await rig.flusher.getCheckpoint('k'), undefined);
    await rig.flusher.appendDurable([group('one'), group('two')], [{ key: 'k', value: 'offset=42' }]);
    assert.equal((await rig.flusher.getCheckpoint('k'))?.toString(), 'offset=42');
    await until(() => received(rig.receiver).length === 2, 'both groups delivered');
    assert.deepEqual(received(rig.receiver).sort(), ['one', 'two']);
  });

  it('I4: over the quota, isReady turns false; a checkpoint-only append still passes; groups wait for room', async () => {
    const rig = await startRig(join(tempDir('walship-ad'), 'wal'), { wal: { maxBytes: 4096 } }, { failRate: 1 });
    let n = 0;
    while (rig.flusher.isReady()) await rig.flusher.appendDurable([group(`fill-${n++}-${'x'.repeat(500)}`)]);
    await rig.flusher.appendDurable([], [{ key: 'k', value: 'still' }]);
    assert.equal((await rig.flusher.getCheckpoint('k'))?.toString(), 'still');
    let landed = false;
    const waiting = rig.flusher.appendDurable([group('late')], [{ key: 'k', value: 'after' }]).then(() => {
      landed = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(landed, false, 'a group append waits while the WAL is full (whenFull: block)');
    rig.receiver.setFaults({ failRate: 0 });
    await waiting;
    assert.equal((await rig.flusher.getCheckpoint('k'))?.toString(), 'after');
    await until(() => received(rig.receiver).includes('late'), 'the late group delivered');
  });

  it('rejects with WALSHIP_CLOSED once the flusher is stopped', async () => {
    const rig = await startRig(join(tempDir('walship-ad'), 'wal'));
    await rig.flusher.stop();
    await assert.rejects(rig.flusher.appendDurable([group('x')]), (err: unknown) => isWalshipError(err, ErrorCodes.CLOSED));
  });
});
