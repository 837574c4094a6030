/**
 * input_stdin in a real child process reading a pipe: one log per line, multiline records,
 * cut lines counted, the last line shipped without its newline, and every line delivered
 * exactly once before the process exits (input.done resolves only when all is durable).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import { StdinInput } from '../../src/inputs/input-stdin.ts';
import { STDIN_STOP_APPEND_DEADLINE_MS } from '../../src/inputs/options.ts';
import { startReceiver } from '../../src/receiver/index.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { exactlyOnce, numbered, quiet, received } from './harness.ts';

const CHILD = fileURLToPath(new URL('./stdin-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the child, writes `chunks` to its stdin (pausing between them), closes it, waits for exit. */
function runWithStdin(args: readonly string[], chunks: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child did not finish; stderr ${stderr}`));
    }, 30_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    void (async () => {
      for (const c of chunks) {
        child.stdin.write(c);
        await new Promise((r) => setTimeout(r, 20));
      }
      child.stdin.end();
    })();
  });
}

describe('input_stdin', () => {
  it('ships one log per line of a pipe, the last one even without a newline, each exactly once', async (t) => {
    const receiver = await startReceiver({ logger: quiet });
    t.after(() => receiver.close());
    const want = numbered('stdin', 1, 5000);
    const text = want.join('\n');
    // Uneven chunks that split lines; no newline at the very end.
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 7919) chunks.push(text.slice(i, i + 7919));
    const run = await runWithStdin([join(tempDir('walship-stdin'), 'wal'), receiver.url], chunks);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^D 5000 0$/m);
    assert.equal(exactlyOnce(received(receiver), want), undefined);
  });

  it('joins multiline records and cuts (and counts) records longer than maxLineBytes', async (t) => {
    const receiver = await startReceiver({ logger: quiet });
    t.after(() => receiver.close());
    const config = JSON.stringify({ maxLineBytes: 40, multiline: { startPattern: 'ERR|INFO' } });
    const input = `INFO one\nERR two\n  at a\n  at b\nINFO ${'y'.repeat(60)}\nINFO last\n  tail`;
    const run = await runWithStdin([join(tempDir('walship-stdin'), 'wal'), receiver.url, config], [input]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^D 4 1$/m);
    assert.deepEqual(received(receiver), ['INFO one', 'ERR two\n  at a\n  at b', `INFO ${'y'.repeat(35)}`, 'INFO last\n  tail']);
  });

  it('stop gives up (logged, counted in logsLost) on lines a WAL that stays full keeps refusing, instead of hanging', async () => {
    const stdin = new PassThrough();
    let attempts = 0;
    const flusher = {
      isReady: () => true,
      appendDurable: async () => {
        attempts++;
        throw new WalshipError(ErrorCodes.DISK_FULL, 'no space left on device');
      },
      getCheckpoint: async () => undefined,
    };
    const input = new StdinInput({ type: 'input_stdin' }, { flusher, project: 'p', logstore: 'l', configName: 'c', logger: quiet, stdin });
    await input.start();
    stdin.write('line 1\nline 2\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const outcome = await Promise.race([
      input.stop().then(() => 'stopped'),
      new Promise((resolve) => setTimeout(resolve, STDIN_STOP_APPEND_DEADLINE_MS + 3000, 'still waiting')),
    ]);
    assert.equal(outcome, 'stopped');
    assert.ok(performance.now() - started >= STDIN_STOP_APPEND_DEADLINE_MS - 600, 'it retried until the deadline');
    assert.ok(attempts >= 2);
    assert.equal(input.stats().logsLost, 2);
    assert.equal(input.stats().logs, 0);
  });
});
