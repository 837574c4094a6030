import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { areaOf, readCpuProfile, summarizeCpuProfile } from '../../bench/lib/cpu-profile.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

test('self time is each sample’s delta to the next, by function and by area; idle apart', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('writeBody', 'file:///x/dist/sinks/http/json-transcode.js', 9) },
      { id: 4, callFrame: frame('append', 'file:///x/dist/wal/wal.js', 99) },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    samples: [3, 3, 4, 2, 5, 3],
    // µs since the previous sample; the first sample's time is the second delta, and so on.
    timeDeltas: [0, 1000, 2000, 4000, 8000, 16000],
  };
  const s = summarizeCpuProfile(profile);
  assert.equal(s.sampledMs, 31);
  assert.equal(s.idleMs, 8);
  assert.deepEqual(
    s.functions.map((f) => [f.name, f.ms]),
    [['(garbage collector)', 16], ['append wal.js:100', 4], ['writeBody json-transcode.js:10', 3]],
  );
  assert.deepEqual(
    s.areas.map((a) => [a.name, a.ms]),
    [['(garbage collector)', 16], ['wal', 4], ['sinks/http', 3]],
  );
  assert.equal(s.functions[0]?.share, 16 / 23, 'a share of the busy time: 31 ms sampled less 8 idle');
});

test('areas: own folders, dependencies, node internals', () => {
  assert.equal(areaOf(frame('f', 'file:///w/src/model/log-group.ts')), 'model');
  assert.equal(areaOf(frame('f', 'file:///w/node_modules/classic-level/index.js')), 'classic-level');
  assert.equal(areaOf(frame('f', 'file:///w/node_modules/@node-rs/crc32/index.js')), '@node-rs/crc32');
  assert.equal(areaOf(frame('emit', 'node:events')), 'node internals');
  assert.equal(areaOf(frame('(program)')), '(program)');
});

test('a real profile of node --cpu-prof names the function that burned the time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'walship-cpuprof-'));
  try {
    const script = join(dir, 'busy.mjs');
    writeFileSync(
      script,
      'function spinForAWhile() { let x = 0; const end = Date.now() + 300; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }\nspinForAWhile();\n',
    );
    execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, script]);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    assert.ok(file, 'node wrote a profile');
    const s = summarizeCpuProfile(readCpuProfile(join(dir, file)));
    assert.match(s.functions[0]?.name ?? '', /^spinForAWhile busy\.mjs:1$/);
    assert.ok((s.functions[0]?.ms ?? 0) > 150, `spinForAWhile had ${s.functions[0]?.ms} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
