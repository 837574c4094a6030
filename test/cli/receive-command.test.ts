import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { tempDir } from '../helpers/tmpdir.ts';
import { cli, startCli, waitFor } from './cli-process.ts';

it('walship receive serves on loopback, injects the --status failures, writes --out, and prints its counters on SIGTERM', async () => {
  const cwd = tempDir();
  const child = startCli(['receive', '--port', '0', '--fail-rate', '1', '--status', '502', '--latency', '1-3', '--out', 'got.ndjson', '--seed', '1'], { cwd });
  after(() => child.kill('SIGKILL'));
  const url = await waitFor('the URL', () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(child.out.stdout)?.[1]);
  const body = `${JSON.stringify({ time: 1, contents: { msg: 'hi' }, project: 'p', logstore: 'ls' })}\n`;
  const post = () => fetch(`${url}/ingest`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'x-walship-idempotency-key': 'k1' }, body });
  assert.equal((await post()).status, 502, '--fail-rate 1 fails every request with --status');
  child.kill('SIGTERM');
  const r = await child.exited;
  assert.equal(r.code, 0, r.stderr);
  const stats = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
  assert.equal(stats.faults.fail, 1);
  assert.equal(stats.logs, 0);

  // Without faults the log is stored and appended to --out before the 2xx (R1).
  const ok = startCli(['receive', '--out', 'got.ndjson'], { cwd });
  after(() => ok.kill('SIGKILL'));
  const url2 = await waitFor('the URL', () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(ok.out.stdout)?.[1]);
  const res = await fetch(`${url2}/ingest`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'x-walship-idempotency-key': 'k1' }, body });
  assert.equal(res.status, 200);
  assert.match(readFileSync(join(cwd, 'got.ndjson'), 'utf8'), /"msg":"hi"/);
  ok.kill('SIGINT');
  assert.equal((await ok.exited).code, 0);

  const bad = await cli(['receive', '--latency', 'slow'], { cwd });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--latency: expected milliseconds/);
});
