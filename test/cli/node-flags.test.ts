import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WALSHIP_NODE_FLAGS } from '../../src/cli/node-flags.ts';
import { skipOrFail } from '../helpers/servers/binary.ts';
import { tempDir } from '../helpers/tmpdir.ts';

const root = join(import.meta.dirname, '..', '..');
const head = (path: string) => readFileSync(path, 'utf8').split('\n').slice(0, 2);
const LAUNCHER = ['#!/bin/sh', `//usr/bin/env true; exec node ${WALSHIP_NODE_FLAGS.join(' ')} "$0" "$@"`];

/** A script with the `walship` command's first two lines that reports what node got, and exits 7. */
function probeScript(): string {
  const script = join(tempDir(), 'walship-like.js');
  // Short-lived garbage until the young generation has grown to its limit (32 MiB by default).
  const probe = [
    'let keep = []; for (let i = 0; i < 2e6; i++) { keep.push({ i, s: "x" + i }); if (keep.length > 20000) keep = []; }',
    'const { getHeapSpaceStatistics } = await import("node:v8");',
    'const s = getHeapSpaceStatistics().find((x) => x.space_name === "new_space");',
    'console.log(JSON.stringify({ pid: process.pid, argv: process.argv.slice(2), execArgv: process.execArgv, newSpace: s.space_size }));',
    'process.exitCode = 7;',
  ].join('\n');
  writeFileSync(script, `${head(join(root, 'src/cli/main.ts')).join('\n')}\n${probe}\n`);
  writeFileSync(join(script, '..', 'package.json'), '{"type":"module"}\n');
  chmodSync(script, 0o755);
  return script;
}

interface Probe {
  pid: number;
  argv: string[];
  execArgv: string[];
  newSpace: number;
}

function run(command: string, args: string[]): { probe: Probe; pid: number | undefined; status: number | null } {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  assert.equal(r.stderr, '', `${command} ${args.join(' ')}: nothing on stderr`);
  return { probe: JSON.parse(r.stdout) as Probe, pid: r.pid, status: r.status };
}

describe('the Node flags walship runs with', () => {
  it('are in the `walship` command\'s first two lines and in `npm start`', () => {
    assert.deepEqual(head(join(root, 'src/cli/main.ts')), LAUNCHER);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    assert.equal(pkg.bin.walship, './dist/cli/main.js', 'the bin is the build of src/cli/main.ts (tsc keeps its leading comment)');
    assert.ok(pkg.scripts.start?.startsWith(`node ${WALSHIP_NODE_FLAGS.join(' ')} `), pkg.scripts.start);
  });

  it('reach node when the script is run as a command: node replaces the shell (same pid), arguments and exit code pass through', () => {
    const script = probeScript();
    const { probe, pid, status } = run(script, ['a', 'b c', '$HOME']);
    assert.deepEqual(probe.execArgv, [...WALSHIP_NODE_FLAGS]);
    assert.deepEqual(probe.argv, ['a', 'b c', '$HOME']);
    assert.equal(probe.pid, pid, 'exec: signals sent to the command reach node');
    assert.equal(status, 7);
    // V8 took the flag: new space within 2 × 1 MiB and a little.
    assert.ok(probe.newSpace <= 4 * 1024 * 1024, `new space of ${probe.newSpace} bytes`);
  });

  it('work with BusyBox sh (Alpine), which has no `env -S`', (t) => {
    try {
      execFileSync('busybox', ['true']);
    } catch {
      skipOrFail(t, 'busybox not found');
      return;
    }
    const { probe, status } = run('busybox', ['sh', probeScript(), 'x y']);
    assert.deepEqual(probe.execArgv, [...WALSHIP_NODE_FLAGS]);
    assert.deepEqual(probe.argv, ['x y']);
    assert.equal(status, 7);
  });

  it('are only a comment to node: `node dist/cli/main.js` runs without them', () => {
    const { probe, status } = run(process.execPath, [probeScript(), 'z']);
    assert.deepEqual(probe.execArgv, []);
    assert.deepEqual(probe.argv, ['z']);
    assert.equal(status, 7);
  });
});
