#!/usr/bin/env node
// Runs every test suite through node's own test runner (TAP output kept), one suite at a
// time, prints each suite's duration, and closes with the combined `# pass N` / `# fail N`.
//
//   node scripts/run-tests.mjs            all suites (what `npm test` and .ci/run run)
//   node scripts/run-tests.mjs wal model  only the suites whose name contains a word given
//   node scripts/run-tests.mjs --soak     the long forms (WALSHIP_SOAK=1)
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const soak = args.includes('--soak');
const filters = args.filter((a) => !a.startsWith('--'));

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures') out.push(...findTests(p));
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// A suite is a folder of test/ (test/wal, test/model, ...) or property-tests/.
const suites = new Map();
for (const file of [...findTests(join(root, 'test')), ...findTests(join(root, 'property-tests'))]) {
  const rel = relative(root, file);
  const parts = rel.split('/');
  const name = parts[0] === 'test' && parts.length > 2 ? parts[1] : parts[0];
  if (!suites.has(name)) suites.set(name, []);
  suites.get(name).push(file);
}

const totals = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
const durations = [];

/**
 * Suites run two at a time (`--jobs=N` or WALSHIP_TEST_JOBS; 1 = one after the other): most
 * of the time goes to child processes starting and to waits, so two share the 2 cores well.
 * The longest start first. Each suite's TAP output is printed whole when it ends (never
 * interleaved), followed by its duration.
 */
const jobsFlag = args.find((a) => a.startsWith('--jobs='));
const jobs = Math.max(1, Number(jobsFlag?.slice('--jobs='.length) ?? process.env.WALSHIP_TEST_JOBS ?? 2) || 1);
const LONGEST_FIRST = ['cli', 'crashtest', 'delivery', 'property-tests', 'sinks-nats', 'conformance', 'wal', 'inputs', 'pino'];
const rank = (name) => {
  const i = LONGEST_FIRST.indexOf(name);
  return i < 0 ? LONGEST_FIRST.length : i;
};
const queue = [...suites]
  .filter(([name]) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort((a, b) => rank(a[0]) - rank(b[0]));

/**
 * A suite that has not ended after this long is killed (its whole process group) and fails,
 * named: a handle a failing test leaked must not hang the run. (Not `--test-force-exit`: with
 * a test file in its own process, node drops the verdicts of the file's last tests when it
 * forces the exit, reporting fewer tests at exit 0, failures included: nodejs/node#64833. It
 * did here: 11 of the model suite's 94 tests went missing from one CI run.)
 */
const SUITE_TIMEOUT_MS = (() => {
  const raw = process.env.WALSHIP_SUITE_TIMEOUT_MS;
  if (raw === undefined) return (soak ? 60 : 10) * 60_000;
  const ms = Number(raw);
  if (!/^\d+$/.test(raw) || ms < 1 || ms > 2 ** 31 - 1) {
    console.error(`WALSHIP_SUITE_TIMEOUT_MS: expected a whole number of milliseconds from 1 to ${2 ** 31 - 1}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return ms;
})();

/**
 * Suites running now. Each is its own process group, out of reach of the terminal's signals:
 * passed on here (SIGTERM, then SIGKILL 3 s later); if the runner dies without passing them
 * on, scripts/suite-guard.mjs ends the group.
 */
const running = new Set();
function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    for (const child of running) killGroup(child, 'SIGTERM');
    setTimeout(() => {
      for (const child of running) killGroup(child, 'SIGKILL');
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    }, 3000);
  });
}

function runSuite(name, files) {
  const started = performance.now();
  return new Promise((resolve) => {
    const guard = join(root, 'scripts/suite-guard.mjs');
    const child = spawn(process.execPath, [guard, '--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', ...files], {
      cwd: root,
      // stdin: the guard's lifeline (never written to).
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...(soak ? { WALSHIP_SOAK: '1' } : {}) },
      // Its own process group, so that a timeout kills the test files' processes too.
      detached: true,
    });
    running.add(child);
    let timedOut = false;
    const watchdog = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, SUITE_TIMEOUT_MS);
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    child.on('close', (exitCode) => {
      running.delete(child);
      clearTimeout(watchdog);
      const text = Buffer.concat(out).toString();
      process.stdout.write(text);
      process.stderr.write(Buffer.concat(err));
      // The runner's own summary closes its output: take the last match of each line.
      for (const key of Object.keys(totals)) {
        const all = [...text.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
        const last = all[all.length - 1];
        if (last) totals[key] += Number(last[1]);
      }
      const seconds = (performance.now() - started) / 1000;
      const code = timedOut ? 1 : (exitCode ?? 1);
      durations.push({ name, seconds, code });
      if (timedOut) console.log(`# suite ${name}: TIMED OUT after ${SUITE_TIMEOUT_MS / 1000} s (killed; a test hung or leaked a handle)`);
      console.log(`# suite ${name}: ${seconds.toFixed(1)} s, exit ${code}`);
      resolve();
    });
  });
}

const wallStarted = performance.now();
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await runSuite(...next);
  }),
);

console.log(`# ── suites (${jobs} at a time; ${((performance.now() - wallStarted) / 1000).toFixed(1)} s in all) ──`);
for (const d of durations) console.log(`#   ${d.name.padEnd(16)} ${d.seconds.toFixed(1).padStart(7)} s  ${d.code === 0 ? 'ok' : 'FAILED'}`);
const failedSuites = durations.filter((d) => d.code !== 0).length;
for (const [key, value] of Object.entries(totals)) console.log(`# ${key} ${value}`);
console.log(`${totals.pass} passed, ${totals.fail} failed`);
process.exit(failedSuites > 0 || totals.fail > 0 || totals.tests === 0 ? 1 : 0);
