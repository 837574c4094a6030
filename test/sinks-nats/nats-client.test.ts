// The NATS JetStream sink against a real nats-server: one message per record acknowledged by
// its PubAck (N1), Nats-Msg-Id = idempotency key and JetStream's deduplication (N2), the
// duplicate-window check (N3), error classification (N4), reconnecting across a server
// restart (N5), credentials kept out of logs (N6), TLS; and the sink through the registry and
// the durable flusher. Invariants N1–N6 are stated in src/sinks/nats/index.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, type NatsConnection, NatsError, nanos, nkeys } from 'nats';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import { createFlusher } from '../../src/flusher/index.ts';
import { recordToJsonLogs } from '../../src/sinks/http/index.ts';
import {
  classifyNatsError,
  createNatsClient,
  MSG_ID_HEADER,
  type NatsClient,
  type NatsSinkOptions,
  resolveNatsSinkOptions,
  sanitizeSubjectToken,
} from '../../src/sinks/nats/index.ts';
import { planSink } from '../../src/sinks/registry.ts';
import '../../src/sinks/builtin.ts';
import { deliveryBatch, deliveryRecord, makeGroup } from '../conformance/records.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { freePort, skipOrFail, skipUnless } from '../helpers/servers/binary.ts';
import { adminConnection, type NatsServer, readStream, startNatsServer } from '../helpers/servers/nats.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { assertExactlyOnce, delivered, pending, records, rejection, streamContents, waitFor } from './fixtures.ts';

const quiet = captureLogger('error').logger;
const MAX_PAYLOAD = 128 * 1024;
const TWO_HOURS_MS = 2 * 60 * 60 * 1000;

function invalidOption(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof WalshipError && err.code === ErrorCodes.INVALID_OPTIONS && pattern.test(err.message));
}

describe('NATS sink options', () => {
  it('rejects a subject template with an unknown placeholder, a wildcard or an empty token, naming the option', () => {
    invalidOption(() => resolveNatsSinkOptions({ subject: 'logs.{tenant}' }), /`subject`.*unknown placeholder \{tenant\}/);
    invalidOption(() => resolveNatsSinkOptions({ subject: 'logs.*.{project}' }), /`subject`.*not a valid publish subject/);
    invalidOption(() => resolveNatsSinkOptions({ subject: 'logs..{project}' }), /`subject`/);
    invalidOption(() => resolveNatsSinkOptions({ subject: 'logs.{project' }), /`subject`.*unbalanced/);
    invalidOption(() => resolveNatsSinkOptions({ subject: 42 as unknown as string }), /Expected `subject` to be a subject template, got 42/);
  });

  it('sanitizes placeholder values so that no value can split the subject or add a wildcard', () => {
    const o = resolveNatsSinkOptions({ subject: 'logs.{project}.{logstore}.{configName}.{logstoreKey}' });
    const meta = { project: 'my.proj', logstore: 'a b*>', configName: '', logstoreKey: 7n, enqueuedAt: 0 };
    assert.equal(o.subject.render(meta), 'logs.my_proj.a_b__._.7');
    assert.equal(sanitizeSubjectToken('tab\there\nnl\u0007'), 'tab_here_nl_');
    assert.equal(sanitizeSubjectToken('ünïcode-ok_1'), 'ünïcode-ok_1');
  });

  it('derives the stream subject from the template: each placeholder token becomes *', () => {
    assert.deepEqual(resolveNatsSinkOptions({ stream: { name: 'S' } }).stream?.subjects, ['logs.*.*']);
    assert.deepEqual(resolveNatsSinkOptions({ subject: 'a.x{project}y.b', stream: 'S' }).stream?.subjects, ['a.*.b']);
    assert.deepEqual(resolveNatsSinkOptions({ subject: 'fixed.subject', stream: 'S' }).stream?.subjects, ['fixed.subject']);
    const s = resolveNatsSinkOptions({ stream: 'S' }).stream;
    assert.deepEqual(s, { name: 'S', subjects: ['logs.*.*'], replicas: 1, duplicateWindowMs: TWO_HOURS_MS, create: false });
  });

  it('rejects conflicting or incomplete credentials and bad stream settings', () => {
    invalidOption(() => resolveNatsSinkOptions({ token: 't', user: 'u', pass: 'p' }), /at most one way to authenticate, got user\/pass and token/);
    invalidOption(() => resolveNatsSinkOptions({ user: 'u' }), /`user` and `pass` go together/);
    invalidOption(() => resolveNatsSinkOptions({ nkeySeed: 'not-a-seed' }), /`nkeySeed`/);
    invalidOption(() => resolveNatsSinkOptions({ credsFile: '/nonexistent/x.creds' }), /`credsFile`/);
    invalidOption(() => resolveNatsSinkOptions({ stream: { name: 'a.b' } }), /`stream.name`/);
    invalidOption(() => resolveNatsSinkOptions({ stream: { name: 'S', replicas: 6 } }), /`stream.replicas` to be an integer from 1 to 5, got 6/);
    invalidOption(() => resolveNatsSinkOptions({ stream: { name: 'S', subjects: [] } }), /`stream.subjects`/);
    invalidOption(() => resolveNatsSinkOptions({ encoding: 'xml' as 'json' }), /Expected `encoding` to be 'protobuf' or 'json', got "xml"/);
    invalidOption(() => resolveNatsSinkOptions({ servers: [] }), /`servers`/);
    invalidOption(() => resolveNatsSinkOptions({ tls: { ca: '/nonexistent/ca.pem' } }), /`tls.ca` to be PEM text or an existing file/);
    invalidOption(() => resolveNatsSinkOptions({ timeoutMs: 0 }), /`timeoutMs` to be an integer >= 1, got 0/);
  });

  it('names the client after its servers without the credentials in their URLs (N6)', () => {
    const o = resolveNatsSinkOptions({ servers: ['nats://alice:s3cret@127.0.0.1:4222', '127.0.0.1:4223'] });
    assert.equal(o.name, 'nats://127.0.0.1:4222,127.0.0.1:4223');
    assert.deepEqual(o.servers, ['nats://alice:s3cret@127.0.0.1:4222', '127.0.0.1:4223'], 'nats.js still gets them');
  });

  it('classifies every nats.js error code by what trying again can do (N4)', () => {
    const kindOf = (err: unknown): [string, string, boolean] => {
      const e = classifyNatsError(err, 'publish');
      return [e.kind, e.reason, e.auth];
    };
    const apiError = (code: number, errCode: number): NatsError =>
      Object.assign(new NatsError('api', String(code)), { api_error: { code, err_code: errCode, description: 'api' } });
    assert.deepEqual(kindOf(new NatsError('503', ErrorCode.NoResponders)), ['config', 'nats_no_stream', false]);
    assert.deepEqual(kindOf(new NatsError('x', ErrorCode.MaxPayloadExceeded)), ['permanent', 'nats_max_payload', false]);
    assert.deepEqual(kindOf(apiError(400, 10054)), ['permanent', 'nats_max_msg_size', false]);
    assert.deepEqual(kindOf(apiError(400, 10060)), ['config', 'nats_wrong_stream', false]);
    assert.deepEqual(kindOf(apiError(503, 10077)), ['retryable', 'nats_api_503_10077', false], 'a full stream (discard new) is backpressure');
    assert.deepEqual(kindOf(apiError(503, 10008)), ['retryable', 'nats_api_503_10008', false], 'JetStream temporarily unavailable');
    assert.deepEqual(kindOf(new NatsError('x', ErrorCode.JetStreamInvalidAck)), ['config', 'nats_invalid_ack', false]);
    assert.deepEqual(kindOf(new NatsError('x', ErrorCode.Timeout)), ['retryable', 'timeout', false]);
    for (const code of [ErrorCode.BadSubject, ErrorCode.BadHeader, ErrorCode.BadPayload, ErrorCode.InvalidPayload]) {
      assert.deepEqual(kindOf(new NatsError('x', code)), ['permanent', 'nats_bad_message', false], code);
    }
    for (const code of [ErrorCode.AuthorizationViolation, ErrorCode.AuthenticationExpired, ErrorCode.PermissionsViolation, ErrorCode.BadCreds]) {
      const [kind, , auth] = kindOf(new NatsError('x', code));
      assert.deepEqual([kind, auth], ['retryable', true], code);
    }
    for (const code of [ErrorCode.Disconnect, ErrorCode.ConnectionClosed, ErrorCode.ConnectionDraining, ErrorCode.ConnectionRefused, ErrorCode.Tls, ErrorCode.Unknown]) {
      assert.deepEqual(kindOf(new NatsError('x', code)).slice(0, 2), ['retryable', `nats_${code.toLowerCase()}`], code);
    }
    assert.deepEqual(kindOf(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), ['retryable', 'econnreset', false]);
    assert.deepEqual(kindOf(new Error('?')), ['retryable', 'nats_error', false]);
  });

  it('registers as `nats` and `flusher_nats`: one client over all servers, mode single, batches of 32', () => {
    const plan = planSink({ type: 'flusher_nats', servers: ['nats://127.0.0.1:1', 'nats://127.0.0.1:2', 'nats://127.0.0.1:3'] }, quiet);
    assert.equal(plan.clients.length, 1);
    assert.equal(plan.clients[0]!.name, 'nats://127.0.0.1:1,nats://127.0.0.1:2,nats://127.0.0.1:3');
    assert.equal(plan.defaultMode, 'single');
    assert.equal(plan.batchMaxRecords, 32);
    assert.equal(planSink({ type: 'nats' }, quiet).clients[0]!.name, 'nats://127.0.0.1:4222');
  });
});

describe('NATS sink against a real nats-server', { skip: skipUnless('nats-server'), timeout: 120_000 }, () => {
  let server: NatsServer & { stop(): Promise<void> };
  let admin: NatsConnection;
  const clients: NatsClient[] = [];

  before(async () => {
    server = await startNatsServer({ maxPayload: MAX_PAYLOAD, label: 'sink' });
    admin = await adminConnection(server.url);
  });
  after(async () => {
    for (const c of clients) await c.close();
    if (admin !== undefined) await admin.close();
    await server?.stop();
  });

  /** A stream `name` on `${prefix}.>`, made through the admin connection. */
  async function stream(name: string, prefix: string, duplicateWindowMs = TWO_HOURS_MS): Promise<void> {
    const jsm = await admin.jetstreamManager();
    await jsm.streams.add({ name, subjects: [`${prefix}.>`], duplicate_window: nanos(duplicateWindowMs) });
  }

  function client(options: NatsSinkOptions): NatsClient {
    const c = createNatsClient({ servers: server.url, timeoutMs: 2000, reconnectTimeWaitMs: 100, logger: quiet, ...options });
    clients.push(c);
    return c;
  }

  it('publishes each record as one message acknowledged by its PubAck, Nats-Msg-Id = its idempotency key (N1, N2)', async () => {
    await stream('T1', 't1');
    const c = client({ subject: 't1.{project}.{logstore}' });
    await c.connect(5000);
    assert.equal(c.isConnected(), true);
    const batch = records('t1', 5);
    assert.deepEqual(await c.publishEvents(deliveryBatch(batch)), [], 'every record acknowledged');
    assert.deepEqual(c.stats(), { published: 5, duplicates: 0 });
    const stored = await readStream(admin, 'T1');
    assert.equal(stored.length, 5, 'one message per record');
    const byKey = new Map(stored.map((m) => [m.headers[MSG_ID_HEADER], m]));
    for (const r of batch) {
      const m = byKey.get(r.idempotencyKey);
      assert.ok(m !== undefined, `a message with Nats-Msg-Id ${r.idempotencyKey}`);
      assert.equal(m.subject, 't1.proj.store');
      assert.equal(m.headers['Content-Type'], 'application/x-protobuf');
      assert.deepEqual(Buffer.from(m.data), r.payload, 'the body is the LogGroup protobuf as stored in the WAL');
    }
  });

  it("encodes a record as a JSON array of its logs with encoding 'json'", async () => {
    await stream('T2', 't2');
    const c = client({ subject: 't2.{project}', encoding: 'json' });
    const [r] = records('t2', 1);
    await c.publishEvent(r!, r!.idempotencyKey);
    const [m] = await readStream(admin, 'T2');
    assert.equal(m?.headers['Content-Type'], 'application/json');
    assert.deepEqual(JSON.parse(Buffer.from(m!.data).toString('utf8')), recordToJsonLogs(r!));
  });

  it('renders the subject from the record metadata, sanitizing what would break it', async () => {
    await stream('T3', 't3');
    const c = client({ subject: 't3.{project}.{logstore}.{configName}' });
    const r = deliveryRecord(makeGroup('t3', 1), 1, { project: 'my.proj', logstore: 'a b>' });
    assert.deepEqual(await c.publishEvents(deliveryBatch([r])), []);
    const [m] = await readStream(admin, 'T3');
    assert.equal(m?.subject, 't3.my_proj.a_b_.conformance');
  });

  it('stores a batch published twice once: the second PubAcks say duplicate (N2)', async () => {
    await stream('T4', 't4');
    const c = client({ subject: 't4.{project}' });
    const batch = deliveryBatch(records('t4', 8));
    assert.deepEqual(await c.publishEvents(batch), []);
    assert.deepEqual(await c.publishEvents(batch), [], 'the redelivery is acknowledged too');
    assert.deepEqual(c.stats(), { published: 16, duplicates: 8 });
    const { messages, keys, seqs } = await streamContents(admin, 'T4');
    assert.equal(messages, 8, 'one message per record');
    assert.equal(keys.size, 8);
    assertExactlyOnce(seqs, batch.records.flatMap((_, i) => [`t4.${i}-0`, `t4.${i}-1`]));
  });

  it("refuses for good a record over the server's max_payload, and publishes the rest of its batch (N4)", async () => {
    await stream('T5', 't5');
    const c = client({ subject: 't5.{project}' });
    const big = deliveryRecord(makeGroup('t5.big', 2, MAX_PAYLOAD / 2), 100, { walId: 't5' });
    const err = await rejection(c.publishEvents(deliveryBatch([big])));
    assert.equal(err.kind, 'permanent');
    assert.equal(err.reason, 'nats_max_payload');
    assert.equal(err.code, ErrorCodes.DELIVERY_REJECTED);
    assert.match(err.message, /over the server's max_payload of 131072/);
    const small = records('t5', 2);
    const rest = await c.publishEvents(deliveryBatch([small[0]!, big, small[1]!]));
    assert.deepEqual(rest, [big], 'only the big record is handed back');
    assert.equal(c.isConnected(), true, 'the connection survived (nothing over max_payload was sent)');
    assert.equal((await readStream(admin, 'T5')).length, 2);
  });

  it('publishes an ordered batch one record at a time and hands back everything from the first failure (D5)', async () => {
    await stream('T5O', 't5o');
    const c = client({ subject: 't5o.{project}' });
    const big = deliveryRecord(makeGroup('t5o.big', 2, MAX_PAYLOAD / 2), 100, { walId: 't5o' });
    const small = records('t5o', 2);
    const rest = await c.publishEvents({ ...deliveryBatch([small[0]!, big, small[1]!]), ordered: true });
    assert.deepEqual(rest, [big, small[1]], 'nothing after the failed record is published ahead of it');
    assert.equal((await readStream(admin, 'T5O')).length, 1);
  });

  it('reports a subject no stream listens on as a configuration error (no responders) (N4)', async () => {
    const c = client({ subject: 'nostream.{project}' });
    const err = await rejection(c.publishEvents(deliveryBatch(records('nostream', 2))));
    assert.equal(err.kind, 'config');
    assert.equal(err.reason, 'nats_no_stream');
    assert.equal(err.code, ErrorCodes.DELIVERY_MISCONFIGURED);
  });

  it('reports a subject captured by another stream than `stream.name` as a configuration error (N4)', async () => {
    await stream('W1', 'w1');
    await stream('W2', 'w2');
    const c = client({ subject: 'w1.{project}', stream: 'W2' });
    const err = await rejection(c.publishEvents(deliveryBatch(records('w1', 1))));
    assert.equal(err.kind, 'config');
    assert.equal(err.reason, 'nats_wrong_stream');
    assert.equal((await readStream(admin, 'W1')).length, 0, 'nothing was stored in the other stream');
  });

  it('logs a missing stream once, loudly, when it may not create it; publishes then fail as config', async () => {
    const { logger, lines } = captureLogger('info');
    const c = client({ subject: 'missing.{project}', stream: { name: 'MISSING' }, logger });
    await c.connect(5000);
    const errors = lines.filter((l) => l.level === 50);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]?.msg), /does not exist and `stream.create` is off/);
    assert.equal((await rejection(c.publishEvents(deliveryBatch(records('missing', 1))))).kind, 'config');
  });

  it("creates the stream on connect with its subjects, replicas and duplicate window, and warns once when the window is shorter than the retry horizon (N3)", async () => {
    const { logger, lines } = captureLogger('info');
    const c = client({ subject: 'created.{project}.{logstore}', stream: { name: 'CREATED', create: true, duplicateWindowMs: 60_000 }, logger });
    await c.connect(5000);
    const jsm = await admin.jetstreamManager();
    const info = await jsm.streams.info('CREATED');
    assert.deepEqual(info.config.subjects, ['created.*.*']);
    assert.equal(info.config.num_replicas, 1);
    assert.equal(info.config.duplicate_window, nanos(60_000));
    await c.publishEvents(deliveryBatch(records('created', 3)));
    const warnings = lines.filter((l) => l.level === 40 && /duplicate window is shorter/.test(String(l.msg)));
    assert.equal(warnings.length, 1, 'one warning');
    assert.equal(warnings[0]?.duplicateWindowMs, 60_000);
    assert.equal(warnings[0]?.retryHorizonMs, TWO_HOURS_MS);

    // A second client on the same stream with a horizon inside the window: no warning.
    const quietLines = captureLogger('info');
    const c2 = client({ subject: 'created.{project}.{logstore}', stream: { name: 'CREATED', create: true }, retryHorizonMs: 60_000, logger: quietLines.logger });
    await c2.connect(5000);
    assert.equal(quietLines.lines.filter((l) => l.level === 40).length, 0);
  });

  it('checks the duplicate window of a stream it was not told about, from the first PubAck naming it (N3)', async () => {
    await stream('LAZY', 'lazy', 120_000); // nats-server's own default window: 2 min
    const { logger, lines } = captureLogger('info');
    const c = client({ subject: 'lazy.{project}', logger });
    await c.publishEvents(deliveryBatch(records('lazy', 4)));
    await waitFor('the duplicate-window warning', () => lines.some((l) => l.level === 40 && l.stream === 'LAZY'));
    await c.publishEvents(deliveryBatch(records('lazy', 4, 10)));
    assert.equal(lines.filter((l) => l.level === 40).length, 1, 'warned once');
  });

  it('rejects a connect to a port where nothing listens as retryable, and stays disconnected', async () => {
    const c = client({ servers: `nats://127.0.0.1:${await freePort()}` });
    const err = await rejection(c.connect(2000));
    assert.equal(err.kind, 'retryable');
    assert.equal(c.isConnected(), false);
  });

  it('delivers every record through the flusher across a SIGKILL and restart of the server, each stored once (N1, N2, N5)', { timeout: 60_000 }, async (t) => {
    const flusher = await createFlusher({
      dir: tempDir('walship-nats-restart'),
      sink: { type: 'nats', servers: server.url, subject: 'rs.{project}.{logstore}', stream: { name: 'RS', create: true }, timeoutMs: 1000, reconnectTimeWaitMs: 100 },
      logger: quiet,
      modeOptions: { waitRetryMs: 50, maxWaitRetryMs: 500, timeoutMs: 2000 },
      delivery: { retryMinDelayMs: 20, retryMaxDelayMs: 500, configRetryMaxDelayMs: 500 },
    });
    const seqs: string[] = [];
    const append = async (prefix: string, groups: number): Promise<void> => {
      for (let g = 0; g < groups; g++) {
        const group = makeGroup(`${prefix}.${g}`, 3);
        for (const l of group.logs) seqs.push(l.contents[0]!.value);
        await flusher.flush('proj', 'store', 'restart', [group]);
      }
    };
    try {
      await append('rs.a', 300);
      await waitFor('part of the stream to be delivered', async () => (await delivered(flusher)) > 30);
      const restarted = server.restart();
      await append('rs.b', 300);
      await restarted;
      await waitFor('the WAL to drain', async () => (await pending(flusher)) === 0, 45_000);
      const stats = (await flusher.stats())!;
      t.diagnostic(`failures during the restart: ${JSON.stringify(stats.delivery.failures)}`);
      assert.equal(stats.delivery.deadLettered, 0);
      const { messages, seqs: stored } = await streamContents(admin, 'RS');
      assert.equal(messages, 600, 'one message per record, no duplicate');
      assertExactlyOnce(stored, seqs);
    } finally {
      await flusher.stop();
    }
  });

  it('dead-letters only the record over max_payload when the flusher delivers it with good ones (D3, N4)', async () => {
    const flusher = await createFlusher({
      dir: tempDir('walship-nats-dlq'),
      sink: { type: 'flusher_nats', servers: server.url, subject: 'dl.{project}', stream: { name: 'DL', create: true } },
      logger: quiet,
      delivery: { retryMinDelayMs: 10, retryMaxDelayMs: 100 },
    });
    try {
      await flusher.flush('proj', 'store', 'dlq', [makeGroup('dl.a', 2), makeGroup('dl.big', 2, MAX_PAYLOAD), makeGroup('dl.b', 2)]);
      await waitFor('the WAL to settle', async () => (await pending(flusher)) === 0);
      const stats = (await flusher.stats())!;
      assert.equal(stats.delivery.deadLettered, 1);
      assert.equal(stats.wal.deadLetterRecords, 1);
      assertExactlyOnce((await streamContents(admin, 'DL')).seqs, ['dl.a-0', 'dl.a-1', 'dl.b-0', 'dl.b-1']);
    } finally {
      await flusher.stop();
    }
  });

  it('keeps records pending while no stream listens (config: retried, never dead-lettered) and delivers them once it exists (D3)', async () => {
    const flusher = await createFlusher({
      dir: tempDir('walship-nats-config'),
      sink: { type: 'nats', servers: server.url, subject: 'late.{project}' },
      logger: quiet,
      delivery: { retryMinDelayMs: 10, configRetryMaxDelayMs: 100 },
    });
    try {
      await flusher.flush('proj', 'store', 'late', [makeGroup('late.a', 2), makeGroup('late.b', 2)]);
      await waitFor('a few config failures', async () => ((await flusher.stats())?.delivery.failures.nats_no_stream ?? 0) >= 3);
      let stats = (await flusher.stats())!;
      assert.equal(stats.wal.pendingRecords, 2, 'nothing left the WAL');
      assert.equal(stats.delivery.deadLettered, 0);
      await stream('LATE', 'late');
      await waitFor('the WAL to drain', async () => (await pending(flusher)) === 0);
      stats = (await flusher.stats())!;
      assert.equal(stats.delivery.deadLettered, 0);
      assertExactlyOnce((await streamContents(admin, 'LATE')).seqs, ['late.a-0', 'late.a-1', 'late.b-0', 'late.b-1']);
    } finally {
      await flusher.stop();
    }
  });
});

describe('NATS sink authentication and TLS', { skip: skipUnless('nats-server'), timeout: 60_000 }, () => {
  it('authenticates with a token; a wrong one fails the connect as a retryable auth error, and no secret reaches a log (N6)', async () => {
    const server = await startNatsServer({ extraConfig: 'authorization { token: "s3cret-token" }', label: 'auth' });
    const { logger, lines } = captureLogger('debug');
    const wrong = createNatsClient({ servers: server.url, token: 'wrong-token', logger, timeoutMs: 2000 });
    const right = createNatsClient({ servers: server.url, token: 's3cret-token', subject: 'auth.{project}', stream: { name: 'AUTH', create: true }, logger, timeoutMs: 2000 });
    try {
      const err = await rejection(wrong.connect(2000));
      assert.equal(err.kind, 'retryable');
      assert.equal(err.auth, true);
      assert.equal(err.reason, 'nats_authorization_violation');
      assert.deepEqual(await right.publishEvents(deliveryBatch(records('auth', 2))), []);
      const text = JSON.stringify(lines);
      assert.ok(!text.includes('s3cret-token') && !text.includes('wrong-token'), 'tokens never logged');
    } finally {
      await wrong.close();
      await right.close();
      await server.stop();
    }
  });

  it('authenticates with user and password', async () => {
    const server = await startNatsServer({ extraConfig: 'authorization { user: "walship", password: "pw-123" }', label: 'userpass' });
    const good = createNatsClient({ servers: server.url, user: 'walship', pass: 'pw-123', subject: 'up.{project}', stream: { name: 'UP', create: true }, logger: quiet });
    const bad = createNatsClient({ servers: server.url, user: 'walship', pass: 'nope', logger: quiet });
    try {
      assert.deepEqual(await good.publishEvents(deliveryBatch(records('up', 1))), []);
      assert.equal((await rejection(bad.connect(2000))).auth, true);
    } finally {
      await good.close();
      await bad.close();
      await server.stop();
    }
  });

  it('authenticates with an NKey seed', async () => {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const server = await startNatsServer({ extraConfig: `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`, label: 'nkey' });
    const good = createNatsClient({ servers: server.url, nkeySeed: seed, subject: 'nk.{project}', stream: { name: 'NK', create: true }, logger: quiet });
    const other = createNatsClient({ servers: server.url, nkeySeed: new TextDecoder().decode(nkeys.createUser().getSeed()), logger: quiet });
    try {
      assert.deepEqual(await good.publishEvents(deliveryBatch(records('nk', 1))), []);
      assert.equal((await rejection(other.connect(2000))).auth, true, 'an unknown NKey is refused');
    } finally {
      await good.close();
      await other.close();
      await server.stop();
    }
  });

  it('connects over TLS to a server whose certificate the configured CA (a file or PEM text) signs, and refuses one it does not trust', async (t) => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      return skipOrFail(t, 'openssl is not installed (apt-get install -y openssl)');
    }
    const dir = tempDir('walship-nats-tls');
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=nats.test', '-addext', 'subjectAltName=DNS:nats.test', '-days', '2', '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore' },
    );
    const server = await startNatsServer({ extraConfig: `tls { cert_file: ${JSON.stringify(certFile)}, key_file: ${JSON.stringify(keyFile)} }`, label: 'tls' });
    const byFile = createNatsClient({ servers: `tls://127.0.0.1:${server.port}`, tls: { ca: certFile, servername: 'nats.test' }, subject: 'tls.{project}', stream: { name: 'TLS', create: true }, logger: quiet });
    const byPem = createNatsClient({ servers: `tls://127.0.0.1:${server.port}`, tls: { ca: readFileSync(certFile, 'utf8'), servername: 'nats.test' }, subject: 'tls.{project}', logger: quiet });
    const untrusting = createNatsClient({ servers: `tls://127.0.0.1:${server.port}`, tls: { servername: 'nats.test' }, logger: quiet });
    try {
      assert.deepEqual(await byFile.publishEvents(deliveryBatch(records('tls', 1))), []);
      assert.deepEqual(await byPem.publishEvents(deliveryBatch(records('tls', 1, 2))), []);
      const err = await rejection(untrusting.connect(2000));
      assert.equal(err.kind, 'retryable');
      assert.match(err.reason, /self_signed|tls/, 'a certificate failure');
    } finally {
      await byFile.close();
      await byPem.close();
      await untrusting.close();
      await server.stop();
    }
  });
});
