/**
 * `walship/pino` is built JavaScript: package.json's `exports["./pino"]` names a file that
 * `npm run build` (tsc -p tsconfig.build.json) emits, and that file works as a pino transport
 * in a plain JavaScript program with no TypeScript loader. The build goes to a temporary
 * directory under `.tmp/` (git-ignored, inside the package so that the built files resolve
 * its node_modules) standing in for `dist/`, so the shared `dist/` is left alone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { startReceiver } from '../../src/receiver/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

describe('walship/pino (built)', () => {
  it('the build emits the file exports["./pino"] names, and it delivers from a plain JS program', async (t) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string; types: string }> };
    const entry = pkg.exports['./pino'];
    assert.ok(entry, 'package.json exports "./pino"');
    assert.match(entry.default, /^\.\/dist\/.+\.js$/);
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    const out = mkdtempSync(join(ROOT, '.tmp', 'pino-build-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT });
    const built = join(out, entry.default.slice('./dist/'.length));
    const types = join(out, entry.types.slice('./dist/'.length));
    assert.ok(readFileSync(types, 'utf8').includes('export default'), 'the types are emitted');

    const receiver = await startReceiver({ logger: pino({ level: 'silent' }) });
    t.after(() => receiver.close());
    const program = join(out, 'program.cjs');
    writeFileSync(
      program,
      `const pino = require(${JSON.stringify(join(ROOT, 'node_modules/pino'))});
const logger = pino(pino.transport({ target: ${JSON.stringify(built)}, options: {
  dir: ${JSON.stringify(join(out, 'wal'))}, sink: { type: 'http', url: ${JSON.stringify(receiver.url)}, encoding: 'ndjson', probe: false } } }));
for (let n = 1; n <= 20; n++) logger.info({ n }, 'built');
`,
    );
    // No --import tsx: the built transport must load as plain JavaScript.
    await run(process.execPath, [program], { cwd: ROOT, timeout: 30_000 });
    assert.deepEqual(
      receiver.logs().map((l) => Number(l.contents.n)).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });
});
