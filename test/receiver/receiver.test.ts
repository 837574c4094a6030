// The test receiver: deduplication on the idempotency key (R2), faults and their replay from a
// seed (R3, R4), outages (R5), the `out` file (R1), and what it refuses. Invariants R1–R5 are
// stated in src/receiver/index.ts.
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';


import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import { encodeLogGroup } from '../../src/model/index.ts';
import { countRequest, decodeRequest, RequestProblem, type RequestFacts } from '../../src/receiver/decode-request.ts';
import { type Receiver, type ReceiverOptions, startReceiver } from '../../src/receiver/index.ts';
import { lz4BlockCompressSync as lz4Compress } from '../../src/sinks/http/lz4-block.ts';
import { createHttpClient, type HttpClient, type HttpSinkOptions } from '../../src/sinks/http/index.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { hookOpen } from '../helpers/hook-open.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { expectedIds, makeBatch, makeRecords, sampleGroup } from '../sinks/http/fixtures.ts';
import { rejection } from '../helpers/rejection.ts';

const quiet = captureLogger('warn').logger;

/** The lines a receiver writes to `out` for `batch` (a receiver of its own, on a scratch file). */
async function linesStored(batch: ReturnType<typeof makeBatch>): Promise<string> {
  const out = join(tempDir('walship-receiver'), 'scratch.ndjson');
  await withReceiver({ out }, async (_receiver, client) => {
    await client.publishEvents(batch);
  });
  return readFileSync(out, 'utf8');
}

async function withReceiver(
  options: ReceiverOptions,
  fn: (receiver: Receiver, client: HttpClient) => Promise<void>,
  clientOptions: Omit<HttpSinkOptions, 'url'> = {},
): Promise<void> {
  const receiver = await startReceiver({ logger: quiet, ...options });
  const client = createHttpClient({ url: receiver.url, logger: quiet, ...clientOptions });
  try {
    await fn(receiver, client);
  } finally {
    await client.close();
    await receiver.close();
  }
}

/** A raw POST; resolves with the status and body text, or with `'error'` when there was no answer. */
async function post(
  url: string,
  body: Buffer | string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string } | 'error'> {
  try {
    const res = await fetch(url, { method: 'POST', body, headers });
    return { status: res.status, text: await res.text() };
  } catch {
    return 'error';
  }
}

function oneLog(n: number): string {
  return JSON.stringify([{ time: 1_700_000_000, contents: { n: String(n) }, tags: {}, logstore: 'ls' }]);
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('receiver deduplication (R2)', () => {
  it('stores a request once and answers a repeated idempotency key with 200, counted as a duplicate', async () => {
    await withReceiver({}, async (receiver, client) => {
      const batch = makeBatch(makeRecords(1, 2));
      assert.deepEqual(await client.publishEvents(batch), []);
      assert.deepEqual(await client.publishEvents(batch), []);
      const stats = receiver.stats();
      assert.equal(stats.requests, 2);
      assert.equal(stats.acceptedRequests, 1);
      assert.equal(stats.duplicateRequests, 1);
      assert.equal(stats.logs, 4);
      assert.equal(stats.duplicateLogs, 4);
      assert.deepEqual(
        receiver.logs().map((l) => l.contents.n),
        expectedIds(batch.records),
      );
      assert.deepEqual(
        receiver.requests().map((r) => r.outcome),
        ['accepted', 'duplicate'],
      );
    });
  });

  it('stores a request without a key every time it comes', async () => {
    await withReceiver({}, async (receiver) => {
      for (let i = 0; i < 2; i++) {
        const res = await post(`${receiver.url}/ingest`, oneLog(1), { 'content-type': 'application/json' });
        assert.notEqual(res, 'error');
      }
      assert.equal(receiver.stats().logs, 2);
      assert.equal(receiver.stats().duplicateRequests, 0);
    });
  });

  it('turns the retry of a request whose client timed out into a duplicate, not a second copy', async () => {
    await withReceiver(
      { latencyMs: 300 },
      async (receiver, client) => {
        const batch = makeBatch(makeRecords(1, 1));
        const err = await rejection(client.publishEvents(batch));
        assert.equal(err.reason, 'timeout');
        receiver.clearFaults();
        assert.deepEqual(await client.publishEvents(batch), []);
        await new Promise((r) => setTimeout(r, 350)); // the slow original finishes meanwhile
        const stats = receiver.stats();
        assert.equal(stats.logs, 2, 'the one record (two logs) is stored once');
        assert.equal(stats.acceptedRequests, 1);
        assert.equal(stats.duplicateRequests, 1);
      },
      { timeoutMs: 100, encoding: 'sls' },
    );
  });
});

describe('receiver faults (R3, R4)', () => {
  it('replays the same faults for the same seed and request order', async () => {
    const faults: ReceiverOptions = { failRate: 0.3, resetRate: 0.15, retryAfterRate: 0.2, seed: 1234 };
    const run = async (seed: number): Promise<string[]> => {
      const receiver = await startReceiver({ logger: quiet, ...faults, seed });
      try {
        assert.equal(receiver.seed, seed);
        for (let i = 0; i < 40; i++) await post(`${receiver.url}/ingest`, oneLog(i), { 'content-type': 'application/json' });
        const s = receiver.stats();
        assert.equal(s.requests, 40);
        assert.equal(s.acceptedRequests + s.faults.fail + s.faults.reset + s.faults.retryAfter, 40);
        assert.equal(s.logs, s.acceptedRequests, 'faulted requests are not stored');
        return receiver.requests().map((r) => r.outcome);
      } finally {
        await receiver.close();
      }
    };
    const first = await run(1234);
    assert.deepEqual(await run(1234), first);
    for (const outcome of ['accepted', 'fail', 'reset', 'retryAfter']) assert.ok(first.includes(outcome), `no ${outcome} in ${first}`);
    assert.notDeepEqual(await run(99), first);
  });

  it('answers failStatus at failRate, and 429 with Retry-After at retryAfterRate', async () => {
    await withReceiver({ failRate: 1, failStatus: 500 }, async (receiver, client) => {
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      assert.equal(err.statusCode, 500);
      receiver.setFaults({ failRate: 0, retryAfterRate: 1, retryAfterSeconds: 3 });
      const limited = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.retryAfterMs, 3000);
      assert.deepEqual(receiver.stats().faults, { fail: 1, reset: 0, retryAfter: 1, latency: 0, reject: 0, outage: 0 });
      assert.equal(receiver.stats().logs, 0);
    });
  });

  it('refuses a whole request when one of its logs matches rejectWhen, so a bad record can be isolated', async () => {
    await withReceiver({ rejectWhen: (log) => log.contents.n === 'r2.1' }, async (receiver, client) => {
      const records = makeRecords(1, 3);
      const err = await rejection(client.publishEvents(makeBatch(records)));
      assert.equal(err.kind, 'permanent');
      assert.equal(err.statusCode, 400);
      assert.equal(receiver.stats().logs, 0, 'nothing of the refused request is stored');
      // Split: the good records go through, the bad one is refused alone.
      const outcomes = [];
      for (const r of records) outcomes.push(await client.publishEvents(makeBatch([r])).then(() => 'ok', (e: DeliveryError) => e.kind));
      assert.deepEqual(outcomes, ['ok', 'permanent', 'ok']);
      assert.deepEqual(
        receiver.logs().map((l) => l.contents.n),
        ['r1.0', 'r1.1', 'r3.0', 'r3.1'],
      );
      assert.equal(receiver.stats().faults.reject, 2);
    });
  });

  it('changes faults at run time and validates them like the start options', async () => {
    await withReceiver({ failRate: 1 }, async (receiver, client) => {
      await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      receiver.setFaults({ failRate: 0 });
      assert.deepEqual(await client.publishEvents(makeBatch(makeRecords(1, 1))), []);
      assert.throws(
        () => receiver.setFaults({ failRate: 2 }),
        (e: unknown) => e instanceof WalshipError && e.code === ErrorCodes.INVALID_OPTIONS && /`failRate` to be a number from 0 to 1, got 2/.test(e.message),
      );
      assert.equal(receiver.faults().failRate, 0, 'a rejected change leaves the faults as they were');
    });
  });

  it('rejects invalid start options with coded errors naming the option', async () => {
    const cases: Array<[ReceiverOptions, RegExp]> = [
      [{ failRate: -0.1 }, /`failRate` to be a number from 0 to 1/],
      [{ latencyMs: [50, 10] }, /`latencyMs\[1\]` to be an integer from 50/],
      [{ port: 70_000 }, /`port` to be an integer from 0 to 65535, got 70000/],
      [{ failStatus: 99 }, /`failStatus` to be an integer from 100 to 599/],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(
        startReceiver({ logger: quiet, ...options }),
        (e: unknown) => e instanceof WalshipError && e.code === ErrorCodes.INVALID_OPTIONS && message.test(e.message),
      );
    }
  });
});

describe('receiver outages (R5)', () => {
  it('refuses connections during an outage and accepts again on the same port after it', async () => {
    await withReceiver({}, async (receiver, client) => {
      await client.connect(1000);
      const port = receiver.port;
      const over = receiver.outage(400);
      assert.equal(await refused(port), true, 'the port refuses connections');
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      assert.equal(err.kind, 'retryable');
      assert.equal(err.reason, 'econnrefused');
      await over;
      assert.equal(receiver.port, port);
      assert.deepEqual(await client.publishEvents(makeBatch(makeRecords(1, 1))), []);
      assert.equal(receiver.stats().faults.outage, 1);
      assert.equal(receiver.stats().logs, 2);
    });
  });

  it('drops requests in progress at the start of an outage without storing them', async () => {
    await withReceiver({ latencyMs: 1000 }, async (receiver, client) => {
      const publishing = rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      while (receiver.stats().requests === 0) await new Promise((r) => setTimeout(r, 5));
      const over = receiver.outage(50);
      const err = await publishing;
      assert.equal(err.kind, 'retryable');
      await over;
      assert.equal(receiver.stats().logs, 0);
      assert.deepEqual(
        receiver.requests().map((r) => r.outcome),
        ['dropped'],
      );
    });
  });
});

describe('receiver input', () => {
  it('appends each accepted log to the out file as an NDJSON line, and duplicates never (R1)', async () => {
    const out = join(tempDir('walship-receiver'), 'received.ndjson');
    await withReceiver(
      { out },
      async (receiver, client) => {
        const batch = makeBatch(makeRecords(1, 3));
        await client.publishEvents(batch);
        await client.publishEvents(batch);
        const lines = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { contents: { n: string }; idempotencyKey: string });
        assert.deepEqual(
          lines.map((l) => l.contents.n),
          expectedIds(batch.records),
        );
        assert.ok(lines.every((l, i) => l.idempotencyKey === batch.records[Math.floor(i / 2)]!.idempotencyKey));
        assert.deepEqual(receiver.logs().map((l) => JSON.parse(JSON.stringify(l))), lines);
      },
      { encoding: 'sls', compression: 'deflate' },
    );
  });

  it('keeps deduplicating after a restart on the same out file, and stores again a key whose record was torn (R2)', async () => {
    const out = join(tempDir('walship-receiver'), 'received.ndjson');
    const first = makeBatch(makeRecords(1, 2));
    const second = makeBatch(makeRecords(3, 2));
    await withReceiver({ out }, async (_receiver, client) => {
      await client.publishEvents(first);
    });
    // A receiver killed after the lines of `second` and before its key: the key file ends
    // with a torn line, and `second` is not known as stored.
    writeFileSync(`${out}.keys`, `${readFileSync(`${out}.keys`, 'utf8')}${second.key.slice(0, 5)}`);
    await withReceiver({ out }, async (receiver, client) => {
      await client.publishEvents(first);
      await client.publishEvents(second);
      assert.equal(receiver.stats().duplicateRequests, 1, 'the key stored before the restart is a duplicate');
      assert.equal(receiver.stats().acceptedRequests, 1, 'the torn key is stored again');
    });
    // The torn commit line was cut; each start wrote a commit line for the size it began at.
    const size = statSync(out).size;
    assert.deepEqual(readFileSync(`${out}.keys`, 'utf8').split('\n'), ['\t0', `${first.key}\t${size / 2}`, `\t${size / 2}`, `${second.key}\t${size}`, '']);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 8, 'the four logs of each batch, each stored once');
  });

  it('a write error while storing a request leaves nothing of it in out: the retry stores it once, and a restart keeps every committed log (R2)', async (t) => {
    const out = join(tempDir('walship-receiver'), 'received.ndjson');
    // The second append to `out` writes half its lines, then fails with ENOSPC; the fourth
    // append to `.keys` (the third request's commit line, after the start's own) writes half
    // its line, then fails with EIO.
    const calls = new Map<string, number>();
    hookOpen(t, {
      after: (path, fh) => {
        const name = String(path);
        const append = fh.appendFile.bind(fh);
        fh.appendFile = (async (data: string) => {
          const n = (calls.get(name) ?? 0) + 1;
          calls.set(name, n);
          if (n === 2 && name === out) {
            await fh.write(Buffer.from(data).subarray(0, Math.floor(data.length / 2)));
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          }
          if (n === 4 && name === `${out}.keys`) {
            await fh.write(Buffer.from(data).subarray(0, 3));
            throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
          }
          return append(data);
        }) as typeof fh.appendFile;
      },
    });
    const batches = [1, 3, 5, 7].map((first) => makeBatch(makeRecords(first, 2)));
    await withReceiver({ out }, async (receiver, client) => {
      await client.publishEvents(batches[0]!);
      await assert.rejects(client.publishEvents(batches[1]!), /500|cannot write out/);
      await client.publishEvents(batches[1]!); // the retry
      await assert.rejects(client.publishEvents(batches[2]!), /500|cannot write out/);
      await client.publishEvents(batches[2]!);
      await client.publishEvents(batches[3]!);
      assert.equal(receiver.stats().acceptedRequests, 4);
    });
    const stored = () => readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { idempotencyKey: string }).idempotencyKey);
    const want = batches.flatMap((b) => Array.from({ length: 4 }, () => b.key));
    assert.deepEqual(stored(), want, 'each request\'s logs once, whole, in order');
    // Every commit line whole, one per stored request (and the start's), the last one at the end of `out`.
    const commits = readFileSync(`${out}.keys`, 'utf8').split('\n');
    assert.equal(commits.pop(), '');
    assert.deepEqual(commits.map((c) => c.slice(0, c.lastIndexOf('\t'))), ['', ...batches.map((b) => b.key)]);
    assert.equal(commits.at(-1), `${batches[3]!.key}\t${statSync(out).size}`);
    // A restart on the same files cuts nothing that was committed, and still deduplicates.
    await withReceiver({ out }, async (receiver, client) => {
      for (const b of batches) await client.publishEvents(b);
      assert.equal(receiver.stats().duplicateRequests, 4);
    });
    assert.deepEqual(stored(), want);
  });

  it('killed while storing the first request on new files, stores its logs once when it comes again (R2)', async () => {
    const out = join(tempDir('walship-receiver'), 'received.ndjson');
    const batch = makeBatch(makeRecords(1, 2));
    const lines = await linesStored(batch);
    // Started once (nothing stored), then killed after writing the logs and before their commit.
    await withReceiver({ out }, async () => {});
    writeFileSync(out, lines);
    await withReceiver({ out }, async (receiver, client) => {
      await client.publishEvents(batch);
      assert.equal(receiver.stats().acceptedRequests, 1);
    });
    assert.equal(readFileSync(out, 'utf8'), lines);
  });

  it('killed after writing a request\'s logs and before committing its key, stores them once when the request comes again (R2)', async () => {
    const out = join(tempDir('walship-receiver'), 'received.ndjson');
    const first = makeBatch(makeRecords(1, 2));
    const second = makeBatch(makeRecords(3, 2));
    await withReceiver({ out }, async (_receiver, client) => {
      await client.publishEvents(first);
    });
    const committed = readFileSync(out, 'utf8');
    // What a receiver killed between the two writes of `second` leaves: its four log lines
    // in `out` (the last one torn, to be hard), and no commit line in `.keys`.
    const secondLines = await linesStored(second);
    writeFileSync(out, committed + secondLines.slice(0, -10));
    await withReceiver({ out }, async (receiver, client) => {
      await client.publishEvents(first);
      await client.publishEvents(second);
      assert.equal(receiver.stats().duplicateRequests, 1);
      assert.equal(receiver.stats().acceptedRequests, 1);
    });
    assert.equal(readFileSync(out, 'utf8'), committed + secondLines, 'each log once, the uncommitted ones cut before the retry stored them');
  });

  it('refuses bodies it cannot decode, with the status that says why, and counts them as invalid', async () => {
    await withReceiver({ maxBodyBytes: 4096 }, async (receiver) => {
      const slsPath = `${receiver.url}/logstores/ls/shards/lb`;
      const cases: Array<[string, Buffer | string, Record<string, string>, number, RegExp]> = [
        [slsPath, Buffer.from([0x0a, 0x00]), { 'content-type': 'application/x-protobuf', 'x-log-bodyrawsize': '5' }, 400, /InvalidBodyRawSize/],
        [slsPath, Buffer.from('nope'), { 'content-type': 'application/x-protobuf', 'x-log-compresstype': 'lz4', 'x-log-bodyrawsize': '100' }, 400, /LZ4/],
        [slsPath, Buffer.from([0xff, 0xff]), { 'content-type': 'application/x-protobuf' }, 400, /not an sls_logs.LogGroup/],
        [slsPath, '[]', { 'content-type': 'application/json' }, 415, /UnsupportedMediaType/],
        [`${receiver.url}/ingest`, 'a,b', { 'content-type': 'text/csv' }, 415, /UnsupportedMediaType/],
        [`${receiver.url}/ingest`, '[{"time":1}]', { 'content-type': 'application/json' }, 400, /\[0\]\.contents/],
        [`${receiver.url}/ingest`, '{"time":1,"contents":{}}\n{oops', { 'content-type': 'application/x-ndjson' }, 400, /line 2/],
        [`${receiver.url}/ingest`, 'x'.repeat(5000), { 'content-type': 'application/json' }, 413, /PostBodyTooLarge/],
        [`${receiver.url}/ingest`, gzipSync(Buffer.alloc(10_000, 0x20)), { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 413, /PostBodyTooLarge/],
      ];
      for (const [url, body, headers, status, message] of cases) {
        const res = await post(url, body, headers);
        assert.notEqual(res, 'error');
        if (res === 'error') continue;
        assert.equal(res.status, status, `${url} ${JSON.stringify(headers)}: ${res.text}`);
        assert.match(res.text, message);
      }
      assert.equal(receiver.stats().invalidRequests, cases.length);
      assert.equal(receiver.stats().logs, 0);
    });
  });

  it('accepts NDJSON with a blank line and a JSON object alone, gzipped or not', async () => {
    await withReceiver({}, async (receiver) => {
      const ndjson = '{"time":1,"contents":{"n":"a"}}\n\n{"time":2,"contents":{"n":"b"},"tags":{"t":"1"}}\n';
      const r1 = await post(`${receiver.url}/x`, gzipSync(ndjson), { 'content-type': 'application/x-ndjson; charset=utf-8', 'content-encoding': 'gzip' });
      const r2 = await post(`${receiver.url}/y`, '{"time":3,"contents":{"n":"c"}}', { 'content-type': 'application/json' });
      assert.deepEqual([r1, r2].map((r) => (r === 'error' ? r : r.status)), [200, 200]);
      assert.deepEqual(
        receiver.logs().map((l) => [l.contents.n, l.tags, l.logstore, l.encoding]),
        [
          ['a', {}, '', 'ndjson'],
          ['b', { t: '1' }, '', 'ndjson'],
          ['c', {}, '', 'json'],
        ],
      );
    });
  });

  it('answers HEAD with 200 and GET /stats with the counters, without counting them as requests', async () => {
    await withReceiver({}, async (receiver) => {
      const head = await fetch(`${receiver.url}/anything`, { method: 'HEAD' });
      await head.arrayBuffer();
      assert.equal(head.status, 200);
      const res = await fetch(`${receiver.url}/stats`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), receiver.stats());
      assert.equal(receiver.stats().requests, 0);
    });
  });

  it('close() is idempotent and frees the port', async () => {
    const receiver = await startReceiver({ logger: quiet });
    const first = receiver.close();
    assert.equal(receiver.close(), first);
    await first;
    assert.equal(await refused(receiver.port), true);
    await assert.rejects(receiver.outage(10), (e: unknown) => e instanceof WalshipError && e.code === ErrorCodes.CLOSED);
  });
});

describe('receiver fast path (keepLogs false, no out, no rejectWhen)', () => {
  const facts = (encoding: 'sls' | 'json' | 'ndjson', extra: Partial<RequestFacts> = {}): RequestFacts => ({
    encoding,
    logstore: encoding === 'sls' ? 'ls' : undefined,
    contentEncoding: undefined,
    compressType: undefined,
    rawSize: undefined,
    idempotencyKey: 'k',
    maxBodyBytes: 1 << 20,
    ...extra,
  });
  /** The count of the fast path and of the full path, or the status and code both refuse with. */
  const both = (body: Buffer, f: RequestFacts): [string, string] => {
    const outcome = (fn: () => number): string => {
      try {
        return `count ${fn()}`;
      } catch (err) {
        assert.ok(err instanceof RequestProblem, String(err));
        return `${err.status} ${err.errorCode}`;
      }
    };
    return [outcome(() => countRequest(body, f)), outcome(() => decodeRequest(body, f).length)];
  };

  it('counts what the full decoder decodes, for the three encodings, and refuses what it refuses', () => {
    const group = (n: number) => Buffer.from(encodeLogGroup(sampleGroup('g', n, { machineUUID: 'm-1' })));
    // An unknown field (number 9, varint), and an unknown length-delimited one (number 200), at
    // the top level between the logs: skipped by both.
    const withUnknown = Buffer.concat([Buffer.from([0x48, 0x96, 0x01]), group(2), Buffer.from([0xc2, 0x0c, 0x03, 1, 2, 3]), group(3)]);
    const log = (i: number, extra = '') => `{"time":${1_700_000_000 + i},"contents":{"n":"${i}","q":"a\\"}\\n{"},"tags":{"t":"1"}${extra}}`;
    const cases: Array<[string, Buffer, RequestFacts]> = [
      ['sls', group(5), facts('sls')],
      ['sls, no logs', group(0), facts('sls')],
      ['sls, empty body', Buffer.alloc(0), facts('sls')],
      ['sls, unknown fields', withUnknown, facts('sls')],
      ['sls, lz4', lz4Compress(group(7)), facts('sls', { compressType: 'lz4', rawSize: String(group(7).length) })],
      ['sls, deflate', deflateSync(group(4)), facts('sls', { compressType: 'deflate' })],
      ['sls, gzip', gzipSync(group(4)), facts('sls', { contentEncoding: 'gzip' })],
      ['sls, truncated', group(3).subarray(0, 40), facts('sls')],
      ['sls, garbage', Buffer.from([0xff, 0xff]), facts('sls')],
      ['sls, Logs with a varint wire type', Buffer.from([0x08, 0x01]), facts('sls')],
      ['sls, field 0', Buffer.from([0x02, 0x00]), facts('sls')],
      ['sls, bad raw size', group(2), facts('sls', { rawSize: '3' })],
      ['ndjson', Buffer.from(`${log(1)}\n${log(2)}\n${log(3)}\n`), facts('ndjson')],
      ['ndjson, blank lines, CRLF, spaces, no final newline', Buffer.from(`\n  ${log(1)} \r\n\r\n\t${log(2)}\n \n${log(3)}`), facts('ndjson')],
      ['ndjson, gzip', gzipSync(`${log(1)}\n${log(2)}\n`), facts('ndjson', { contentEncoding: 'gzip' })],
      ['ndjson, empty', Buffer.alloc(0), facts('ndjson')],
      ['ndjson, a non-object line', Buffer.from(`${log(1)}\n[1]\n`), facts('ndjson')],
      ['ndjson, a broken line', Buffer.from(`${log(1)}\n{oops\n`), facts('ndjson')],
      ['ndjson, a line with a non-ASCII space', Buffer.from(`\u00a0${log(1)}\n`), facts('ndjson')],
      ['json', Buffer.from(`[${log(1)},${log(2)}, ${log(3, ',"timeNs":5,"source":"s","project":"p","logstore":"l"')}]`), facts('json')],
      ['json, empty array', Buffer.from('[]'), facts('json')],
      ['json, one object', Buffer.from(log(1)), facts('json')],
      ['json, gzip', gzipSync(`[${log(1)},${log(2)}]`), facts('json', { contentEncoding: 'gzip' })],
      ['json, missing contents', Buffer.from('[{"time":1}]'), facts('json')],
      ['json, a number in contents', Buffer.from('[{"time":1,"contents":{"a":1}}]'), facts('json')],
      ['json, bad time', Buffer.from('[{"time":-1,"contents":{}}]'), facts('json')],
      ['json, not JSON', Buffer.from('[{'), facts('json')],
      ['json, too large gzip', gzipSync(Buffer.alloc(2 << 20, 0x20)), facts('json', { contentEncoding: 'gzip' })],
    ];
    for (const [name, body, f] of cases) {
      const [fast, full] = both(body, f);
      assert.equal(fast, full, name);
    }
    assert.equal(both(group(5), facts('sls'))[0], 'count 5');
    assert.equal(both(withUnknown, facts('sls'))[0], 'count 5');
    assert.equal(both(Buffer.from(`\n  ${log(1)} \r\n\r\n\t${log(2)}\n \n${log(3)}`), facts('ndjson'))[0], 'count 3');
  });

  it('counts the same logs, requests and duplicates as the full path over HTTP, for every encoding', async () => {
    const full = await startReceiver({ logger: quiet, seed: 3 });
    const fast = await startReceiver({ logger: quiet, seed: 3, keepLogs: false });
    const settings: Array<Omit<HttpSinkOptions, 'url'>> = [
      { encoding: 'sls', compression: 'lz4' },
      { encoding: 'sls', compression: 'deflate' },
      { encoding: 'sls', compression: 'none' },
      { encoding: 'json' },
      { encoding: 'json', gzip: true },
      { encoding: 'ndjson' },
      { encoding: 'ndjson', gzip: true },
    ];
    try {
      let seq = 1;
      for (const options of settings) {
        const batch = makeBatch(makeRecords(seq, 3, 2 + (seq % 3)));
        seq += 3;
        for (const receiver of [full, fast]) {
          const client = createHttpClient({ url: receiver.url, logger: quiet, ...options });
          try {
            assert.deepEqual(await client.publishEvents(batch), []);
            assert.deepEqual(await client.publishEvents(batch), [], 'a duplicate');
          } finally {
            await client.close();
          }
        }
      }
      const a = full.stats();
      const b = fast.stats();
      assert.ok(a.logs > 0);
      assert.deepEqual(b, a);
      assert.equal(fast.logs().length, 0);
      assert.deepEqual(
        fast.requests().map((r) => [r.outcome, r.encoding, r.logs, r.idempotencyKey]),
        full.requests().map((r) => [r.outcome, r.encoding, r.logs, r.idempotencyKey]),
      );
    } finally {
      await full.close();
      await fast.close();
    }
  });
});

describe('receiver edge cases (found by a code review; each fails on the code before its fix)', () => {
  it('restarted on an out file whose last line was torn by a kill, cuts the fragment: every line after is whole', async () => {
    const out = join(tempDir('walship-receiver'), 'received.ndjson');
    const whole = '{"time":1,"contents":{"seq":"1"},"tags":{},"logstore":"","idempotencyKey":"k1","encoding":"ndjson"}\n';
    writeFileSync(out, `${whole}{"time":1,"conte`);
    writeFileSync(`${out}.keys`, 'k1\n');
    const r = await startReceiver({ out, keepLogs: false, keepRequests: 0 });
    try {
      const res = await fetch(`${r.url}/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', 'x-walship-idempotency-key': 'k2' },
        body: '{"time":2,"contents":{"seq":"2"}}\n',
      });
      await res.text();
      assert.equal(res.status, 200);
    } finally {
      await r.close();
    }
    const lines = readFileSync(out, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { contents: { seq: string } }).contents.seq),
      ['1', '2'],
    );
  });

  it('answers an SLS path whose logstore is not valid percent-encoding 400 (not 500, which a sender retries forever)', async () => {
    const r = await startReceiver({ keepLogs: false });
    try {
      const body = Buffer.from(encodeLogGroup({ logs: [{ time: 1, contents: [{ key: 'a', value: 'b' }] }], logTags: [] }));
      const res = await fetch(`${r.url}/logstores/bad%E0%A4/shards/lb`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'x-log-bodyrawsize': String(body.length) },
        body,
      });
      await res.text();
      assert.equal(res.status, 400);
      assert.equal(r.stats().invalidRequests, 1);
    } finally {
      await r.close();
    }
  });
});
