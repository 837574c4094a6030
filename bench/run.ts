/**
 * Benchmark dispatcher: `npm run bench -- wal` runs bench/wal.ts; with no name it runs every
 * benchmark in BENCHES, one after another, each in its own process (so one cannot warm or
 * slow the next). Flags (`--quick`, `--only=…`) are passed on to every benchmark.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every benchmark, by name: bench/<name>.ts. */
const BENCHES = ['wal', 'model', 'delivery', 'sinks', 'e2e'] as const;

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));

const unknown = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.map((n) => `'${n}'`).join(', ')}; expected one of: ${BENCHES.join(', ')}`);
  process.exit(2);
}

function runOne(name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`), ...flags], {
      cwd: join(here, '..'),
      stdio: 'inherit',
    });
    // Ctrl-C reaches the child through the terminal; SIGTERM to us is passed on.
    const onTerm = () => child.kill('SIGTERM');
    process.once('SIGTERM', onTerm);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}

let failed = 0;
for (const name of names.length > 0 ? names : BENCHES) {
  console.log(`\n=== bench: ${name} ${flags.join(' ')}`.trimEnd());
  const code = await runOne(name);
  if (code !== 0) {
    console.error(`bench ${name} exited with code ${code}`);
    failed++;
  }
}
process.exit(failed > 0 ? 1 : 0);
