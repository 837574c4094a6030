/**
 * Group buffers (src/model/headroom.ts): a buffer given back is reused by the next group, once;
 * a group still held is never written over; anything not from the pool is ignored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLogGroup, giveBackGroupBuffer, LogGroupWriter, takeGroupBuffer } from '../../src/model/index.ts';

function group(w: LogGroupWriter, label: string, n: number): Buffer {
  for (let i = 0; i < n; i++) w.addTextLog(1_763_000_000, 'content', `${label} line ${i} ${'y'.repeat(i % 90)}`);
  return w.finish({ topic: label });
}

describe('group buffers', () => {
  it('a given-back buffer carries the next group; held groups stay intact', () => {
    const w = new LogGroupWriter({ headroom: 40 });
    const held: Array<{ payload: Buffer; copy: Buffer }> = [];
    const backings = new Set<ArrayBufferLike>();
    for (let g = 0; g < 60; g++) {
      const payload = group(w, `g${g}`, 1 + (g % 17) * 13);
      backings.add(payload.buffer);
      if (g % 3 === 0) {
        held.push({ payload, copy: Buffer.from(payload) });
      } else {
        giveBackGroupBuffer(payload); // acknowledged: its memory may carry a later group
        giveBackGroupBuffer(payload); // a second give-back is ignored
      }
    }
    assert.ok(backings.size < 60, `buffers were reused (${backings.size} for 60 groups)`);
    for (const h of held) assert.deepEqual(h.payload, h.copy, 'a group not given back is never written over');
    for (const h of held) assert.equal(decodeLogGroup(h.payload).topic?.startsWith('g'), true);
  });

  it('ignores buffers that are not from the pool', () => {
    const foreign = Buffer.allocUnsafe(300_000);
    giveBackGroupBuffer(foreign);
    const taken = takeGroupBuffer(200_000);
    assert.notEqual(taken.buffer, foreign.buffer);
    giveBackGroupBuffer(taken);
    assert.equal(takeGroupBuffer(200_000).buffer, taken.buffer, 'a pool buffer comes back');
  });
});
