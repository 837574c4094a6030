/**
 * Group buffers (src/model/headroom.ts): a buffer given back is reused by the next group, once;
 * a group still held is never written over; anything not from the pool is ignored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLogGroup, giveBackGroupBuffer, holdGroupBuffer, LogGroupWriter, takeGroupBuffer } from '../../src/model/index.ts';
import { encodeEnvelope } from '../../src/wal/envelope.ts';

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
    giveBackGroupBuffer(taken); // lent, but held by no view yet (a writer is filling it): ignored
    assert.notEqual(takeGroupBuffer(200_000).buffer, taken.buffer, 'not handed out twice');
    holdGroupBuffer(taken);
    giveBackGroupBuffer(taken);
    assert.equal(takeGroupBuffer(200_000).buffer, taken.buffer, 'a pool buffer comes back');
  });

  it('a buffer with two holders (the producer and a record built in place) comes back after both', () => {
    const w = new LogGroupWriter({ headroom: 64 });
    const payload = group(w, 'held', 50);
    const copy = Buffer.from(payload);
    const meta = { project: 'p', logstore: 's', configName: 'c', logstoreKey: 0n, enqueuedAt: 1, idempotencyKey: undefined };
    const record = encodeEnvelope(meta, payload);
    assert.equal(record.buffer, payload.buffer, 'the record was built in place');
    giveBackGroupBuffer(record); // acknowledged first
    giveBackGroupBuffer(record); // twice: counts once
    // The producer still holds it (another flusher may copy it now): no writer gets it.
    for (let i = 0; i < 40; i++) assert.notEqual(group(new LogGroupWriter({ headroom: 64 }), `other${i}`, 50).buffer, payload.buffer);
    assert.deepEqual(payload, copy, 'never written over while held');
    const late = encodeEnvelope(meta, payload); // a second flusher copies it
    assert.notEqual(late.buffer, payload.buffer);
    giveBackGroupBuffer(payload); // the producer's appends settled: the last holder
    assert.equal(takeGroupBuffer(payload.buffer.byteLength).buffer, payload.buffer, 'back in the pool');
  });

  it('holds only views over lent group buffers', () => {
    assert.equal(holdGroupBuffer(Buffer.alloc(10)), false);
    const lent = takeGroupBuffer(1000);
    const view = lent.subarray(10, 20);
    assert.equal(holdGroupBuffer(view), true);
    assert.equal(holdGroupBuffer(view), false, 'a view holds once');
    giveBackGroupBuffer(view);
    assert.equal(takeGroupBuffer(1000).buffer, lent.buffer);
  });
});
