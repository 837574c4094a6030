import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { tempDir } from '../helpers/tmpdir.ts';

const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;
/** tsx by absolute URL, so the CLI runs from any working directory. */
const tsx = import.meta.resolve('tsx');

it('the demo ships every sample log through the WAL to a flaky receiver and reports lost = 0', () => {
  const cwd = tempDir();
  const run = spawnSync(process.execPath, ['--import', tsx, main, 'demo'], { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  const row = run.stdout
    .split('\n')
    .find((l) => /^\s*\|\s*\d/.test(l))
    ?.split('|')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  assert.ok(row, run.stdout);
  const [logsRead, , logsReceived, , , lost] = row.map(Number);
  assert.equal(logsRead, 800);
  assert.equal(logsReceived, 800);
  assert.equal(lost, 0);
  assert.ok(existsSync(join(cwd, 'data', 'wal', 'db')), 'the WAL lives in ./data/wal');
});

it('an unknown command exits with code 2 and names the available ones', () => {
  const run = spawnSync(process.execPath, ['--import', tsx, main, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /unknown command "frobnicate"; available: run, validate, receive, inspect, dlq, wal, demo/);
});
