/**
 * A json/ndjson batch that failed in a way a retry can fix is re-sent with the same body, not
 * transcoded again; a permanent failure keeps nothing; gzip bodies too.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { DeliveryError } from '../../../src/delivery/delivery-error.ts';
import { KEEP_RETRY_BODY_BYTES } from '../../../src/sinks/http/http-client.ts';
import { createHttpClient } from '../../../src/sinks/http/index.ts';
import { makeRecords } from './fixtures.ts';

const quiet = pino({ level: 'silent' });

/** Answers each request with the next status of `script` (then 200), keeping every body. */
function scriptedServer(script: number[]) {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      res.writeHead(script.shift() ?? 200, { 'content-length': '0', 'retry-after': '0' }).end();
    });
  });
  return { server, bodies, script };
}

describe('HTTP sink: the body of a retried batch', () => {
  const s = scriptedServer([]);
  let url = '';
  before(async () => {
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/ingest`;
  });
  after(() => new Promise<void>((r) => s.server.close(() => r())));

  for (const gzip of [false, true]) {
    it(`is re-sent as it was after a 503, and made anew after a 400 (gzip ${gzip})`, async () => {
      const client = createHttpClient({ url, encoding: 'ndjson', gzip, logger: quiet });
      await client.connect(5000);
      const batch = { key: 'w-1-4', records: makeRecords(1, 4, 50) };
      s.bodies.length = 0;
      s.script.push(503, 503);
      for (let attempt = 1; attempt <= 2; attempt++) {
        await assert.rejects(client.publishEvents(batch), (e: unknown) => e instanceof DeliveryError && e.kind === 'retryable');
      }
      assert.deepEqual(await client.publishEvents(batch), []);
      assert.equal(client.reusedBodies, 2, 'the two retries sent the kept body');
      assert.equal(s.bodies.length, 3);
      assert.deepEqual(s.bodies[1], s.bodies[0]);
      assert.deepEqual(s.bodies[2], s.bodies[0]);
      const text = (gzip ? gunzipSync(s.bodies[0]!) : s.bodies[0]!).toString();
      assert.equal(text.trim().split('\n').length, 4 * 50, 'the whole batch, every log');
      // A permanent refusal keeps nothing: the next attempt (a split, a replay) is made anew.
      s.script.push(400);
      await assert.rejects(client.publishEvents(batch), (e: unknown) => e instanceof DeliveryError && e.kind === 'permanent');
      assert.deepEqual(await client.publishEvents(batch), []);
      assert.equal(client.reusedBodies, 2);
      await client.close();
    });
  }

  it('bodies kept for retries are bounded in bytes: the oldest are dropped (made anew if their batch comes back)', async () => {
    const client = createHttpClient({ url, encoding: 'ndjson', logger: quiet });
    await client.connect(5000);
    const batches = Array.from({ length: 12 }, (_, i) => ({ key: `w-${i}`, records: makeRecords(1 + i * 2, 2, 4000) }));
    s.bodies.length = 0;
    for (const batch of batches) {
      s.script.push(503);
      await assert.rejects(client.publishEvents(batch), (e: unknown) => e instanceof DeliveryError && e.kind === 'retryable');
    }
    const bodyBytes = s.bodies[0]!.length;
    assert.ok(bodyBytes > 1024 * 1024 && bodyBytes * batches.length > 1.5 * KEEP_RETRY_BODY_BYTES, `bodies of ${bodyBytes} bytes`);
    assert.ok(client.keptRetryBodyBytes > 0 && client.keptRetryBodyBytes <= KEEP_RETRY_BODY_BYTES, `${client.keptRetryBodyBytes} bytes kept`);
    // The newest batch's body was kept; the oldest one's was dropped.
    assert.deepEqual(await client.publishEvents(batches.at(-1)!), []);
    assert.equal(client.reusedBodies, 1);
    assert.deepEqual(await client.publishEvents(batches[0]!), []);
    assert.equal(client.reusedBodies, 1, 'the oldest body was made anew');
    assert.deepEqual(s.bodies.at(-1), s.bodies[0], 'with the same bytes');
    await client.close();
    assert.equal(client.keptRetryBodyBytes, 0);
  });

  it('is made anew when the same key comes back with other records (a batch shrunk across a WAL reopen)', async () => {
    const client = createHttpClient({ url, encoding: 'ndjson', logger: quiet });
    await client.connect(5000);
    const [a, b, c] = makeRecords(1, 3, 5);
    s.bodies.length = 0;
    s.script.push(503);
    await assert.rejects(client.publishEvents({ key: 'w-1-3', records: [a!, b!, c!] }));
    // Re-read after a reopen, record 2 dead-lettered meanwhile: the same key, other objects.
    const reread = makeRecords(1, 3, 5);
    assert.deepEqual(await client.publishEvents({ key: 'w-1-3', records: [reread[0]!, reread[2]!] }), []);
    assert.equal(client.reusedBodies, 0);
    assert.equal(s.bodies[1]!.toString().trim().split('\n').length, 2 * 5, 'only the two records left');
    await client.close();
  });
});
