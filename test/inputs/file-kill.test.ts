/**
 * input_file across `kill -9` (I1, I3): this process writes numbered lines to app.log and
 * rotates it by rename twice, while a child process (./file-child.ts) tails it into a WAL.
 * The child is SIGKILLed at random moments (a seeded PRNG; WALSHIP_TEST_SEED replays) and
 * restarted each time, lines and rotations keep coming while it is down, and a last run goes
 * until the end line is durable. Then the WAL is read back: every line written is in it
 * exactly once: no loss and no re-read, because each append carries the checkpoint of the
 * lines it holds, in the same LevelDB batch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startReceiver } from '../../src/receiver/index.ts';
import { mulberry32, randomInt, testSeed } from '../helpers/prng.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { exactlyOnce, quiet, readWal } from './harness.ts';

const SOAK = Boolean(process.env.WALSHIP_SOAK);
const KILLS = SOAK ? 30 : 5;
const TOTAL = SOAK ? 20_000 : 4_000;
const ROTATE_AT = [Math.floor(TOTAL / 3), Math.floor((2 * TOTAL) / 3)];
const BATCH = 20;
const BATCH_PAUSE_MS = 30;
const END = 'END-OF-TEST';
const CHILD = fileURLToPath(new URL('./file-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  readonly lines: string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

function runChild(args: readonly string[], killAfterMs: number | undefined, timeoutMs: number, onReady?: () => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child ran longer than ${timeoutMs} ms; last lines ${lines.slice(-3).join(' | ')}; stderr ${stderr}`));
    }, timeoutMs);
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-8000);
    });
    child.stdout.on('data', (c: Buffer) => {
      partial += c.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line === 'R') onReady?.();
        if (line === 'R' && killAfterMs !== undefined) killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      resolve({ lines, code, signal, stderr });
    });
  });
}

describe('input_file across kill -9', () => {
  it('I1: after kills at random moments, with rotations while running and while down, every line is in the WAL exactly once', async (t) => {
    const seed = testSeed();
    t.diagnostic(`seed ${seed} (WALSHIP_TEST_SEED=${seed} replays the kill delays)`);
    const rand = mulberry32(seed);
    const root = tempDir('walship-fkill');
    const logs = join(root, 'logs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(logs);
    const file = join(logs, 'app.log');
    writeFileSync(file, '');
    // A receiver that refuses every request (503): the records stay in the WAL.
    const refusing = await startReceiver({ logger: quiet, failRate: 1 });
    t.after(() => refusing.close());
    const url = refusing.url;

    const written: string[] = [];
    let writing = true;
    // Writing starts once the first child has started: a file rotated away before the input
    // ever ran is not the input's to know about.
    let startWriting!: () => void;
    const firstReady = new Promise<void>((resolve) => {
      startWriting = resolve;
    });
    const writer = (async () => {
      await firstReady;
      let rotations = 0;
      for (let n = 1; n <= TOTAL; n += BATCH) {
        const batch: string[] = [];
        for (let i = n; i < n + BATCH && i <= TOTAL; i++) batch.push(`line-${i}-${'w'.repeat(40)}`);
        // Two writes that split a line: the reader often meets a partial last line.
        const text = batch.map((l) => `${l}\n`).join('');
        const cut = Math.floor(text.length / 2) + 3;
        appendFileSync(file, text.slice(0, cut));
        await new Promise((r) => setTimeout(r, BATCH_PAUSE_MS));
        appendFileSync(file, text.slice(cut));
        written.push(...batch);
        if (ROTATE_AT.some((r) => r >= n && r < n + BATCH)) {
          rotations++;
          renameSync(file, `${file}.${rotations}`);
          writeFileSync(file, '');
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      appendFileSync(file, `${END}\n`);
      written.push(END);
      writing = false;
    })();

    const args = [join(root, 'wal'), file, url, END];
    const timeline: string[] = [];
    for (let k = 1; k <= KILLS; k++) {
      const delay = randomInt(rand, 100, 900);
      const run = await runChild(args, delay, 30_000, startWriting);
      const appended = run.lines.filter((l) => l.startsWith('A ')).reduce((s, l) => s + Number(l.slice(2)), 0);
      timeline.push(`#${k} +${delay}ms ${run.signal ?? `exit ${run.code}`} appended ${appended}`);
      if (run.signal !== 'SIGKILL') {
        assert.equal(run.code, 0, `run ${k} failed: ${run.stderr}`);
        break;
      }
      // Down for a moment: lines (and maybe a rotation) arrive while nobody reads.
      await new Promise((r) => setTimeout(r, randomInt(rand, 0, 200)));
    }
    await writer;
    assert.equal(writing, false);
    // The writer is done: the last run stops once the end line is durable, or (when an
    // earlier run already made it durable) once nothing more came for a second.
    const final = await runChild([...args, '1000'], undefined, 60_000);
    assert.equal(final.code, 0, `the final run failed: ${final.stderr}`);
    assert.ok(final.lines.includes('D'), 'the final run finished');
    t.diagnostic(`runs: ${timeline.join('; ')}`);
    assert.ok(timeline.filter((l) => l.includes('SIGKILL')).length >= 3, `the child was killed mid-stream: ${timeline.join('; ')}`);

    const inWal = await readWal(join(root, 'wal'));
    const problem = exactlyOnce(
      inWal.map((r) => r.content),
      written,
    );
    assert.equal(problem, undefined, `WAL content vs lines written (${timeline.join('; ')})`);
    assert.equal(inWal.length, written.length);
  });
});
