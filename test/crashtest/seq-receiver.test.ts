import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { seqLine } from '../../src/crashtest/seq-input.ts';
import { SeqReceiver } from '../../src/crashtest/seq-receiver.ts';

async function post(url: string, seqs: number[], key?: string): Promise<number> {
  const body = seqs.map((s) => JSON.stringify({ contents: { content: seqLine(s).trimEnd() } })).join('\n');
  // fetch reports a network failure as "fetch failed" with the socket's error as its cause.
  const res = await fetch(`${url}/ingest`, { method: 'POST', body, headers: key === undefined ? {} : { 'x-walship-idempotency-key': key } }).catch((err: Error) => {
    throw err.cause ?? err;
  });
  await res.arrayBuffer();
  return res.status;
}

describe('SeqReceiver', () => {
  const receivers: SeqReceiver[] = [];
  after(() => Promise.all(receivers.map((r) => r.close())));

  it('counts each sequence number, before and after deduplication by idempotency key', async () => {
    const r = await SeqReceiver.start({ expected: 10 });
    receivers.push(r);
    assert.equal(await post(r.url, [1, 2, 3], 'k1'), 200);
    assert.equal(await post(r.url, [1, 2, 3], 'k1'), 200, 'a redelivery is acknowledged');
    assert.equal(await post(r.url, [3, 4, 11], 'k2'), 200);
    const s = r.stats();
    assert.equal(s.unique, 4);
    assert.equal(s.duplicatesBeforeDedup, 4, '1, 2, 3 again under k1, and 3 under k2');
    assert.equal(s.duplicatesAfterDedup, 1, 'only 3 under k2 was stored twice');
    assert.equal(s.duplicateRequests, 1);
    assert.equal(s.strays, 1, '11 is outside 1 … 10');
    assert.deepEqual(r.missing(), [5, 6, 7, 8, 9, 10]);
  });

  it('keeps its counts across a restart on the same port, and refuses connections while down', async () => {
    const r = await SeqReceiver.start({ expected: 5 });
    receivers.push(r);
    await post(r.url, [1], 'a');
    const port = r.port;
    await r.down();
    await assert.rejects(post(r.url, [2], 'b'), /ECONNREFUSED/);
    await r.up();
    assert.equal(r.port, port);
    await post(r.url, [1], 'a');
    await post(r.url, [2], 'b');
    assert.equal(r.stats().unique, 2);
    assert.equal(r.stats().duplicateRequests, 1, 'the key stored before the restart is still a duplicate');
    assert.equal(r.stats().duplicatesAfterDedup, 0);
  });

  it('answers 503 at the fail rate without counting what it refused', async () => {
    const r = await SeqReceiver.start({ expected: 200, failRate: 0.5, seed: 3 });
    receivers.push(r);
    let failed = 0;
    for (let i = 1; i <= 200; i++) if ((await post(r.url, [i], `k${i}`)) === 503) failed++;
    const s = r.stats();
    assert.equal(s.failed, failed);
    assert.ok(failed > 50 && failed < 150, `about half failed: ${failed}`);
    assert.equal(s.unique, 200 - failed);
  });
});
