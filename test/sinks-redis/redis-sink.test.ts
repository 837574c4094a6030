// The Redis Streams sink against real redis-server processes: entries per log and per group,
// the key template and its cluster hash slots, MAXLEN, deduplication by the append script
// (R2), error classification (R4), partial publishes (R5), and a SIGKILL of an
// appendfsync-always server while a flusher drains its WAL into it. R1–R6: src/sinks/redis/index.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { DeliveryRecord } from '../../src/delivery/protocol-client.ts';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import { createFlusher } from '../../src/flusher/index.ts';
import { decodeLogGroup, type LogGroup } from '../../src/model/index.ts';
import '../../src/sinks/builtin.ts';
import {
  createRedisClient,
  hashTagOf,
  keySlot,
  markerKey,
  RedisClient,
  type RedisSinkOptions,
  redisError,
  resolveRedisSinkOptions,
} from '../../src/sinks/redis/index.ts';
import { planSink } from '../../src/sinks/registry.ts';
import { CONFORMANCE_STREAM, readStream, redisDestination } from '../conformance/destinations/redis.ts';
import { deliveryBatch, deliveryRecord, makeGroup } from '../conformance/records.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { skipUnless } from '../helpers/servers/binary.ts';
import { type RedisServer, startRedisServer } from '../helpers/servers/redis.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { rejection } from '../helpers/rejection.ts';

const quiet = captureLogger('error').logger;
const skip = skipUnless('redis-server');

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Fields of a stream entry as [field, value] pairs, in order. */
function pairs(fields: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < fields.length; i += 2) out.push([fields[i]!, fields[i + 1]!]);
  return out;
}

describe('Redis sink options', () => {
  it('fills every default: 127.0.0.1:6379 db 0, logs:{project}:{logstore}, an entry per log, a 2 h dedup window', () => {
    const o = resolveRedisSinkOptions({ logger: quiet });
    assert.equal(o.host, '127.0.0.1');
    assert.equal(o.port, 6379);
    assert.equal(o.db, 0);
    assert.equal(o.keyTemplate.source, 'logs:{project}:{logstore}');
    assert.equal(o.entryPer, 'log');
    assert.equal(o.encoding, 'protobuf');
    assert.equal(o.maxLen, 0);
    assert.equal(o.dedupTtlMs, 2 * 60 * 60 * 1000);
    assert.equal(o.tls, undefined);
    assert.equal(o.name, 'redis://127.0.0.1:6379/0');
  });

  it('reads host, port, db and credentials from a url, keeps the password out of the name, and rediss:// turns TLS on', () => {
    const o = resolveRedisSinkOptions({ url: 'rediss://alice:s%40cret@cache.example:6380/3', logger: quiet });
    assert.deepEqual([o.host, o.port, o.db, o.username, o.password], ['cache.example', 6380, 3, 'alice', 's@cret']);
    assert.deepEqual(o.tls, {});
    assert.equal(o.name, 'rediss://cache.example:6380/3');
    assert.ok(!o.name.includes('s@cret'));
  });

  it('rejects wrong and conflicting options with a message naming the option', () => {
    const cases: Array<[RedisSinkOptions, RegExp]> = [
      [{ url: 'http://x' }, /`url` to be a redis:\/\/ or rediss:\/\/ URL/],
      [{ url: 'redis://x', host: 'y' }, /`url` and `host`\/`port`/],
      [{ port: 70000 }, /`port` to be an integer from 1 to 65535, got 70000/],
      [{ entryPer: 'batch' as 'log' }, /`entryPer` to be 'log' or 'group', got "batch"/],
      [{ encoding: 'json' }, /`encoding` applies to `entryPer: 'group'` only/],
      [{ entryPer: 'group', encoding: 'xml' as 'json' }, /`encoding` to be 'protobuf' or 'json'/],
      [{ maxLen: -1 }, /`maxLen` to be an integer >= 0/],
      [{ dedupTtl: 1.5 }, /`dedupTtl` to be an integer >= 0/],
      [{ keyTemplate: '' }, /`keyTemplate` to be a non-empty string/],
      [{ username: 'u' }, /`username` needs a `password`/],
      [{ url: 'redis://h', tls: { cert: 'x' } }, /`tls.cert` and `tls.key` go together/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => resolveRedisSinkOptions({ ...options, logger: quiet }),
        (err: unknown) => err instanceof WalshipError && err.code === ErrorCodes.INVALID_OPTIONS && message.test(err.message),
        `${JSON.stringify(options)} should fail with ${message}`,
      );
    }
  });

  it('does not quote a url that may hold a password when refusing it', () => {
    assert.throws(
      () => resolveRedisSinkOptions({ url: 'redis//user:hunter2@host', logger: quiet }),
      (err: unknown) => err instanceof WalshipError && !err.message.includes('hunter2'),
    );
  });

  it('is registered as redis and as flusher_redis', async () => {
    const plan = planSink({ type: 'flusher_redis', url: 'redis://127.0.0.1:1', keyTemplate: 'k:{logstore}' }, quiet);
    assert.equal(plan.clients.length, 1);
    assert.ok(plan.clients[0] instanceof RedisClient);
    assert.equal(plan.defaultMode, 'single');
    assert.equal((plan.clients[0] as RedisClient).options.keyTemplate.source, 'k:{logstore}');
    await plan.clients[0]!.close();
  });
});

describe('Redis marker keys and hash slots (R3)', () => {
  it('gives the marker the stream key hash tag, or the whole key as its tag, or a tag of the same slot', () => {
    assert.equal(hashTagOf('logs:{tenant}:app'), 'tenant');
    assert.equal(hashTagOf('logs:{}:app'), undefined);
    assert.equal(hashTagOf('logs:proj:store'), undefined);
    assert.equal(markerKey('logs:{tenant}:app', 'w-1'), 'walship:dedup:{tenant}:w-1');
    assert.equal(markerKey('logs:proj:store', 'w-1'), 'walship:dedup:{logs:proj:store}:w-1');
    for (const key of ['logs:{tenant}:app', 'logs:proj:store', 'a{b', 'logs:{}:x', 'x}y', '}{', 'odd}key{']) {
      assert.equal(keySlot(markerKey(key, 'w-1')), keySlot(key), `marker of ${key}`);
    }
  });
});

describe('Redis sink against redis-server', { skip }, () => {
  let server: RedisServer;
  let redis: Redis;
  const clients: RedisClient[] = [];
  const client = (options: RedisSinkOptions = {}): RedisClient => {
    const c = createRedisClient({ url: server.url, logger: quiet, timeoutMs: 2000, ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    // Small stream nodes so that `MAXLEN ~` trims within a few entries.
    server = await startRedisServer({ args: ['--stream-node-max-entries', '5'] });
    redis = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
    await redis.connect();
  });
  after(async () => {
    for (const c of clients) await c.close();
    redis?.disconnect();
    await server?.stop();
  });

  it('appends one entry per log: the contents, then __time__, topic, source, tags and the record key (R1)', async () => {
    const c = client();
    const group: LogGroup = {
      topic: 't',
      source: '10.0.0.1',
      category: 'cat',
      logTags: [{ key: '__pack_id__', value: 'AB-1' }],
      logs: [
        { time: 1_700_000_000, timeNs: 5, contents: [{ key: 'msg', value: 'héllo' }, { key: 'msg', value: 'again' }] },
        { time: 1_700_000_001, contents: [{ key: 'level', value: 'info' }] },
      ],
    };
    const record = deliveryRecord(group, 7, { walId: 'w1', project: 'p1', logstore: 'per-log' });
    await c.connect(2000);
    assert.equal(c.isConnected(), true);
    assert.deepEqual(await c.publishEvents(deliveryBatch([record])), []);
    const entries = await redis.xrange('logs:p1:per-log', '-', '+');
    assert.equal(entries.length, 2);
    const tail: Array<[string, string]> = [
      ['__topic__', 't'],
      ['__source__', '10.0.0.1'],
      ['__category__', 'cat'],
      ['__tag__:__pack_id__', 'AB-1'],
      ['__walship_key__', 'w1-7'],
    ];
    assert.deepEqual(pairs(entries[0]![1]), [
      ['msg', 'héllo'],
      ['msg', 'again'],
      ['__time__', '1700000000'],
      ['__time_ns_part__', '5'],
      ...tail,
    ]);
    assert.deepEqual(pairs(entries[1]![1]), [['level', 'info'], ['__time__', '1700000001'], ...tail]);
  });

  it("appends one entry per LogGroup with entryPer 'group': the protobuf exactly as in the WAL, or the JSON array", async () => {
    const group = makeGroup('g', 3);
    const proto = client({ entryPer: 'group', keyTemplate: 'groups:{project}:{logstore}:{configName}' });
    const record = deliveryRecord(group, 1, { walId: 'wg' });
    await proto.publishEvents(deliveryBatch([record]));
    const [entry] = await redis.xrangeBuffer('groups:proj:store:conformance', '-', '+');
    const fields = entry![1].map((b) => b);
    assert.equal(fields[0]!.toString(), 'encoding');
    assert.equal(fields[1]!.toString(), 'protobuf');
    assert.equal(fields[2]!.toString(), 'data');
    assert.ok(fields[3]!.equals(record.payload), 'the data field holds the WAL bytes');
    assert.deepEqual(decodeLogGroup(fields[3]!), group);
    assert.equal(fields[5]!.toString(), 'wg-1');

    const json = client({ entryPer: 'group', encoding: 'json', keyTemplate: 'groups-json:{logstore}' });
    await json.publishEvents(deliveryBatch([deliveryRecord(group, 2, { walId: 'wg' })]));
    const [jsonEntry] = await redis.xrange('groups-json:store', '-', '+');
    const map = Object.fromEntries(pairs(jsonEntry![1]));
    assert.equal(map.encoding, 'json');
    const logs = JSON.parse(map.data!) as Array<{ contents: { seq: string }; tags: Record<string, string>; project: string }>;
    assert.deepEqual(
      logs.map((l) => l.contents.seq),
      ['g-0', 'g-1', 'g-2'],
    );
    assert.equal(logs[0]!.tags.__hostname__, 'conformance');
    assert.equal(logs[0]!.project, 'proj');
  });

  it('renders the key template from the record metadata, with literal braces as a hash tag', async () => {
    const c = client({ keyTemplate: 'app:{{project}}:{logstore}:{logstoreKey}' });
    const record = { ...deliveryRecord(makeGroup('k', 1), 1, { project: 'acme', logstore: 'web' }) };
    const withKey: DeliveryRecord = { ...record, meta: { ...record.meta, logstoreKey: 42n } };
    await c.publishEvents(deliveryBatch([withKey]));
    assert.equal(await redis.xlen('app:{acme}:web:42'), 1);
    assert.equal(await redis.exists('walship:dedup:{acme}:conformance-1'), 1);
  });

  it('caps the stream with MAXLEN ~ maxLen', async () => {
    const capped = client({ maxLen: 10, keyTemplate: 'capped:{logstore}' });
    for (let i = 0; i < 12; i++) await capped.publishEvents(deliveryBatch([deliveryRecord(makeGroup(`m${i}`, 5), i)]));
    const len = await redis.xlen('capped:store');
    assert.ok(len >= 10 && len <= 15, `60 entries appended, ${len} kept`);
    const uncapped = client({ keyTemplate: 'uncapped:{logstore}' });
    for (let i = 0; i < 12; i++) await uncapped.publishEvents(deliveryBatch([deliveryRecord(makeGroup(`m${i}`, 5), i)]));
    assert.equal(await redis.xlen('uncapped:store'), 60);
  });

  it('stores a redelivered batch once: the marker is checked and set in the same script (R2)', async () => {
    const c = client({ keyTemplate: 'dedup:{logstore}' });
    const batch = deliveryBatch([1, 2, 3].map((i) => deliveryRecord(makeGroup(`d${i}`, 4), 100 + i, { walId: 'wd' })));
    assert.deepEqual(await c.publishEvents(batch), []);
    assert.deepEqual(await c.publishEvents(batch), []);
    const seqs = (await readStream(server.port, 'dedup:store')).map((e) => e.seq);
    assert.equal(seqs.length, 12);
    assert.equal(new Set(seqs).size, 12);
    const ttl = await redis.pttl('walship:dedup:{dedup:store}:wd-101');
    assert.ok(ttl > 2 * 60 * 60 * 1000 - 60_000 && ttl <= 2 * 60 * 60 * 1000, `marker TTL ${ttl} ms`);
  });

  it('stores a redelivery again once the marker expired, or with dedupTtl 0 (the window)', async () => {
    const short = client({ keyTemplate: 'window:{logstore}', dedupTtl: 50 });
    const record = deliveryRecord(makeGroup('w', 2), 1, { walId: 'ww' });
    await short.publishEvents(deliveryBatch([record]));
    await until('the marker to expire', async () => (await redis.exists('walship:dedup:{window:store}:ww-1')) === 0);
    await short.publishEvents(deliveryBatch([record]));
    assert.equal(await redis.xlen('window:store'), 4);

    const off = client({ keyTemplate: 'nodedup:{logstore}', dedupTtl: 0 });
    await off.publishEvents(deliveryBatch([record]));
    await off.publishEvents(deliveryBatch([record]));
    assert.equal(await redis.xlen('nodedup:store'), 4);
    assert.deepEqual(await redis.keys('walship:dedup:{nodedup*'), []);
  });

  it('refuses a key that holds another type for good (WRONGTYPE) and writes nothing for the record (R4)', async () => {
    await redis.set('wrong:store', 'a string');
    const c = client({ keyTemplate: 'wrong:{logstore}' });
    const err = await rejection(c.publishEvents(deliveryBatch([deliveryRecord(makeGroup('x', 2), 1, { walId: 'wt' })])));
    assert.equal(err.kind, 'permanent');
    assert.equal(err.reason, 'redis_wrongtype');
    assert.equal(err.code, ErrorCodes.DELIVERY_REJECTED);
    assert.equal(await redis.exists('walship:dedup:{wrong:store}:wt-1'), 0, 'no marker for a refused record');
    assert.equal(await redis.get('wrong:store'), 'a string');
  });

  it('refuses an undecodable record and a log of too many fields as permanent, without a connection', async () => {
    const c = createRedisClient({ url: 'redis://127.0.0.1:1', logger: quiet });
    clients.push(c);
    const record = deliveryRecord(makeGroup('bad', 1), 1);
    const garbage: DeliveryRecord = { ...record, payload: Buffer.from([0x0a, 0xff, 0xff, 0xff]) };
    const bad = await rejection(c.publishEvents(deliveryBatch([garbage])));
    assert.deepEqual([bad.kind, bad.reason], ['permanent', 'invalid_payload']);
    const wide: LogGroup = {
      logTags: [],
      logs: [{ time: 1, contents: Array.from({ length: 4000 }, (_, i) => ({ key: `k${i}`, value: 'v' })) }],
    };
    const tooWide = await rejection(c.publishEvents(deliveryBatch([deliveryRecord(wide, 2)])));
    assert.deepEqual([tooWide.kind, tooWide.reason], ['permanent', 'redis_too_many_fields']);
  });

  it('appends a log of 3000 fields (below the Lua unpack limit)', async () => {
    const c = client({ keyTemplate: 'wide:{logstore}' });
    const wide: LogGroup = {
      logTags: [],
      logs: [{ time: 1, contents: Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, value: 'v' })) }],
    };
    await c.publishEvents(deliveryBatch([deliveryRecord(wide, 1)]));
    const [entry] = await redis.xrange('wide:store', '-', '+');
    assert.equal(entry![1].length, 2 * 3002);
  });

  it('resolves with the unpublished suffix when a later record of the batch fails (R5)', async () => {
    await redis.set('partial:bad', 'a string');
    const c = client({ keyTemplate: 'partial:{logstore}' });
    const good = deliveryRecord(makeGroup('p1', 2), 1, { walId: 'wp', logstore: 'good' });
    const bad = deliveryRecord(makeGroup('p2', 2), 2, { walId: 'wp', logstore: 'bad' });
    const after = deliveryRecord(makeGroup('p3', 2), 3, { walId: 'wp', logstore: 'good' });
    const rest = await c.publishEvents(deliveryBatch([good, bad, after]));
    assert.deepEqual(rest, [bad, after]);
    assert.equal(await redis.xlen('partial:good'), 2, 'only the first record was appended');
    const err = await rejection(c.publishEvents(deliveryBatch(rest)));
    assert.equal(err.kind, 'permanent');
  });

  it('classifies OOM as retryable and appends once memory is back (R4)', async () => {
    const c = client({ keyTemplate: 'oom:{logstore}' });
    await c.connect(2000);
    await redis.config('SET', 'maxmemory', '1');
    try {
      const err = await rejection(c.publishEvents(deliveryBatch([deliveryRecord(makeGroup('o', 2), 1, { walId: 'wo' })])));
      assert.deepEqual([err.kind, err.reason], ['retryable', 'redis_oom']);
      assert.equal(await redis.exists('oom:store'), 0);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    await c.publishEvents(deliveryBatch([deliveryRecord(makeGroup('o', 2), 1, { walId: 'wo' })]));
    assert.equal(await redis.xlen('oom:store'), 2);
  });

  it('classifies error replies by their code, also inside a Redis 6 script error', () => {
    const reply = (message: string): Error => Object.assign(new Error(message), { name: 'ReplyError' });
    const table: Array<[string, string, string, boolean]> = [
      ['WRONGTYPE Operation against a key holding the wrong kind of value', 'permanent', 'redis_wrongtype', false],
      ['ERR Error running script (call to f_1): @user_script:12: WRONGTYPE Operation against a key', 'permanent', 'redis_wrongtype', false],
      ['NOAUTH Authentication required.', 'retryable', 'redis_noauth', true],
      ['WRONGPASS invalid username-password pair', 'retryable', 'redis_wrongpass', true],
      ['NOPERM this user has no permissions to run the evalsha command', 'retryable', 'redis_noperm', true],
      ['LOADING Redis is loading the dataset in memory', 'retryable', 'redis_loading', false],
      ['BUSY Redis is busy running a script.', 'retryable', 'redis_busy', false],
      ['READONLY You can\'t write against a read only replica.', 'retryable', 'redis_readonly', false],
      ['MASTERDOWN Link with MASTER is down', 'retryable', 'redis_masterdown', false],
      ['CLUSTERDOWN The cluster is down', 'retryable', 'redis_clusterdown', false],
      ['MOVED 3999 127.0.0.1:6381', 'config', 'redis_moved', false],
      ['CROSSSLOT Keys in request don\'t hash to the same slot', 'config', 'redis_crossslot', false],
      ['ERR Error compiling script (new function): user_script:1: unexpected symbol', 'config', 'redis_err', false],
    ];
    for (const [message, kind, reason, auth] of table) {
      const err = redisError(reply(message), 'append');
      assert.deepEqual([err.kind, err.reason, err.auth], [kind, reason, auth], message);
    }
    for (const [message, reason] of [
      ['Connection is closed.', 'connection_closed'],
      ["Stream isn't writeable and enableOfflineQueue options is false", 'offline'],
      ['Command timed out', 'timeout'],
    ] as const) {
      assert.deepEqual([redisError(new Error(message), 'x').kind, redisError(new Error(message), 'x').reason], ['retryable', reason]);
    }
  });

  it('reads back and refuses through the conformance destination adapter', async () => {
    const dest = redisDestination();
    await dest.start();
    try {
      const { clients: planned } = planSink(dest.sinkConfig(), quiet);
      const c = planned[0]!;
      const records = [1, 2].map((i) => deliveryRecord(makeGroup(`a${i}`, 2), i, { walId: 'adapter' }));
      await c.connect(2000);
      await c.publishEvents(deliveryBatch(records));
      await c.publishEvents(deliveryBatch(records));
      await c.close();
      const back = await dest.readBack();
      assert.deepEqual(
        back.map((e) => `${e.seq}@${e.key}`),
        ['a1-0@adapter-1', 'a1-1@adapter-1', 'a2-0@adapter-2', 'a2-1@adapter-2'],
      );
      await dest.restart!();
      assert.equal((await dest.readBack()).length, 4, 'the appendonly server kept everything across SIGKILL');
      for (const p of dest.permanentCases()) {
        const pc = p.client();
        try {
          await pc.connect(2000);
          const err = await rejection(pc.publishEvents(deliveryBatch([p.record()])));
          assert.equal(err.kind, 'permanent', p.name);
        } finally {
          await pc.close();
        }
      }
    } finally {
      await dest.stop();
      await dest.stop();
    }
  });
});

describe('Redis sink failures without a healthy server', { skip }, () => {
  it('fails fast and retryable while the server is down, and appends once it is back', async () => {
    const server = await startRedisServer();
    const c = createRedisClient({ url: server.url, logger: quiet, timeoutMs: 2000 });
    try {
      await server.kill();
      const connectErr = await rejection(c.connect(2000));
      assert.deepEqual([connectErr.kind, connectErr.reason], ['retryable', 'econnrefused']);
      const started = Date.now();
      const publishErr = await rejection(c.publishEvents(deliveryBatch([deliveryRecord(makeGroup('down', 1), 1)])));
      assert.equal(publishErr.kind, 'retryable');
      assert.ok(Date.now() - started < 1500, 'no offline queue: the call failed at once');
      assert.equal(c.isConnected(), false);
      await server.start();
      await c.connect(2000);
      assert.deepEqual(await c.publishEvents(deliveryBatch([deliveryRecord(makeGroup('down', 1), 1)])), []);
    } finally {
      await c.close();
      await server.stop();
    }
  });

  it('reports a dropped connection as retryable and reconnects on the next call', async () => {
    const server = await startRedisServer();
    const c = createRedisClient({ url: server.url, logger: quiet, timeoutMs: 2000 });
    try {
      await c.connect(2000);
      await server.restart();
      await until('the client to notice', () => !c.isConnected());
      assert.deepEqual(await c.publishEvents(deliveryBatch([deliveryRecord(makeGroup('again', 1), 1)])), []);
    } finally {
      await c.close();
      await server.stop();
    }
  });

  it('retries a missing or wrong password with auth: true, and connects with the right one', async () => {
    const server = await startRedisServer({ args: ['--requirepass', 'pa55'] });
    try {
      for (const [password, reason] of [
        [undefined, 'redis_noauth'],
        ['wrong', 'redis_wrongpass'],
      ] as const) {
        const c = createRedisClient({ url: server.url, logger: quiet, ...(password === undefined ? {} : { password }) });
        const err = await rejection(c.connect(2000));
        assert.deepEqual([err.kind, err.reason, err.auth], ['retryable', reason, true]);
        assert.ok(!err.message.includes('pa55'));
        await c.close();
      }
      const ok = createRedisClient({ url: `redis://:pa55@127.0.0.1:${server.port}/2`, logger: quiet });
      await ok.publishEvents(deliveryBatch([deliveryRecord(makeGroup('auth', 1), 1)]));
      await ok.close();
      const redis = new Redis({ port: server.port, password: 'pa55', db: 2, lazyConnect: true });
      await redis.connect();
      assert.equal(await redis.xlen(CONFORMANCE_STREAM), 1, 'written to db 2');
      redis.disconnect();
    } finally {
      await server.stop();
    }
  });

  it('rejects every call after close() with a retryable closed error', async () => {
    const c = createRedisClient({ url: 'redis://127.0.0.1:1', logger: quiet });
    await c.close();
    await c.close();
    const err = await rejection(c.publishEvents(deliveryBatch([deliveryRecord(makeGroup('c', 1), 1)])));
    assert.deepEqual([err.kind, err.reason], ['retryable', 'closed']);
    assert.equal((await rejection(c.connect(100))).reason, 'closed');
  });

  it('runs the script in a Redis Cluster node: stream and marker keys share a slot (R3)', async () => {
    const server = await startRedisServer({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] });
    const redis = new Redis({ port: server.port, lazyConnect: true });
    try {
      await redis.connect();
      await redis.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await until('the cluster to be ok', async () => String(await redis.call('CLUSTER', 'INFO')).includes('cluster_state:ok'));
      for (const key of ['logs:proj:store', 'x}y:proj', 'app:{tenant}:store']) {
        assert.equal(Number(await redis.call('CLUSTER', 'KEYSLOT', key)), keySlot(key), `slot of ${key}`);
      }
      // Control: a script over keys of two slots is refused, so the check below can fail.
      await assert.rejects(redis.eval("return redis.call('EXISTS', KEYS[1], KEYS[2])", 2, 'a', 'b'), /CROSSSLOT/);
      for (const keyTemplate of ['logs:{project}:{logstore}', 'x}y:{project}', 'app:{{project}}:{logstore}']) {
        const c = createRedisClient({ url: server.url, keyTemplate, logger: quiet });
        try {
          const record = deliveryRecord(makeGroup('cl', 2), 1, { walId: 'cluster' });
          assert.deepEqual(await c.publishEvents(deliveryBatch([record])), [], keyTemplate);
          assert.deepEqual(await c.publishEvents(deliveryBatch([record])), [], keyTemplate);
        } finally {
          await c.close();
        }
      }
      assert.equal(await redis.xlen('logs:proj:store'), 2);
      assert.equal(await redis.xlen('x}y:proj'), 2);
      assert.equal(await redis.xlen('app:{proj}:store'), 2);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});

describe('Redis sink end to end: a flusher draining its WAL', { skip }, () => {
  it('loses nothing and stores nothing twice when an appendfsync-always server is SIGKILLed mid-stream (D1, R1, R2)', async (t) => {
    const server = await startRedisServer({ appendonly: true });
    const flusher = await createFlusher({
      dir: tempDir('walship-redis-flusher'),
      sink: { type: 'flusher_redis', url: server.url, timeoutMs: 2000 },
      logger: quiet,
      modeOptions: { waitRetryMs: 20, maxWaitRetryMs: 200 },
      delivery: { retryMinDelayMs: 10, retryMaxDelayMs: 200 },
    });
    try {
      const groups = 400;
      const seqs: string[] = [];
      // Appending goes on while the server dies: delivery is mid-stream at the kill.
      const appending = (async () => {
        for (let g = 0; g < groups; g++) {
          const group = makeGroup(`e${g}`, 5);
          for (const log of group.logs) seqs.push(log.contents[0]!.value);
          await flusher.flush('proj', 'store', 'cfg', [group]);
        }
      })();
      await until('part of the stream to be delivered', async () => ((await flusher.stats())?.delivery.deliveredRecords ?? 0) >= 40);
      await server.kill();
      await appending;
      const pendingAtKill = (await flusher.stats())!.wal.pendingRecords;
      await server.start();
      await until('the WAL to drain', async () => (await flusher.stats())?.wal.pendingRecords === 0, 40_000);
      const stats = (await flusher.stats())!;
      t.diagnostic(`${pendingAtKill} of ${groups} records pending at the kill; failures seen by delivery ${JSON.stringify(stats.delivery.failures)}`);
      assert.ok(pendingAtKill > 0, 'the kill came in the middle of the stream');
      assert.equal(stats.delivery.deadLettered, 0);
      const back = await readStream(server.port, CONFORMANCE_STREAM);
      const counts = new Map<string, number>();
      for (const e of back) counts.set(e.seq, (counts.get(e.seq) ?? 0) + 1);
      const missing = seqs.filter((s) => !counts.has(s));
      const twice = seqs.filter((s) => (counts.get(s) ?? 0) > 1);
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${seqs.length} logs missing`);
      assert.deepEqual(twice.slice(0, 5), [], `${twice.length} logs stored twice`);
      assert.equal(back.length, seqs.length);
    } finally {
      await flusher.stop();
      await server.stop();
    }
  });

});

describe('Redis client edge cases (found by a code review; each fails on the code before its fix)', { skip }, () => {
  it('close() while connect() is loading ioredis leaves no connection open', async () => {
    const server = await startRedisServer();
    const admin = new Redis({ host: '127.0.0.1', port: server.port });
    try {
      const c = createRedisClient({ url: server.url, logger: quiet });
      const connecting = c.connect(5000).then(
        () => 'resolved',
        (e: Error) => `rejected: ${e.message}`,
      );
      await c.close();
      const outcome = await connecting;
      await new Promise((resolve) => setTimeout(resolve, 200));
      const list = (await admin.client('LIST')) as string;
      const ours = list.split('\n').filter((l) => l.includes('name=walship'));
      assert.deepEqual(ours, [], `connect ${outcome}`);
      assert.match(outcome, /^rejected/);
    } finally {
      admin.disconnect();
      await server.stop();
    }
  });

  it('refuses a url whose password is not valid percent-encoding with a coded error that does not echo it', () => {
    assert.throws(
      () => resolveRedisSinkOptions({ url: 'redis://:pa%ss@127.0.0.1:6379' }),
      (err: unknown) => err instanceof WalshipError && err.code === ErrorCodes.INVALID_OPTIONS && /password/.test(err.message) && !err.message.includes('pa%ss'),
    );
  });
});

