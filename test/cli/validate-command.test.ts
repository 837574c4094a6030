import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/tmpdir.ts';
import { cli } from './cli-process.ts';

const valid = {
  inputs: [{ Type: 'input_stdin' }],
  flushers: [{ Type: 'flusher_http', RemoteURL: 'http://127.0.0.1:9/ingest', Encoding: 'ndjson', Headers: { authorization: 'Bearer ${LOG_TOKEN}' } }],
  wal: { Dir: './data/wal', MaxBytes: '1GiB', Sync: 'always' },
};

describe('walship validate (C1: checked before anything starts)', () => {
  it('accepts a valid config with exit 0 and starts nothing', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'ok.json'), JSON.stringify(valid));
    const r = await cli(['validate', 'ok.json'], { cwd, env: { LOG_TOKEN: 't' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok\.json: valid \(1 input: input_stdin; 1 flusher: http-0 → .*data\/wal\/http-0\)$/m);
    assert.equal(r.stderr, '');
  });

  it('exits 2 and lists every problem as "path: expected …, got …" on stderr', async () => {
    const cwd = tempDir();
    const bad = structuredClone(valid) as any;
    bad.flushers[0].RemoteURL = 42;
    bad.flushers[0].Colour = 'blue';
    bad.wal.MaxBytes = '1 parsec';
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify(bad));
    const r = await cli(['validate', 'bad.json'], { cwd });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines[0], 'walship: invalid config bad.json: 4 problems');
    assert.deepEqual(lines.slice(1).map((l) => l.trim()).sort(), [
      'flushers[0].Colour: expected one of the fields Name, Mode, MaxAttempts, WaitRetryMs, MaxWaitRetryMs, ConnectTimeoutMs, BatchMaxRecords, BatchMaxBytes, InFlightBatches, InFlightBytes, RetryMinDelayMs, RetryMaxDelayMs, ConfigRetryMaxDelayMs, Ordered, WhenFull, StopTimeoutMs, Wal, RemoteURL, Hosts, Encoding, Compression, Gzip, Concurrency, TimeoutMs, Headers, Tls, Probe, got unknown field "Colour"',
      'flushers[0].Headers.authorization: expected the environment variable LOG_TOKEN to be set, got ${LOG_TOKEN} unset',
      'flushers[0].RemoteURL: expected an http(s) URL, got 42',
      'wal.MaxBytes: expected a size such as "1GiB", "500MB" or a number of bytes (>= 1), got "1 parsec"',
    ]);
  });

  it('--json prints the problems as objects (exit 2), and a missing file is a config error too', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ ...valid, inputs: [{ Type: 'input_syslog' }] }));
    const r = await cli(['validate', '--json', 'bad.json'], { cwd, env: { LOG_TOKEN: 't' } });
    assert.equal(r.code, 2);
    assert.deepEqual(JSON.parse(r.stdout), {
      valid: false,
      config: 'bad.json',
      problems: [{ path: 'inputs[0].Type', expected: 'one of "input_stdin", "input_file"', got: '"input_syslog"' }],
    });
    const missing = await cli(['validate', 'nope.json'], { cwd });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /\(config\): expected a readable file at nope\.json, got ENOENT/);
  });

  it('run refuses an invalid config with exit 2 before opening any WAL', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ ...valid, wal: { Dir: './w', Sync: 'sometimes' } }));
    const r = await cli(['run', '--config', 'bad.json'], { cwd, env: { LOG_TOKEN: 't' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /wal\.Sync: expected one of "always", "interval", "never", got "sometimes"/);
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(join(cwd, 'w')), false, 'no WAL directory was created');
  });
});
