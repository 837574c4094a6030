import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { tempDir } from '../helpers/tmpdir.ts';

const tsx = import.meta.resolve('tsx');

it("the README's plugin-model example runs as shown and delivers all 1000 logs", () => {
  const example = new URL('../../data/examples/pipeline-example.ts', import.meta.url).pathname;
  const run = spawnSync(process.execPath, ['--import', tsx, example], { cwd: tempDir(), encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^received 1000 logs, \d+ duplicates dropped$/m);
});
