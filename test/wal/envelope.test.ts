/**
 * The envelope built in the room an input left in front of its LogGroup (src/model/headroom.ts):
 * the same bytes as a copied envelope, the payload untouched, and the room used once only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLogGroup, LogGroupWriter } from '../../src/model/index.ts';
import { decodeEnvelope, encodeEnvelope, envelopePrefixBytes, type RecordMeta } from '../../src/wal/envelope.ts';

const meta: RecordMeta = { project: 'proj', logstore: 'logs', configName: 'cfg', logstoreKey: 7n, enqueuedAt: 1_763_000_000_123 };

function group(headroom: number, lines: number): Buffer {
  const w = new LogGroupWriter({ headroom });
  for (let i = 0; i < lines; i++) w.addTextLog(1_763_000_000, 'content', `line ${i} ${'x'.repeat(i % 50)}`, 5);
  return w.finish({ topic: 't', logTags: [{ key: 'k', value: 'v' }] });
}

describe('envelope in the headroom', () => {
  it('writes the same envelope as a copy would, without touching the payload, once', () => {
    const room = envelopePrefixBytes(meta.project, meta.logstore, meta.configName);
    const plain = group(0, 300);
    const roomy = group(room, 300);
    assert.deepEqual(roomy, plain, 'the group bytes do not depend on the headroom');
    const want = encodeEnvelope(meta, plain);
    const payloadBefore = Buffer.from(roomy);
    const inPlace = encodeEnvelope(meta, roomy);
    assert.deepEqual(inPlace, want);
    assert.equal(inPlace.buffer, roomy.buffer, 'built in the payload\'s own buffer');
    assert.equal(inPlace.byteOffset + inPlace.length, roomy.byteOffset + roomy.length);
    assert.deepEqual(roomy, payloadBefore, 'the payload is untouched');
    // A second envelope of the same payload (another flusher, other metadata) is a copy and
    // leaves the first one whole.
    const other = encodeEnvelope({ ...meta, project: 'another' }, roomy);
    assert.notEqual(other.buffer, roomy.buffer);
    assert.deepEqual(inPlace, want);
    const decoded = decodeEnvelope(inPlace);
    assert.ok(!('kind' in decoded));
    assert.equal(decodeLogGroup(decoded.payload).logs.length, 300);
  });

  it('copies when the room is smaller than the header needs (longer metadata)', () => {
    const roomy = group(envelopePrefixBytes('p', 'l', 'c'), 10);
    const out = encodeEnvelope(meta, roomy);
    assert.notEqual(out.buffer, roomy.buffer);
    assert.deepEqual(out, encodeEnvelope(meta, group(0, 10)));
  });

  it('each finished group has a buffer of its own', () => {
    const w = new LogGroupWriter({ headroom: 64 });
    w.addTextLog(1, 'k', 'a');
    const first = w.finish();
    w.addTextLog(1, 'k', 'b');
    const second = w.finish();
    assert.notEqual(first.buffer, second.buffer);
    assert.equal(decodeLogGroup(first).logs[0]?.contents[0]?.value, 'a');
  });
});
