import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WALSHIP_NODE_FLAGS } from '../../src/cli/node-flags.ts';
import { tempDir } from '../helpers/tmpdir.ts';

const root = join(import.meta.dirname, '..', '..');
const firstLine = (path: string) => readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';

describe('the Node flags walship runs with', () => {
  it('are the `walship` command\'s first line and part of `npm start`', () => {
    assert.equal(firstLine(join(root, 'src/cli/main.ts')), `#!/usr/bin/env -S node ${WALSHIP_NODE_FLAGS.join(' ')}`);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    assert.equal(pkg.bin.walship, './dist/cli/main.js', 'the bin is the build of src/cli/main.ts (tsc keeps its first line)');
    assert.ok(pkg.scripts.start?.startsWith(`node ${WALSHIP_NODE_FLAGS.join(' ')} `), pkg.scripts.start);
  });

  it('reach node when a script with that first line is run as a command', () => {
    const script = join(tempDir(), 'walship-like');
    // Short-lived garbage until the young generation has grown to its limit (32 MiB by default).
    const probe = "let keep = []; for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) keep = []; } const v8 = require('node:v8'); const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); console.log(JSON.stringify({ execArgv: process.execArgv, newSpace: s.space_size }));";
    writeFileSync(script, `${firstLine(join(root, 'src/cli/main.ts'))}\n${probe}\n`);
    chmodSync(script, 0o755);
    // The flag reached node and V8 took it: new space within 2 × 1 MiB and a little.
    const out = JSON.parse(execFileSync(script, { encoding: 'utf8' })) as { execArgv: string[]; newSpace: number };
    assert.deepEqual(out.execArgv, [...WALSHIP_NODE_FLAGS]);
    assert.ok(out.newSpace <= 4 * 1024 * 1024, `new space of ${out.newSpace} bytes`);
  });
});
