import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes, isWalshipError } from '../../src/errors.ts';
import { type ConfigProblem, configProblems, parseConfig } from '../../src/config/index.ts';

/** A valid config; each row below breaks one thing in a copy of it. */
function base(): Record<string, any> {
  return {
    inputs: [{ Type: 'input_stdin' }],
    aggregators: [{ Type: 'aggregator_default' }],
    flushers: [{ Type: 'flusher_http', RemoteURL: 'http://127.0.0.1:9/ingest', Encoding: 'ndjson' }],
    wal: { Dir: './data/wal', MaxBytes: '1GiB', Sync: 'always' },
  };
}

function problemsOf(config: unknown, env: Record<string, string> = {}): readonly ConfigProblem[] {
  try {
    parseConfig(JSON.stringify(config), { env, source: 'table.json', cwd: '/srv' });
  } catch (err) {
    assert.ok(isWalshipError(err, ErrorCodes.INVALID_CONFIG), `expected WALSHIP_INVALID_CONFIG, got ${String(err)}`);
    return configProblems(err);
  }
  assert.fail('the config was accepted');
}

const rows: Array<{ name: string; edit: (c: Record<string, any>) => void; env?: Record<string, string>; problems: ConfigProblem[] }> = [
  {
    name: 'unknown flusher type',
    edit: (c) => (c.flushers[0].Type = 'flusher_kafka'),
    problems: [
      {
        path: 'flushers[0].Type',
        expected: 'one of "flusher_http", "flusher_nats", "flusher_redis", "flusher_file", "flusher_stdout"',
        got: '"flusher_kafka"',
      },
    ],
  },
  {
    name: 'unknown input type',
    edit: (c) => (c.inputs[0].Type = 'input_syslog'),
    problems: [{ path: 'inputs[0].Type', expected: 'one of "input_stdin", "input_file"', got: '"input_syslog"' }],
  },
  {
    name: 'missing type',
    edit: (c) => delete c.aggregators[0].Type,
    problems: [{ path: 'aggregators[0].Type', expected: 'one of "aggregator_default", "aggregator_context"', got: 'nothing (the field is required)' }],
  },
  {
    name: 'wrong type: a number where a URL goes',
    edit: (c) => (c.flushers[0].RemoteURL = 42),
    problems: [{ path: 'flushers[0].RemoteURL', expected: 'an http(s) URL', got: '42' }],
  },
  {
    name: 'unknown field, case-sensitive, with a hint',
    edit: (c) => (c.flushers[0].encoding = 'json'),
    problems: [{ path: 'flushers[0].encoding', expected: 'the field Encoding (names are case-sensitive)', got: 'unknown field "encoding"' }],
  },
  {
    name: 'unknown section',
    edit: (c) => (c.processors = []),
    problems: [
      {
        path: 'processors',
        expected: 'one of the sections inputs, aggregators, flushers, wal, metrics, global, log_level',
        got: 'unknown section "processors"',
      },
    ],
  },
  {
    name: 'out of range',
    edit: (c) => (c.metrics = { Port: 70000 }),
    problems: [{ path: 'metrics.Port', expected: 'an integer from 0 to 65535', got: '70000' }],
  },
  {
    name: 'bad enum',
    edit: (c) => (c.wal.Sync = 'sometimes'),
    problems: [{ path: 'wal.Sync', expected: 'one of "always", "interval", "never"', got: '"sometimes"' }],
  },
  {
    name: 'bad size unit',
    edit: (c) => (c.wal.MaxBytes = '1 parsec'),
    problems: [{ path: 'wal.MaxBytes', expected: 'a size such as "1GiB", "500MB" or a number of bytes (>= 1)', got: '"1 parsec"' }],
  },
  {
    name: 'bad duration unit',
    edit: (c) => (c.flushers[0].RetryMinDelayMs = '5 fortnights'),
    problems: [{ path: 'flushers[0].RetryMinDelayMs', expected: 'a duration such as "250ms", "30s", "2h" or a number of ms', got: '"5 fortnights"' }],
  },
  {
    name: 'missing env var',
    edit: (c) => (c.flushers[0].Headers = { authorization: 'Bearer ${LOG_TOKEN}' }),
    problems: [{ path: 'flushers[0].Headers.authorization', expected: 'the environment variable LOG_TOKEN to be set', got: '${LOG_TOKEN} unset' }],
  },
  {
    name: 'a secret is never echoed',
    edit: (c) => (c.flushers[0].Headers = { authorization: 42 }),
    problems: [{ path: 'flushers[0].Headers.authorization', expected: 'a string', got: '42' }],
  },
  {
    name: 'conflicting fields (RemoteURL and Hosts)',
    edit: (c) => (c.flushers[0].Hosts = ['http://127.0.0.1:9/a']),
    problems: [{ path: 'flushers[0].RemoteURL', expected: 'either RemoteURL or Hosts (one of them)', got: 'both' }],
  },
  {
    name: 'the sink resolver\'s cross-field rule, mapped to the JSON field',
    edit: (c) => (c.flushers[0].Compression = 'lz4'),
    problems: [
      {
        path: 'flushers[0].Compression',
        expected: 'settings that fit together',
        got: "`compression` applies to encoding 'sls' only, got encoding 'ndjson' (use `gzip`)",
      },
    ],
  },
  {
    name: 'mode single with several hosts',
    edit: (c) => {
      delete c.flushers[0].RemoteURL;
      c.flushers[0].Hosts = ['http://127.0.0.1:9/a', 'http://127.0.0.1:10/a'];
      c.flushers[0].Mode = 'single';
    },
    problems: [{ path: 'flushers[0].Mode', expected: '"failover" or "loadbalance" with 2 hosts', got: '"single"' }],
  },
  {
    name: 'two flushers with one name (one WAL directory)',
    edit: (c) => {
      c.flushers[0].Name = 'main';
      c.flushers.push({ ...c.flushers[0] });
    },
    problems: [{ path: 'flushers[1].Name', expected: 'a name no other flusher has (flushers[0] is "main")', got: '"main"' }],
  },
  {
    name: 'no flushers',
    edit: (c) => (c.flushers = []),
    problems: [{ path: 'flushers', expected: 'an array of at least 1 flusher objects', got: '0 entries' }],
  },
  {
    name: 'a bad multiline pattern',
    edit: (c) => (c.inputs[0].Multiline = { StartPattern: '(' }),
    problems: [
      {
        path: 'inputs[0].Multiline.StartPattern',
        expected: 'a valid regular expression',
        got: '"(" (Invalid regular expression: /(/: Unterminated group)',
      },
    ],
  },
  {
    name: 'retry delays the wrong way round',
    edit: (c) => Object.assign(c.flushers[0], { RetryMinDelayMs: '10s', RetryMaxDelayMs: '1s' }),
    problems: [{ path: 'flushers[0].RetryMaxDelayMs', expected: 'at least RetryMinDelayMs (10000 ms)', got: '1000 ms' }],
  },
  // Found by a code review: each was valid for `walship validate` and refused by `walship run`.
  {
    name: 'RetryMaxDelayMs alone, below the default RetryMinDelayMs',
    edit: (c) => Object.assign(c.flushers[0], { RetryMaxDelayMs: '100ms' }),
    problems: [{ path: 'flushers[0].RetryMaxDelayMs', expected: 'at least RetryMinDelayMs, by default (500 ms)', got: '100 ms' }],
  },
  {
    name: 'MaxWaitRetryMs alone, below the default WaitRetryMs',
    edit: (c) => Object.assign(c.flushers[0], { MaxWaitRetryMs: '500ms' }),
    problems: [{ path: 'flushers[0].MaxWaitRetryMs', expected: 'at least WaitRetryMs, by default (1000 ms)', got: '500 ms' }],
  },
  {
    name: 'a URL with credentials is shown without them',
    edit: (c) => (c.flushers[0] = { Type: 'flusher_redis', URL: 'tcp://default:Sup3rS3cret@redis.internal:6379/0' }),
    problems: [{ path: 'flushers[0].URL', expected: 'a URL (redis://, rediss://)', got: '"tcp://[redacted]@redis.internal:6379/0"' }],
  },
  {
    name: 'a URL whose password holds "/", "#", "?" or "@" (it does not parse) is shown without it',
    edit: (c) =>
      (c.flushers = [
        { Type: 'flusher_redis', URL: 'redis://default:Sup3r/S3cret@redis.internal:6379/0' },
        { Type: 'flusher_redis', URL: 'redis://default:Sup3r#S3cret@redis.internal:6379/0' },
        { Type: 'flusher_redis', URL: 'tcp://default:Sup3r@S3cret@redis.internal:6379/0' },
        { Type: 'flusher_http', RemoteURL: 'https://ingest:Sup3r?S3cret@logs.example.com/v1' },
      ]),
    problems: [
      { path: 'flushers[0].URL', expected: 'a URL (redis://, rediss://)', got: '"redis://[redacted]@redis.internal:6379/0"' },
      { path: 'flushers[1].URL', expected: 'a URL (redis://, rediss://)', got: '"redis://[redacted]@redis.internal:6379/0"' },
      { path: 'flushers[2].URL', expected: 'a URL (redis://, rediss://)', got: '"tcp://[redacted]@redis.internal:6379/0"' },
      { path: 'flushers[3].RemoteURL', expected: 'an http(s) URL', got: '"https://[redacted]@logs.example.com/v1"' },
    ],
  },
  {
    name: 'a Redis password that is not valid percent-encoding (a coded problem, not a crash, not echoed)',
    edit: (c) => (c.flushers[0] = { Type: 'flusher_redis', URL: 'redis://:pa%ss@127.0.0.1:6379/0' }),
    problems: [
      {
        path: 'flushers[0].URL',
        expected: 'settings that fit together',
        got: 'Expected the password in `url` to be valid percent-encoding (write "%" as "%25")',
      },
    ],
  },
];

describe('config errors name the JSON path, what was expected and what was found (C1, C2)', () => {
  for (const row of rows) {
    it(`${row.name}`, () => {
      const c = base();
      row.edit(c);
      assert.deepEqual(problemsOf(c, row.env), row.problems);
    });
  }

  it('reports every problem at once, not only the first', () => {
    const c = base();
    c.flushers[0].RemoteURL = 42;
    c.wal.Sync = 'sometimes';
    c.inputs[0].Type = 'input_syslog';
    c.flushers[0].Headers = { a: '${NOPE}' };
    const paths = problemsOf(c).map((p) => p.path);
    assert.deepEqual(paths.sort(), ['flushers[0].Headers.a', 'flushers[0].RemoteURL', 'inputs[0].Type', 'wal.Sync']);
  });

  it('invalid JSON is a config error too', () => {
    try {
      parseConfig('{"inputs": [', { source: 'x.json' });
      assert.fail('accepted');
    } catch (err) {
      assert.ok(isWalshipError(err, ErrorCodes.INVALID_CONFIG));
      assert.equal(configProblems(err)[0]?.expected, 'valid JSON');
    }
  });
});

describe('a valid config resolves to library options (C4, C5)', () => {
  it('maps PascalCase fields to options, converts units, substitutes env and puts each flusher in its own WAL directory', () => {
    const c = base();
    Object.assign(c.flushers[0], { Headers: { authorization: 'Bearer ${T}' }, TimeoutMs: '5s', RetryMaxDelayMs: '1m', Wal: { MaxBytes: '10MiB' } });
    c.inputs.push({ Type: 'input_file', Path: 'logs/*.log', Multiline: { StartPattern: '^\\d' }, ReadFromHead: true });
    c.aggregators[0] = { Type: 'aggregator_context', MaxLogsPerGroup: 100 };
    c.global = { ConfigName: 'shop', StopTimeoutMs: '2s' };
    const r = parseConfig(JSON.stringify(c), { env: { T: 'tok' }, source: '/etc/walship/shop.json', cwd: '/srv' });
    assert.equal(r.configName, 'shop');
    assert.equal(r.walDir, '/srv/data/wal');
    assert.deepEqual(r.inputs[1], {
      type: 'input_file',
      path: '/srv/logs/*.log',
      multiline: { startPattern: '^\\d' },
      readFromHead: true,
      groups: { maxLogsPerGroup: 100 },
    });
    const f = r.flushers[0];
    assert.equal(f?.name, 'http-0');
    assert.equal(f?.dir, '/srv/data/wal/http-0');
    assert.deepEqual(f?.sink, { type: 'http', url: 'http://127.0.0.1:9/ingest', encoding: 'ndjson', headers: { authorization: 'Bearer tok' }, timeoutMs: 5000 });
    assert.deepEqual(f?.delivery, { retryMaxDelayMs: 60_000 });
    assert.deepEqual(f?.wal, { maxBytes: 10 * 1024 * 1024, sync: 'always' });
    assert.equal(f?.stopTimeoutMs, 2000);
  });
});

describe('every flusher type maps its fields to its sink options (C4)', () => {
  const sinkOf = (f: object, env: Record<string, string> = {}) =>
    parseConfig(JSON.stringify({ inputs: [{ Type: 'input_stdin' }], flushers: [f] }), { env, cwd: '/srv' }).flushers[0]?.sink;

  it('flusher_nats: Hosts → servers, Password → pass, Stream as an object with units', () => {
    assert.deepEqual(
      sinkOf(
        { Type: 'flusher_nats', Hosts: ['nats://127.0.0.1:4222'], Subject: 'logs.{logstore}', User: 'u', Password: '${P}', Stream: { Name: 'LOGS', Subjects: ['logs.>'], DuplicateWindowMs: '2h', Create: true } },
        { P: 'pw' },
      ),
      { type: 'nats', servers: ['nats://127.0.0.1:4222'], subject: 'logs.{logstore}', user: 'u', pass: 'pw', stream: { name: 'LOGS', subjects: ['logs.>'], duplicateWindowMs: 7_200_000, create: true } },
    );
  });

  it('flusher_redis, flusher_file, flusher_stdout', () => {
    assert.deepEqual(sinkOf({ Type: 'flusher_redis', URL: 'redis://127.0.0.1:6379/0', DB: 1, DedupTtlMs: '1h', EntryPer: 'group' }), {
      type: 'redis',
      url: 'redis://127.0.0.1:6379/0',
      db: 1,
      dedupTtl: 3_600_000,
      entryPer: 'group',
    });
    assert.deepEqual(sinkOf({ Type: 'flusher_file', Path: 'out.ndjson', MaxBytes: '10MiB', MaxFiles: 3 }), { type: 'file', path: 'out.ndjson', maxBytes: 10 * 1024 * 1024, maxFiles: 3 });
    assert.deepEqual(sinkOf({ Type: 'flusher_stdout', Format: 'text' }), { type: 'stdout', format: 'text' });
  });

  it('nested objects report their own fields; a value fitting no alternative says what would', () => {
    assert.deepEqual(problemsOf({ inputs: [{ Type: 'input_stdin' }], flushers: [{ Type: 'flusher_nats', Subject: 's', Stream: { Nome: 'x' } }] }), [
      { path: 'flushers[0].Stream.Nome', expected: 'one of the fields Name, Subjects, Replicas, DuplicateWindowMs, Create', got: 'unknown field "Nome"' },
      { path: 'flushers[0].Stream.Name', expected: 'a non-empty string', got: 'nothing (the field is required)' },
    ]);
    assert.deepEqual(problemsOf({ inputs: [{ Type: 'input_stdin' }], flushers: [{ Type: 'flusher_nats', Stream: 5 }] }), [
      { path: 'flushers[0].Stream', expected: 'a non-empty string or an object', got: '5' },
    ]);
  });

  it('Mode "single" with several NATS servers is valid: the NATS sink is one client over all of them', () => {
    const config = { inputs: [{ Type: 'input_stdin' }], flushers: [{ Type: 'flusher_nats', Mode: 'single', Hosts: ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222'] }] };
    const resolved = parseConfig(JSON.stringify(config), { env: {}, source: 'nats.json', cwd: '/srv' });
    assert.equal(resolved.flushers[0]?.mode, 'single');
  });
});

