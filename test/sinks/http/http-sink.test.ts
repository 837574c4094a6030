// The HTTP sink against the real receiver (and a bare node:http server for the status table):
// the three encodings, SLS compression and its LZ4 block format, gzip, idempotency keys (D2),
// TLS, status classification (D3), network failures, and the partial-publish contract (H4).
// Invariants H1–H5 are stated in src/sinks/http/index.ts.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { ErrorCodes, WalshipError } from '../../../src/errors.ts';
import { DeliveryError } from '../../../src/delivery/delivery-error.ts';
import { decodeLogGroup } from '../../../src/model/index.ts';
import { type Receiver, startReceiver } from '../../../src/receiver/index.ts';
import {
  createHttpClient,
  encodeJsonBody,
  encodeSlsBody,
  type HttpClient,
  type HttpSinkOptions,
  lz4BlockCompress,
  lz4BlockDecompress,
  recordToJsonLogs,
  resolveHttpSinkOptions,
} from '../../../src/sinks/http/index.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';
import { tempDir } from '../../helpers/tmpdir.ts';
import {
  expectedIds,
  hasOpenssl,
  makeBatch,
  makeRecord,
  makeRecords,
  referenceLz4BlockDecode,
  sampleGroup,
  selfSignedCert,
} from './fixtures.ts';
import { rejection } from '../../helpers/rejection.ts';

const quiet = captureLogger('warn').logger;

/** Runs `fn` with a receiver and a client on it; closes both, whatever happens. */
async function withClient(
  receiverOptions: Parameters<typeof startReceiver>[0],
  clientOptions: Omit<HttpSinkOptions, 'url'> & { url?: string },
  fn: (client: HttpClient, receiver: Receiver) => Promise<void>,
): Promise<void> {
  const receiver = await startReceiver({ logger: quiet, ...receiverOptions });
  const client = createHttpClient({ url: receiver.url, logger: quiet, ...clientOptions });
  try {
    await fn(client, receiver);
  } finally {
    await client.close();
    await receiver.close();
  }
}

/** Listens on a free loopback port; resolves with it. */
async function listenLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/**
 * A server that hands each request to `handle` with its number on its connection (1, 2, ...)
 * and whether that connection is the first one; `connections` counts requests by connection.
 */
function perConnectionServer(handle: (req: IncomingMessage, res: ServerResponse, n: number, firstConnection: boolean) => void): {
  server: Server;
  connections: Map<object, number>;
} {
  const connections = new Map<object, number>();
  let first: object | undefined;
  const server = createServer((req, res) => {
    first ??= req.socket;
    const n = (connections.get(req.socket) ?? 0) + 1;
    connections.set(req.socket, n);
    handle(req, res, n, req.socket === first);
  });
  return { server, connections };
}

/** A port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('HTTP sink options', () => {
  it('rejects a url that is not http(s), naming the option and what it got', () => {
    for (const url of [42, 'ftp://example.com', 'not a url', undefined]) {
      assert.throws(
        () => resolveHttpSinkOptions({ url } as unknown as HttpSinkOptions),
        (err: unknown) =>
          err instanceof WalshipError &&
          err.code === ErrorCodes.INVALID_OPTIONS &&
          err.message.startsWith('Expected `url` to be an http(s) URL, got '),
      );
    }
    assert.throws(() => resolveHttpSinkOptions({ url: 42 } as unknown as HttpSinkOptions), {
      message: 'Expected `url` to be an http(s) URL, got 42',
    });
  });

  it('fills every default from src/config/defaults.ts', () => {
    const o = resolveHttpSinkOptions({ url: 'http://127.0.0.1:4318/', logger: quiet });
    assert.equal(o.encoding, 'json');
    assert.equal(o.concurrency, 4);
    assert.equal(o.timeoutMs, 30_000);
    assert.equal(o.gzip, false);
    assert.equal(o.probe, true);
    assert.equal(o.name, 'http://127.0.0.1:4318');
    assert.equal(resolveHttpSinkOptions({ url: 'http://h/', encoding: 'sls', logger: quiet }).compression, 'lz4');
  });

  it('rejects out-of-range numbers and conflicting options instead of clamping them', () => {
    const bad: Array<[Partial<HttpSinkOptions>, RegExp]> = [
      [{ concurrency: 0 }, /`concurrency` to be an integer >= 1, got 0/],
      [{ timeoutMs: 1.5 }, /`timeoutMs` to be an integer >= 1, got 1.5/],
      [{ encoding: 'xml' as never }, /`encoding` to be 'sls', 'json' or 'ndjson', got "xml"/],
      [{ encoding: 'sls', gzip: true }, /`gzip` applies to encodings 'json' and 'ndjson' only/],
      [{ encoding: 'json', compression: 'lz4' }, /`compression` applies to encoding 'sls' only/],
      [{ tls: { rejectUnauthorized: false } }, /`tls` needs an https URL/],
      [{ headers: { 'Content-Type': 'text/plain' } }, /`headers.Content-Type` is set by the sink/],
      [{ headers: { 'x-log-bodyrawsize': '1' } }, /`headers.x-log-bodyrawsize` is set by the sink/],
      [{ headers: { authorization: 'a\r\nb' } }, /`headers.authorization` to be a string without CR, LF or NUL/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => resolveHttpSinkOptions({ url: 'http://127.0.0.1:1', logger: quiet, ...options }),
        (err: unknown) => err instanceof WalshipError && err.code === ErrorCodes.INVALID_OPTIONS && message.test(err.message),
        `${JSON.stringify(options)} should fail with ${message}`,
      );
    }
  });

  it('turns URL credentials into a Basic authorization header and keeps them out of the name', () => {
    const o = resolveHttpSinkOptions({ url: 'https://ann:s%3Acret@logs.example.com/ingest', logger: quiet });
    assert.equal(o.headers.authorization, `Basic ${Buffer.from('ann:s:cret').toString('base64')}`);
    assert.equal(o.name, 'https://logs.example.com/ingest');
    assert.ok(!o.url.href.includes('cret'));
  });
});

describe('SLS LZ4 block format', () => {
  it('compresses to a raw LZ4 block (no size prefix, no frame) that an independent decoder reads', async () => {
    const group = sampleGroup('lz4', 50);
    const payload = makeRecord(1, group).payload;
    const block = await lz4BlockCompress(payload);
    assert.ok(block.length < payload.length, 'repetitive logs compress');
    assert.deepEqual(referenceLz4BlockDecode(block, payload.length), payload);
    assert.deepEqual(lz4BlockDecompress(block, payload.length), payload);
  });

  it('decompresses a raw LZ4 block made by hand from the format description', () => {
    // token 0x35: 3 literals "abc", then a match of 5+4 = 9 bytes at offset 3; token 0x50: 5 literals.
    const block = Buffer.from([0x35, 0x61, 0x62, 0x63, 0x03, 0x00, 0x50, 0x78, 0x79, 0x7a, 0x77, 0x76]);
    assert.equal(lz4BlockDecompress(block, 17).toString(), 'abcabcabcabcxyzwv');
    assert.throws(() => lz4BlockDecompress(block, 20));
  });
});

describe('HTTP sink, SLS encoding', () => {
  for (const compression of ['lz4', 'deflate', 'none'] as const) {
    it(`delivers each LogGroup as protobuf with ${compression} compression, decoded intact by the receiver`, async () => {
      await withClient({}, { encoding: 'sls', compression }, async (client, receiver) => {
        const group = sampleGroup('a', 3, { machineUUID: 'uuid-1' });
        const records = [makeRecord(7, group, { logstore: 'access' }), makeRecord(8, sampleGroup('b', 1), { logstore: 'errors' })];
        assert.deepEqual(await client.publishEvents(makeBatch(records)), []);

        const requests = receiver.requests();
        assert.equal(requests.length, 2, 'one request per record');
        for (const [i, req] of requests.entries()) {
          const record = records[i]!;
          assert.equal(req.path, `/logstores/${record.meta.logstore}/shards/lb`);
          assert.equal(req.headers['content-type'], 'application/x-protobuf');
          assert.equal(req.headers['x-log-apiversion'], '0.6.0');
          assert.equal(req.headers['x-log-bodyrawsize'], String(record.payload.length));
          assert.equal(req.headers['x-log-compresstype'], compression === 'none' ? undefined : compression);
          assert.equal(req.headers['x-walship-idempotency-key'], record.idempotencyKey);
          const expectedBody = await encodeSlsBody(record.payload, compression);
          assert.equal(req.bodyBytes, expectedBody.length);
          assert.equal(req.outcome, 'accepted');
        }

        const logs = receiver.logs();
        assert.equal(logs.length, 4);
        assert.deepEqual(logs[0], {
          time: 1_700_000_000,
          timeNs: 123_456_789,
          contents: { msg: `hello a 0 ${'x'.repeat(40)}`, n: 'a.0' },
          tags: { __pack_id__: 'ABCD-a', host: 'web-1' },
          source: '10.0.0.7',
          topic: 'app',
          category: 'cat',
          machineUUID: 'uuid-1',
          logstore: 'access',
          idempotencyKey: records[0]!.idempotencyKey,
          encoding: 'sls',
        });
        assert.equal(logs[1]!.timeNs, undefined, 'a log without Time_ns has none');
        assert.equal(logs[3]!.logstore, 'errors');
        assert.deepEqual(
          logs.map((l) => l.contents.n),
          ['a.0', 'a.1', 'a.2', 'b.0'],
        );
      });
    });
  }

  it('sends the payload exactly as stored in the WAL, without re-encoding it', async () => {
    // A LogGroup with Topic (3) before Logs (1): valid protobuf that our encoder never writes,
    // so a re-encoding sink would send different bytes.
    const log = Buffer.from([0x08, 0x05, 0x12, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76]);
    const payload = Buffer.concat([Buffer.from([0x1a, 0x01, 0x74, 0x0a, log.length]), log]);
    assert.deepEqual(decodeLogGroup(payload), { logs: [{ time: 5, contents: [{ key: 'k', value: 'v' }] }], topic: 't', logTags: [] });
    const bodies: Buffer[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = createHttpClient({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      encoding: 'sls',
      compression: 'none',
      logger: quiet,
    });
    try {
      const record = { ...makeRecord(1, sampleGroup('x', 1)), payload, bytes: payload.length };
      await client.publishEvent(record, record.idempotencyKey);
      assert.deepEqual(bodies, [payload]);
    } finally {
      await client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('returns the unpublished remainder when the third request fails after two were acknowledged (H4)', async () => {
    const records = makeRecords(1, 5);
    let failing = true;
    await withClient(
      { rejectWhen: (log) => failing && log.contents.n === 'r3.0', rejectStatus: 503 },
      { encoding: 'sls' },
      async (client, receiver) => {
        const remainder = await client.publishEvents(makeBatch(records));
        assert.deepEqual(
          remainder.map((r) => r.seq),
          [3, 4, 5],
        );
        assert.equal(receiver.stats().acceptedRequests, 2);
        assert.equal(receiver.requests().length, 3, 'nothing is sent after the failed record');

        // The next attempt starts at the failed record and reports its failure.
        const err = await rejection(client.publishEvents(makeBatch(remainder)));
        assert.equal(err.kind, 'retryable');
        assert.equal(err.statusCode, 503);

        failing = false;
        assert.deepEqual(await client.publishEvents(makeBatch(remainder)), []);
        assert.deepEqual(
          receiver.logs().map((l) => l.contents.n),
          expectedIds(records),
        );
      },
    );
  });

  it('returns the remainder after a published prefix even when the failure is permanent, then rejects on it', async () => {
    await withClient({ rejectWhen: (log) => log.contents.n === 'r2.1' }, { encoding: 'sls' }, async (client, receiver) => {
      const remainder = await client.publishEvents(makeBatch(makeRecords(1, 3)));
      assert.deepEqual(
        remainder.map((r) => r.seq),
        [2, 3],
      );
      const err = await rejection(client.publishEvents(makeBatch(remainder)));
      assert.equal(err.kind, 'permanent');
      assert.equal(err.statusCode, 400);
      assert.match(err.message, /HTTP 400: .*rejected by rejectWhen/);
      assert.equal(receiver.stats().logs, 2);
    });
  });

  it('rejects when the first record fails, since nothing was published', async () => {
    await withClient({ failRate: 1, failStatus: 502 }, { encoding: 'sls' }, async (client, receiver) => {
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 3))));
      assert.equal(err.kind, 'retryable');
      assert.equal(err.reason, 'http_502');
      assert.equal(receiver.stats().requests, 1);
    });
  });

  it('treats 404 from SLS (no such logstore) as a configuration error', async () => {
    await withClient({ logstores: ['known'] }, { encoding: 'sls' }, async (client) => {
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1, 2, { logstore: 'missing' }))));
      assert.equal(err.kind, 'config');
      assert.equal(err.code, ErrorCodes.DELIVERY_MISCONFIGURED);
      assert.equal(err.statusCode, 404);
      assert.match(err.message, /LogStoreNotExist/);
      assert.deepEqual(await client.publishEvents(makeBatch(makeRecords(2, 1, 2, { logstore: 'known' }))), []);
    });
  });
});

describe('HTTP sink, JSON and NDJSON encodings', () => {
  for (const encoding of ['json', 'ndjson'] as const) {
    for (const gzip of [false, true]) {
      it(`delivers a batch as one ${encoding} request${gzip ? ', gzipped,' : ''} with one object per log`, async () => {
        await withClient({}, { encoding, gzip }, async (client, receiver) => {
          const records = [makeRecord(4, sampleGroup('a', 3)), makeRecord(5, sampleGroup('b', 2), { project: 'p2', logstore: 'ls2' })];
          const batch = makeBatch(records);
          assert.deepEqual(await client.publishEvents(batch), []);

          const [req, ...more] = receiver.requests();
          assert.equal(more.length, 0, 'one request per batch');
          assert.equal(req!.headers['content-type'], encoding === 'json' ? 'application/json' : 'application/x-ndjson');
          assert.equal(req!.headers['content-encoding'], gzip ? 'gzip' : undefined);
          assert.equal(req!.headers['x-walship-idempotency-key'], batch.key);
          assert.equal(req!.logs, 5);

          const logs = receiver.logs();
          assert.deepEqual(
            logs.map((l) => l.contents.n),
            ['a.0', 'a.1', 'a.2', 'b.0', 'b.1'],
          );
          assert.deepEqual(logs[0], {
            time: 1_700_000_000,
            timeNs: 123_456_789,
            contents: { msg: `hello a 0 ${'x'.repeat(40)}`, n: 'a.0' },
            tags: { __pack_id__: 'ABCD-a', host: 'web-1' },
            source: '10.0.0.7',
            topic: 'app',
            category: 'cat',
            project: 'proj',
            logstore: 'store',
            idempotencyKey: batch.key,
            encoding,
          });
          assert.equal(logs[1]!.timeNs, undefined);
          assert.equal(logs[3]!.project, 'p2');
          assert.equal(logs[3]!.logstore, 'ls2');
        });
      });
    }
  }

  it('maps a LogGroup to JSON logs with the last value of a repeated key and no prototype surprises', () => {
    const record = makeRecord(1, {
      logs: [{ time: 5, contents: [{ key: 'k', value: '1' }, { key: 'k', value: '2' }, { key: '__proto__', value: 'x' }] }],
      logTags: [],
    });
    const [log] = recordToJsonLogs(record);
    assert.equal(log!.contents.k, '2');
    assert.equal(Object.getOwnPropertyDescriptor(log!.contents, '__proto__')?.value, 'x');
    assert.equal(Object.getPrototypeOf(log!.contents), Object.prototype);
    assert.deepEqual(JSON.parse(JSON.stringify(log)), {
      time: 5,
      contents: JSON.parse('{"k":"2","__proto__":"x"}'),
      tags: {},
      project: 'proj',
      logstore: 'store',
    });
  });

  it('rejects a record whose payload is not a LogGroup as a permanent invalid_payload failure', async () => {
    await withClient({}, { encoding: 'json' }, async (client, receiver) => {
      const good = makeRecord(1, sampleGroup('a', 1));
      const bad = { ...good, seq: 2, idempotencyKey: 'w-2', payload: Buffer.from([0xff, 0xff, 0xff]) };
      const err = await rejection(client.publishEvents(makeBatch([good, bad])));
      assert.equal(err.kind, 'permanent');
      assert.equal(err.reason, 'invalid_payload');
      assert.equal(receiver.stats().requests, 0);
    });
  });

  it('makes a body only once its request has a connection slot (bodies waiting for one would all be in memory)', async () => {
    await withClient({ latencyMs: 300 }, { encoding: 'ndjson', concurrency: 1 }, async (client) => {
      const order: string[] = [];
      const good = makeRecord(1, sampleGroup('a', 1));
      const bad = { ...good, seq: 2, idempotencyKey: 'w-2', payload: Buffer.from([0xff, 0xff, 0xff]) };
      const first = client.publishEvents(makeBatch([good])).then(() => order.push('first answered'));
      // Its body cannot be made; that shows only when it is made.
      const second = rejection(client.publishEvents(makeBatch([bad]))).then((err) => order.push(`second ${err.reason}`));
      await Promise.all([first, second]);
      assert.deepEqual(order, ['first answered', 'second invalid_payload']);
    });
  });

  it('sends extra headers and URL credentials on every request, and never logs their values (H5)', async () => {
    const { logger, lines } = captureLogger('debug');
    const receiver = await startReceiver({ logger: quiet, failRate: 1 });
    const url = receiver.url.replace('http://', 'http://ann:hunter2@');
    const client = createHttpClient({ url, headers: { 'X-Api-Key': 'k-SECRET-1' }, logger });
    try {
      await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      receiver.clearFaults();
      await client.connect(1000);
      assert.deepEqual(await client.publishEvents(makeBatch(makeRecords(2, 1))), []);
      for (const req of receiver.requests()) {
        assert.equal(req.headers['x-api-key'], 'k-SECRET-1');
        assert.equal(req.headers.authorization, `Basic ${Buffer.from('ann:hunter2').toString('base64')}`);
      }
      assert.ok(lines.length > 0, 'the client logged something');
      const text = JSON.stringify(lines);
      for (const secret of ['k-SECRET-1', 'hunter2', Buffer.from('ann:hunter2').toString('base64')]) {
        assert.ok(!text.includes(secret), `a log line contains ${secret}`);
      }
      assert.ok(lines.every((l) => l.component === 'sink' && l.sink === 'http'));
    } finally {
      await client.close();
      await receiver.close();
    }
  });
});

describe('HTTP sink over TLS', { skip: hasOpenssl() ? false : 'openssl is not installed' }, () => {
  let cert: { cert: string; key: string };
  before(() => {
    cert = selfSignedCert(tempDir('walship-tls'));
  });

  it('delivers over HTTPS to a server whose self-signed certificate is given as the CA', async () => {
    await withClient({ tls: cert }, { encoding: 'ndjson', tls: { ca: cert.cert } }, async (client, receiver) => {
      assert.match(receiver.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      await client.connect(2000);
      assert.equal(client.isConnected(), true);
      assert.deepEqual(await client.publishEvents(makeBatch(makeRecords(1, 2))), []);
      assert.equal(receiver.stats().logs, 4);
    });
  });

  it('fails with a retryable error when the server certificate is not trusted', async () => {
    await withClient({ tls: cert }, { encoding: 'json' }, async (client, receiver) => {
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      assert.equal(err.kind, 'retryable');
      assert.match(err.reason, /self_signed|cert/i);
      assert.equal(client.isConnected(), false);
      assert.equal(receiver.stats().requests, 0);
    });
  });
});

describe('HTTP sink status classification (D3)', () => {
  let server: Server;
  let base: string;
  before(async () => {
    // Answers the status named in the path: POST /status/<code>.
    server = createServer((req, res) => {
      const status = Number(req.url!.split('/')[2]);
      req.resume();
      req.on('end', () => {
        const headers: Record<string, string> = {};
        if (status === 429) headers['retry-after'] = '7';
        if (status === 403) headers['retry-after'] = '3';
        if (status === 503) headers['retry-after'] = new Date(Date.now() + 60_000).toUTCString();
        res.writeHead(status, headers);
        res.end(status === 204 || status === 304 ? undefined : `status ${status}: ${'e'.repeat(500)}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const table: Array<[number, 'ok' | 'retryable' | 'permanent' | 'config', { sls?: boolean; auth?: boolean }?]> = [
    [200, 'ok'],
    [204, 'ok'],
    [400, 'permanent'],
    [404, 'permanent'],
    [404, 'config', { sls: true }],
    [413, 'permanent'],
    [422, 'permanent'],
    [401, 'retryable', { auth: true }],
    [403, 'retryable', { auth: true }],
    [408, 'retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [504, 'retryable'],
  ];
  for (const [status, expected, flags = {}] of table) {
    it(`classifies HTTP ${status}${flags.sls ? ' on SLS' : ''} as ${expected}`, async () => {
      const client = createHttpClient({
        url: `${base}/status/${status}`,
        encoding: flags.sls ? 'sls' : 'json',
        logger: quiet,
      });
      try {
        const batch = makeBatch(makeRecords(1, 2));
        if (expected === 'ok') {
          assert.deepEqual(await client.publishEvents(batch), []);
          return;
        }
        // SLS posts to <url>/logstores/...; the server reads the status from the path anyway.
        const err = await rejection(client.publishEvents(batch));
        assert.equal(err.kind, expected);
        assert.equal(err.statusCode, status);
        assert.equal(err.reason, `http_${status}`);
        assert.equal(err.auth, flags.auth ?? false);
        assert.equal(client.isConnected(), true, 'the host answered');
        if (status === 429) assert.equal(err.retryAfterMs, 7000);
        if (status === 403) assert.equal(err.retryAfterMs, 3000, 'a 403 with Retry-After is honoured too');
        if (status === 401) assert.equal(err.retryAfterMs, undefined);
        if (status === 503) assert.ok(err.retryAfterMs! > 50_000 && err.retryAfterMs! <= 60_000);
        if (expected === 'permanent') {
          assert.match(err.message, new RegExp(`HTTP ${status}: "status ${status}: e+"`));
          assert.ok(err.message.length < 400, 'only the start of the body is quoted');
        }
      } finally {
        await client.close();
      }
    });
  }
});

describe('HTTP sink network failures', () => {
  it('fails as retryable when the port refuses connections, and reports not connected', async () => {
    const client = createHttpClient({ url: `http://127.0.0.1:${await freePort()}`, logger: quiet });
    try {
      await assert.rejects(client.connect(1000), (err: unknown) => err instanceof DeliveryError && err.reason === 'econnrefused');
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      assert.equal(err.kind, 'retryable');
      assert.equal(err.reason, 'econnrefused');
      assert.equal(client.isConnected(), false);
    } finally {
      await client.close();
    }
  });

  it('fails as retryable when the connection is reset without an answer', async () => {
    await withClient({ resetRate: 1 }, { encoding: 'sls' }, async (client, receiver) => {
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      assert.equal(err.kind, 'retryable');
      assert.equal(err.reason, 'econnreset');
      assert.equal(client.isConnected(), false);
      assert.equal(receiver.stats().faults.reset, 1, 'a reset on a new connection is not sent again');
      assert.equal(client.staleConnectionRetries, 0);
      assert.equal(receiver.stats().logs, 0);
    });
  });

  it('sends a request once more on a new connection when a kept-alive one is reset, and only once', async () => {
    await withClient({ resetRate: 1 }, { encoding: 'sls' }, async (client, receiver) => {
      await client.connect(1000); // the HEAD leaves a kept-alive connection
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      assert.equal(err.kind, 'retryable');
      assert.equal(err.reason, 'econnreset');
      assert.equal(receiver.stats().faults.reset, 2, 'the kept-alive attempt and one on a new connection');
      assert.equal(client.staleConnectionRetries, 1);
    });
  });

  for (const [size, logsPerRecord] of [['small', 2], ['4 MB', 200]] as const) {
    it(`delivers through a kept-alive connection the server closed under it (the stale socket race), without a failure: ${size} body`, async () => {
      // The server drops its first connection when a second request arrives on it, as a server
      // whose idle timeout fires while the request is on its way would.
      const { server, connections } = perConnectionServer((req, res, n, firstConnection) => {
        if (firstConnection && n === 2) {
          req.socket.destroy();
          return;
        }
        req.resume();
        req.on('end', () => res.end('ok'));
      });
      const port = await listenLoopback(server);
      const client = createHttpClient({ url: `http://127.0.0.1:${port}/ingest`, encoding: 'ndjson', concurrency: 1, logger: quiet });
      try {
        assert.deepEqual(await client.publishEvents(makeBatch(makeRecords(1, 1))), []);
        assert.deepEqual(await client.publishEvents(makeBatch(makeRecords(2, logsPerRecord === 2 ? 1 : 80, logsPerRecord))), []);
        assert.equal(client.staleConnectionRetries, 1);
        assert.equal(client.isConnected(), true);
        assert.equal(connections.size, 2, 'the retry went over a new connection');
      } finally {
        await client.close();
        await closeServer(server);
      }
    });
  }

  it("fails as a retryable 'timeout' when the receiver answers later than timeoutMs", async () => {
    await withClient({ latencyMs: 1500 }, { timeoutMs: 200 }, async (client) => {
      const started = Date.now();
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      assert.equal(err.kind, 'retryable');
      assert.equal(err.reason, 'timeout');
      assert.ok(Date.now() - started < 1200, 'the client did not wait for the answer');
    });
  });

  it('connect() probes the host, and isConnected() follows the last exchange', async () => {
    const receiver = await startReceiver({ logger: quiet });
    const client = createHttpClient({ url: receiver.url, logger: quiet });
    try {
      assert.equal(client.isConnected(), false);
      await client.connect(1000);
      assert.equal(client.isConnected(), true);
      assert.equal(receiver.stats().requests, 0, 'the probe is a HEAD, not a delivery');
      const outage = receiver.outage(300);
      await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
      assert.equal(client.isConnected(), false);
      await outage;
      await client.connect(1000);
      assert.equal(client.isConnected(), true);
    } finally {
      await client.close();
      await receiver.close();
    }
  });

  it('with probe: false, connect() only marks the client connected', async () => {
    const client = createHttpClient({ url: `http://127.0.0.1:${await freePort()}`, probe: false, logger: quiet });
    await client.connect(1000);
    assert.equal(client.isConnected(), true);
    await client.close();
  });

  it("rejects with a retryable 'aborted' error when the caller's signal fires", async () => {
    await withClient({ latencyMs: 2000 }, { encoding: 'sls' }, async (client) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('stopping')), 50);
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 2)), controller.signal));
      assert.equal(err.reason, 'aborted');
      assert.equal(err.kind, 'retryable');
    });
  });

  it('does not send again when the server began to answer before it reset the connection', async () => {
    const { server, connections } = perConnectionServer((req, res, n, firstConnection) => {
      req.resume();
      req.on('end', () => {
        if (firstConnection && n === 2) {
          req.socket.write('HTTP/1.1 200 OK\r\nContent-Le');
          setTimeout(() => req.socket.destroy(), 20);
          return;
        }
        res.end('ok');
      });
    });
    const port = await listenLoopback(server);
    const client = createHttpClient({ url: `http://127.0.0.1:${port}/ingest`, encoding: 'ndjson', concurrency: 1, logger: quiet });
    try {
      await client.publishEvents(makeBatch(makeRecords(1, 1)));
      const err = await rejection(client.publishEvents(makeBatch(makeRecords(2, 1))));
      assert.equal(err.kind, 'retryable');
      assert.equal(client.staleConnectionRetries, 0);
      assert.equal(connections.size, 1, 'not sent again: the delivery manager retries it, with backoff, as a failure');
    } finally {
      await client.close();
      await closeServer(server);
    }
  });

  it("retires an idle connection 1 s before the server's Keep-Alive timeout hint", async () => {
    const sockets = new Set<object>();
    const server = createServer((req, res) => {
      sockets.add(req.socket);
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    server.keepAliveTimeout = 2_000; // answers carry `Keep-Alive: timeout=2`
    const port = await listenLoopback(server);
    const client = createHttpClient({ url: `http://127.0.0.1:${port}/ingest`, encoding: 'ndjson', logger: quiet });
    try {
      await client.publishEvents(makeBatch(makeRecords(1, 1)));
      await client.publishEvents(makeBatch(makeRecords(2, 1)));
      assert.equal(sockets.size, 1, 'a connection in use is kept');
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      await client.publishEvents(makeBatch(makeRecords(3, 1)));
      assert.equal(sockets.size, 2, 'idle past the hint less 1 s: a new connection, not one the server is about to close');
      assert.equal(client.staleConnectionRetries, 0);
    } finally {
      await client.close();
      await closeServer(server);
    }
  });

  it("a close() during the connect probe rejects it as 'closed'", async () => {
    const server = createServer(() => {}); // never answers
    const port = await listenLoopback(server);
    const client = createHttpClient({ url: `http://127.0.0.1:${port}/`, logger: quiet });
    try {
      const probing = rejection(client.connect(5_000));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await client.close();
      const err = await probing;
      assert.equal(err.reason, 'closed', err.message);
    } finally {
      await client.close();
      await closeServer(server);
    }
  });

  it('close() lets a request on the wire finish and refuses one still waiting for a connection', async () => {
    await withClient({ latencyMs: 300 }, { encoding: 'ndjson', concurrency: 1 }, async (client, receiver) => {
      const onWire = client.publishEvents(makeBatch(makeRecords(1, 1)));
      const waiting = rejection(client.publishEvents(makeBatch(makeRecords(2, 1))));
      while (receiver.stats().requests === 0) await new Promise((r) => setTimeout(r, 5));
      await client.close();
      assert.deepEqual(await onWire, [], 'the request on the wire was answered before close() resolved');
      assert.equal((await waiting).reason, 'closed');
      assert.equal(receiver.stats().requests, 1, 'only the first batch was sent');
    });
  });

  it("sends the stale-connection retry on a connection of its own, not on another of the agent's idle ones", async () => {
    // Four kept-alive connections, then the server drops every one of them when a request
    // arrives on it (a restart whose FINs the client has not seen yet).
    let dropOld = false;
    const old = new Set<object>();
    const server = createServer((req, res) => {
      if (dropOld && old.has(req.socket)) {
        req.socket.destroy();
        return;
      }
      if (!dropOld) old.add(req.socket);
      req.resume();
      req.on('end', () => setTimeout(() => res.end('ok'), 50));
    });
    const port = await listenLoopback(server);
    const client = createHttpClient({ url: `http://127.0.0.1:${port}/ingest`, encoding: 'ndjson', concurrency: 4, logger: quiet });
    try {
      await Promise.all([1, 2, 3, 4].map((seq) => client.publishEvents(makeBatch(makeRecords(seq, 1)))));
      assert.equal(old.size, 4);
      dropOld = true;
      assert.deepEqual(await client.publishEvents(makeBatch(makeRecords(5, 1))), []);
      assert.equal(client.staleConnectionRetries, 1);
      assert.equal(client.isConnected(), true);
    } finally {
      await client.close();
      await closeServer(server);
    }
  });

  it("close() is idempotent and later calls reject with a retryable 'closed' error", async () => {
    const client = createHttpClient({ url: 'http://127.0.0.1:9', logger: quiet });
    const first = client.close();
    assert.equal(client.close(), first);
    await first;
    assert.equal(client.isConnected(), false);
    const err = await rejection(client.publishEvents(makeBatch(makeRecords(1, 1))));
    assert.equal(err.reason, 'closed');
    await assert.rejects(client.connect(100), (e: unknown) => e instanceof DeliveryError && e.reason === 'closed');
  });
});

/**
 * A raw TCP server that answers each request as soon as its headers arrived, before reading
 * the body, then reads the rest according to `readRest`: 'never' (it stops reading and keeps
 * the connection open) or after `ms`. Collects each whole request body it read.
 */
async function earlyAnswerServer(status: string, readRest: 'never' | number): Promise<{ port: number; bodies: Buffer[]; connections: () => number; close: () => Promise<void> }> {
  const bodies: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    let bodyLength = -1;
    let headerEnd = -1;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (headerEnd < 0) {
        headerEnd = buffered.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        bodyLength = Number(/content-length: *(\d+)/i.exec(buffered.subarray(0, headerEnd).toString('latin1'))?.[1] ?? 0);
        socket.write(`HTTP/1.1 ${status}\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok`);
        socket.pause();
        if (readRest !== 'never') setTimeout(() => socket.resume(), readRest);
      }
      if (buffered.length >= headerEnd + 4 + bodyLength) {
        bodies.push(buffered.subarray(headerEnd + 4, headerEnd + 4 + bodyLength));
        buffered = buffered.subarray(headerEnd + 4 + bodyLength);
        headerEnd = -1;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    bodies,
    connections: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** `promise`'s outcome, or 'pending' if it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('HTTP sink, servers that answer before reading the whole body', () => {
  for (const status of ['200 OK', '413 Payload Too Large']) {
    it(`keeps the connection's slot until the body is out or the request's deadline drops it (answer ${status}, then no more reading)`, async () => {
      // A body far larger than the socket buffers: it cannot all go out while the server does
      // not read. Before, the slot was freed on the answer while the socket stayed busy, and
      // the next request waited inside Node's agent, where neither its deadline nor an abort
      // reached it: it never settled, and neither did close().
      const server = await earlyAnswerServer(status, 'never');
      const client = createHttpClient({ url: `http://127.0.0.1:${server.port}/ingest`, encoding: 'ndjson', concurrency: 1, timeoutMs: 500, logger: quiet });
      try {
        const first = await within(client.publishEvents(makeBatch(makeRecords(1, 160, 200))).then(() => 'acked', (err: DeliveryError) => err.reason), 5_000);
        assert.equal(first, status.startsWith('200') ? 'acked' : 'http_413', 'the answer stands');
        const controller = new AbortController();
        const second = client.publishEvents(makeBatch(makeRecords(1000, 1)), controller.signal).then(() => 'acked', (err: DeliveryError) => err.reason);
        setTimeout(() => controller.abort(new Error('stop')), 3_000);
        assert.equal(await within(second, 2_500), status.startsWith('200') ? 'acked' : 'http_413', 'the next request went out on a new connection');
        assert.equal(server.connections(), 2, 'the busy connection was dropped, not reused');
        assert.equal(await within(client.close().then(() => 'closed'), 2_000), 'closed');
      } finally {
        await within(client.close(), 2_000); // (the old client's close() never settled here)
        await server.close();
      }
    });
  }

  it('gives a pooled body back only once all of it went out (a 2xx alone is not enough)', async () => {
    // The server answers 200 on the headers and reads the body 300 ms later; meanwhile the
    // second batch is transcoded. Before, the first body's buffer went back to the pool on
    // the 2xx, and the second body was written into it while the first was still being sent.
    const server = await earlyAnswerServer('200 OK', 300);
    const client = createHttpClient({ url: `http://127.0.0.1:${server.port}/ingest`, encoding: 'ndjson', concurrency: 2, logger: quiet });
    try {
      const first = makeBatch(makeRecords(1, 130, 200));
      const second = makeBatch(makeRecords(1000, 130, 200));
      const expected = Buffer.from(encodeJsonBody(first.records, 'ndjson'));
      assert.ok(expected.length > 4 * 1024 * 1024, `a body larger than the socket buffers (${expected.length} bytes)`);
      assert.deepEqual(await client.publishEvents(first), []);
      assert.deepEqual(await client.publishEvents(second), []);
      while (server.bodies.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(server.bodies[0]!.equals(expected), 'the first body arrived as it was made');
      assert.ok(server.bodies[1]!.equals(Buffer.from(encodeJsonBody(second.records, 'ndjson'))), 'and so did the second');
    } finally {
      await client.close();
      await server.close();
    }
  });
});
