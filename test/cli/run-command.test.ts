import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ADMIN_FILE_NAME } from '../../src/config/defaults.ts';
import { startReceiver } from '../../src/receiver/index.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { cli, startCli, waitFor } from './cli-process.ts';

function config(url: string, extra: Record<string, unknown> = {}) {
  return {
    inputs: [{ Type: 'input_stdin' }],
    aggregators: [{ Type: 'aggregator_default', MaxLogsPerGroup: 50 }],
    flushers: [{ Type: 'flusher_http', RemoteURL: `${url}/ingest`, Encoding: 'ndjson', RetryMinDelayMs: '20ms', RetryMaxDelayMs: '200ms', WaitRetryMs: '50ms', ...extra }],
    wal: { Dir: './data/wal', MaxBytes: '64MiB', FreeSpaceFloor: 0 },
    log_level: 'info',
  };
}

async function json(url: string): Promise<any> {
  const r = await fetch(url);
  return r.json();
}

function adminUrl(cwd: string): string | undefined {
  const f = join(cwd, 'data', 'wal', ADMIN_FILE_NAME);
  if (!existsSync(f)) return undefined;
  try {
    return (JSON.parse(readFileSync(f, 'utf8')) as { url: string }).url;
  } catch {
    return undefined; // being written
  }
}

describe('walship run', () => {
  it('ships stdin through the WAL, serves /metrics /healthz /status, and on SIGTERM stops gracefully with exit 0 and everything received', async () => {
    const cwd = tempDir();
    const receiver = await startReceiver({ latencyMs: [1, 10], failRate: 0.1, seed: 7, logger: captureLogger().logger });
    after(() => receiver.close());
    writeFileSync(join(cwd, 'c.json'), JSON.stringify(config(receiver.url)));
    const child = startCli(['run', '--config', 'c.json'], { cwd });
    after(() => child.kill('SIGKILL'));
    const N = 600;
    child.stdin?.end(Array.from({ length: N }, (_, i) => `line ${i}`).join('\n') + '\n');

    const url = await waitFor('the admin file', () => adminUrl(cwd));
    await waitFor('every line durable', async () => {
      const s = await json(`${url}/status`);
      return s.inputs[0]?.logs === N ? s : undefined;
    });

    const status = await json(`${url}/status`);
    assert.equal(status.pid, child.pid);
    assert.equal(status.state, 'running');
    assert.equal(status.flushers[0].name, 'http-0');
    assert.equal(status.flushers[0].endpoints[0].name, `${receiver.url}/ingest`);

    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const name of [
      'walship_wal_pending_records',
      'walship_wal_pending_bytes',
      'walship_wal_disk_bytes',
      'walship_wal_oldest_record_age_seconds',
      'walship_wal_quota_ratio',
      'walship_wal_dead_letter_records',
      'walship_wal_quarantine_records',
      'walship_delivered_records_total',
      'walship_delivery_retries_total',
      'walship_dead_lettered_total',
      'walship_endpoint_up',
      'walship_input_logs_total',
      'process_cpu_seconds_total',
    ]) {
      assert.match(metrics, new RegExp(`^${name}(\\{[^}]*\\})? `, 'm'), `${name} is exported`);
    }
    assert.match(metrics, /^walship_input_logs_total\{input="input_stdin-0"\} 600$/m);
    assert.match(metrics, /^# TYPE walship_delivered_records_total counter$/m);

    // inspect while run holds the WAL: it says so and reads /status (X3).
    const inspect = await cli(['inspect', 'data/wal', '--json'], { cwd });
    assert.equal(inspect.code, 0, inspect.stderr);
    const report = JSON.parse(inspect.stdout);
    assert.equal(report.wals[0].source, 'admin');
    assert.equal(report.wals[0].heldBy.pid, child.pid);
    assert.equal(typeof report.wals[0].wal.pendingRecords, 'number');
    const text = await cli(['inspect', 'data/wal'], { cwd });
    assert.match(text.stdout, new RegExp(`held by pid ${child.pid}`));
    assert.match(text.stdout, /sink {10}http:\/\/127\.0\.0\.1:\d+\/ingest connected/);

    child.kill('SIGTERM');
    const result = await child.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /"msg":"stopping gracefully/);
    const received = new Set(receiver.logs().map((l) => l.contents.content));
    assert.equal(received.size, N, 'every line reached the receiver');
    assert.equal(existsSync(join(cwd, 'data', 'wal', ADMIN_FILE_NAME)), false, 'the admin file is removed on a clean stop');

    // Stopped: inspect opens the WAL itself and finds it empty.
    const afterStop = JSON.parse((await cli(['inspect', 'data/wal', '--json'], { cwd })).stdout);
    assert.equal(afterStop.wals[0].source, 'wal');
    assert.equal(afterStop.wals[0].wal.pendingRecords, 0);
  });

  it('a second signal during the graceful stop exits at once (143); the undelivered records stay in the WAL', async () => {
    const cwd = tempDir();
    // Every request fails: the graceful stop would wait its whole 60 s stop timeout.
    const receiver = await startReceiver({ failRate: 1, logger: captureLogger().logger });
    after(() => receiver.close());
    writeFileSync(join(cwd, 'c.json'), JSON.stringify({ ...config(receiver.url, { StopTimeoutMs: '60s' }), global: { StopTimeoutMs: '60s' } }));
    const child = startCli(['run', '--config', 'c.json'], { cwd });
    after(() => child.kill('SIGKILL'));
    child.stdin?.end(Array.from({ length: 120 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const url = await waitFor('the admin file', () => adminUrl(cwd));
    await waitFor('every line durable', async () => ((await json(`${url}/status`)).inputs[0]?.logs === 120 ? true : undefined));

    child.kill('SIGTERM');
    await waitFor('the graceful stop to begin', () => (child.out.stderr.includes('stopping gracefully') ? true : undefined));
    const started = Date.now();
    child.kill('SIGTERM');
    const result = await child.exited;
    assert.equal(result.code, 143);
    assert.ok(Date.now() - started < 10_000, 'the second signal did not wait for the stop timeout');
    assert.match(result.stderr, /second signal: exiting at once/);
    assert.equal(receiver.stats().logs, 0);

    // The admin file is stale (its pid is gone): inspect opens the WAL and finds the records.
    const report = JSON.parse((await cli(['inspect', 'data/wal', '--json'], { cwd })).stdout);
    assert.equal(report.wals[0].source, 'wal');
    assert.ok(report.wals[0].wal.pendingRecords >= 3, `pending ${report.wals[0].wal.pendingRecords}`);
  });

  it('SIGTERM while stdin waits for room in a full WAL (quota and urgent reserve) stops after StopTimeoutMs instead of hanging', { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const receiver = await startReceiver({ failRate: 1, logger: captureLogger().logger });
    after(() => receiver.close());
    const c = config(receiver.url, { StopTimeoutMs: '1s' });
    writeFileSync(join(cwd, 'c.json'), JSON.stringify({ ...c, wal: { ...c.wal, MaxBytes: '200KiB' }, global: { StopTimeoutMs: '1s' } }));
    const child = startCli(['run', '--config', 'c.json'], { cwd });
    after(() => child.kill('SIGKILL'));
    // 2 MB of lines, stdin left open: the WAL fills, the input pauses with lines in hand.
    const line = `${'x'.repeat(180)}\n`;
    child.stdin?.on('error', () => {}); // EPIPE once walship exits with this still unread
    child.stdin?.write(line.repeat(11_000));
    const url = await waitFor('the admin file', () => adminUrl(cwd));
    await waitFor('the input paused on the full WAL', async () => ((await json(`${url}/status`)).inputs[0]?.paused === true ? true : undefined), 30_000);
    const started = Date.now();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const result = await child.exited;
    clearTimeout(timer);
    assert.equal(result.signal, null, `killed after 30 s: the stop hung; stderr ${result.stderr.slice(-2000)}`);
    assert.ok(Date.now() - started < 15_000, `stopped in ${Date.now() - started} ms`);
    // The lines the input held are gone (stdin cannot be read again): said, and exit 1, not 0.
    const lost = /"logsLost":(\d+).*logs read from the inputs were never made durable \(lost\); exiting with 1/.exec(result.stderr);
    assert.ok(lost !== null && Number(lost[1]) > 0, `the loss is logged; stderr ${result.stderr.slice(-2000)}`);
    assert.equal(result.code, 1);
  });

  it('three flushers: every line of a file reaches every destination, with one of them slow, failing and at its WAL quota', { timeout: 120_000 }, async () => {
    // flushers[0] holds the input's checkpoints and is appended to last; http-1 is fast and
    // acknowledges records built in place in the input's group buffers; http-2 is slow, fails
    // 30% of its requests and has a 1 MiB WAL, so the input keeps pausing for it while http-1
    // delivers. Every destination must get every line, intact. (The buffer race between
    // flushers is forced, deterministically, in test/inputs/fan-out-buffers.test.ts.)
    const cwd = tempDir();
    const quiet = captureLogger().logger;
    const receivers = await Promise.all([
      startReceiver({ logger: quiet }),
      startReceiver({ logger: quiet }),
      startReceiver({ latencyMs: [5, 30], failRate: 0.3, seed: 11, logger: quiet }),
    ]);
    after(() => Promise.all(receivers.map((r) => r.close())));
    const N = 30_000;
    const lines = Array.from({ length: N }, (_, i) => `line ${String(i).padStart(6, '0')} ${'x'.repeat(60 + (i % 40))}`);
    writeFileSync(join(cwd, 'app.log'), `${lines.join('\n')}\n`);
    const flusher = (url: string, extra: Record<string, unknown> = {}) => ({
      Type: 'flusher_http',
      RemoteURL: `${url}/ingest`,
      Encoding: 'ndjson',
      RetryMinDelayMs: '20ms',
      RetryMaxDelayMs: '200ms',
      WaitRetryMs: '50ms',
      ...extra,
    });
    writeFileSync(
      join(cwd, 'c.json'),
      JSON.stringify({
        inputs: [{ Type: 'input_file', Path: join(cwd, 'app.log'), ReadFromHead: true }],
        aggregators: [{ Type: 'aggregator_default', MaxLogsPerGroup: 200 }],
        flushers: [flusher(receivers[0]!.url), flusher(receivers[1]!.url), flusher(receivers[2]!.url, { Wal: { MaxBytes: '1MiB' } })],
        wal: { Dir: './data/wal', MaxBytes: '64MiB', FreeSpaceFloor: 0 },
        log_level: 'info',
      }),
    );
    const child = startCli(['run', '--config', 'c.json'], { cwd });
    after(() => child.kill('SIGKILL'));
    await waitFor('every destination has every line', () => (receivers.every((r) => r.stats().logs >= N) ? true : undefined), 90_000);
    child.kill('SIGTERM');
    const result = await child.exited;
    assert.equal(result.code, 0, result.stderr.slice(-2000));
    const want = new Set(lines);
    for (const [i, r] of receivers.entries()) {
      const got = r.logs().map((l) => l.contents.content as string);
      const unknown = got.filter((l) => !want.has(l));
      assert.equal(unknown.length, 0, `http-${i} received lines that were never written, e.g. ${unknown[0]?.slice(0, 40)}`);
      assert.equal(new Set(got).size, N, `http-${i} has every line`);
    }
    assert.ok(receivers[2]!.stats().faults.fail > 0, 'the slow destination did fail requests');
    assert.equal(receivers.reduce((n, r) => n + r.stats().invalidRequests, 0), 0, 'no request that did not decode');
    assert.match(result.stderr, /the WAL is over its quota; reading paused/, 'http-2 reached its WAL quota and the input waited');
  });
});
