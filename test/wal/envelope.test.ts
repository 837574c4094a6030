/**
 * The envelope built in the room an input left in front of its LogGroup (src/model/headroom.ts):
 * the same bytes as a copied envelope, the payload untouched, and the room used once only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLogGroup, LogGroupWriter } from '../../src/model/index.ts';
import { ErrorCodes, isWalshipError } from '../../src/errors.ts';
import { decodeEnvelope, encodeEnvelope, envelopeBytes, envelopePrefixBytes, type RecordMeta } from '../../src/wal/envelope.ts';
import { WriteAheadLog } from '../../src/wal/index.ts';
import { tempDir } from '../helpers/tmpdir.ts';

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

  it('envelopeBytes is the length encodeEnvelope makes', () => {
    for (const m of [meta, { ...meta, idempotencyKey: 'wal-1-9' }, { ...meta, project: 'prøject ✓' }]) {
      assert.equal(envelopeBytes(m, 1234), encodeEnvelope(m, Buffer.alloc(1234)).length);
    }
  });

  it('an append refused at the quota leaves the room: the next one builds in place', async () => {
    const wal = await WriteAheadLog.open({ dir: tempDir(), maxBytes: 60_000, sync: 'never', logger: (await import('pino')).pino({ level: 'silent' }) });
    const room = envelopePrefixBytes(meta.project, meta.logstore, meta.configName);
    const entry = (payload: Buffer) => ({ payload, project: meta.project, logstore: meta.logstore, configName: meta.configName });
    await wal.append([entry(group(0, 600))]);
    await wal.append([entry(group(0, 600))]); // over the quota now
    const roomy = group(room, 300);
    const before = Buffer.from(roomy);
    await assert.rejects(wal.append([entry(roomy)]), (e: unknown) => isWalshipError(e, ErrorCodes.QUOTA_EXCEEDED));
    assert.deepEqual(roomy, before);
    await wal.ack(await wal.nextBatch(10, 1 << 20));
    assert.equal(wal.isOverQuota(), false);
    await wal.append([entry(roomy)]);
    const [record] = await wal.nextBatch(10, 1 << 20);
    assert.equal(record?.envelope.buffer, roomy.buffer, 'built in place after the refusal');
    assert.deepEqual(record?.payload, before);
    await wal.close();
  });
});
