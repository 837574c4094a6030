import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createFlusher } from '../../src/flusher/index.ts';
import { startAdminServer, WalshipMetrics } from '../../src/metrics/index.ts';
import { startReceiver } from '../../src/receiver/index.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { tempDir } from '../helpers/tmpdir.ts';

const logger = captureLogger('warn').logger;

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the admin server (M1–M4)', () => {
  it('serves fresh WAL and delivery metrics over HTTP, counters never go down, /healthz turns 503 once the WAL is closed', async () => {
    const receiver = await startReceiver({ logger });
    after(() => receiver.close());
    const dir = join(tempDir(), 'f');
    const flusher = await createFlusher({ dir, sink: { type: 'http', url: `${receiver.url}/x`, encoding: 'ndjson' }, wal: { freeSpaceFloor: 0 }, logger });
    after(() => flusher.stop());
    let stopped = false;
    const snapshot = async () => {
      const s = await flusher.stats();
      return [{ name: 'f', type: 'http', dir, wal: s?.wal, delivery: s?.delivery }];
    };
    const metrics = new WalshipMetrics({ flushers: snapshot }, { defaultMetrics: false });
    const admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      health: async () => {
        const [f] = await snapshot();
        return { ok: !stopped && f?.wal?.state === 'open' };
      },
      status: async () => ({ flushers: await snapshot() }),
      logger,
    });
    after(() => admin.close());
    assert.match(admin.url, /^http:\/\/127\.0\.0\.1:\d+$/);

    await flusher.flush('p', 'ls', 'c', [{ logs: [{ time: 1, contents: [{ key: 'a', value: 'b' }] }], logTags: [] }]);
    await waitFor(() => receiver.stats().logs === 1);
    // The ack is settled in the WAL right after the 2xx: poll the scrape, not a sleep.
    let text = '';
    await waitFor(async () => {
      text = await (await fetch(`${admin.url}/metrics`)).text();
      // Delivered counts at the 2xx; pending drops when the WAL ack is written just after.
      return /^walship_delivered_records_total\{flusher="f"\} 1$/m.test(text) && /^walship_wal_pending_records\{flusher="f"\} 0$/m.test(text);
    });
    assert.match(text, /^walship_wal_pending_records\{flusher="f"\} 0$/m);
    assert.match(text, /^walship_wal_open\{flusher="f"\} 1$/m);
    assert.match(text, /^walship_endpoint_up\{flusher="f",endpoint="http:\/\/127\.0\.0\.1:\d+\/x"\} 1$/m);
    assert.match(text, /^walship_delivery_retries_total\{flusher="f"\} 0$/m);
    const again = await (await fetch(`${admin.url}/metrics`)).text();
    assert.match(again, /^walship_delivered_records_total\{flusher="f"\} 1$/m, 'a second scrape does not add again (M2)');

    assert.equal((await fetch(`${admin.url}/healthz`)).status, 200);
    const status = (await (await fetch(`${admin.url}/status`)).json()) as any;
    assert.equal(status.flushers[0].wal.pendingRecords, 0);
    assert.equal((await fetch(`${admin.url}/nope`)).status, 404);

    await flusher.stop();
    stopped = true;
    const h = await fetch(`${admin.url}/healthz`);
    assert.equal(h.status, 503);
    assert.deepEqual(await h.json(), { ok: false });
  });
});

describe('endpoint names in labels (found by a review)', () => {
  it('hides only real user info: an "@" in a path or a plain name keeps two endpoints two series', async () => {
    const { redactUrl } = await import('../../src/metrics/redact-url.ts');
    // Does not parse (a "/" in the password): everything up to the last "@" is hidden.
    assert.equal(redactUrl('http://user:pa/ss@host-a:8080/x'), 'http://[redacted]@host-a:8080/x');
    assert.equal(redactUrl('https://user:secret@logs.example.com/v1'), 'https://[redacted]@logs.example.com/v1');
    assert.equal(redactUrl('http://host-a:8080/api/@team/logs'), 'http://host-a:8080/api/@team/logs');
    assert.equal(redactUrl('primary@dc1'), 'primary@dc1');
    const delivery = (endpoints: Array<{ name: string; connected: boolean }>) =>
      ({ deliveredRecords: 0, deliveredBytes: 0, retries: 0, deadLettered: 0, failures: {}, inFlightRecords: 0, endpoints }) as never;
    const m = new WalshipMetrics(
      {
        flushers: async () => [
          {
            name: 'f',
            type: 'http',
            dir: '/x',
            wal: undefined,
            delivery: delivery([
              { name: 'http://host-a:8080/api/@team/logs', connected: false },
              { name: 'http://host-b:8080/api/@team/logs', connected: true },
            ]),
          },
        ],
      } as never,
      { defaultMetrics: false },
    );
    const series = (await m.metrics()).split('\n').filter((l) => l.startsWith('walship_endpoint_up{'));
    assert.equal(series.length, 2, series.join('\n'));
  });
});
