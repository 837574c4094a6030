/**
 * The pino transport with a real pino logger in a child process (P1–P4): logs are delivered
 * with their fields flattened; and after a SIGKILL mid-stream, every line the transport had
 * made durable (the child's `logger.flush` callback said so) is delivered by a flusher
 * restarted on the same WAL directory.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createFlusher } from '../../src/flusher/index.ts';
import walshipPinoTransport, { pinoLineToLog } from '../../src/pino/index.ts';
import { startReceiver } from '../../src/receiver/index.ts';
import { mulberry32, randomInt, testSeed } from '../helpers/prng.ts';
import { tempDir } from '../helpers/tmpdir.ts';

const CHILD = fileURLToPath(new URL('./pino-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const quiet = pino({ level: 'silent' });

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly lines: string[];
  readonly stderr: string;
}

/** Runs the child; with `killAfterFlushes`, SIGKILLs it that many `F` lines plus `extraMs` in. */
function runChild(args: readonly string[], kill?: { afterFlushes: number; extraMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    let armed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child did not finish in time; stderr ${stderr}`));
    }, 45_000);
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-8000);
    });
    child.stdout.on('data', (c: Buffer) => {
      partial += c.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      if (kill !== undefined && !armed && lines.filter((l) => l.startsWith('F ')).length >= kill.afterFlushes) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), kill.extraMs);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines, stderr });
    });
  });
}

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('walship/pino', () => {
  it('turns a pino JSON line into a Log: time, level, msg, and the rest flattened as strings', () => {
    const log = pinoLineToLog('{"level":30,"time":1700000000123,"pid":7,"msg":"hi","req":{"method":"GET","h":{"a":1}},"tags":["x"],"none":null}');
    assert.equal(log.time, 1_700_000_000);
    assert.equal(log.timeNs, 123_000_000);
    assert.deepEqual(
      log.contents.map((c) => [c.key, c.value]),
      [
        ['level', '30'],
        ['time', '1700000000123'],
        ['pid', '7'],
        ['msg', 'hi'],
        ['req.method', 'GET'],
        ['req.h.a', '1'],
        ['tags', '["x"]'],
        ['none', 'null'],
      ],
    );
    assert.deepEqual(pinoLineToLog('not json', 5000).contents, [{ key: 'msg', value: 'not json' }]);
  });

  it('P4: a program logging through the transport has every line delivered when it exits normally', async (t) => {
    const receiver = await startReceiver({ logger: quiet });
    t.after(() => receiver.close());
    const dir = join(tempDir('walship-pino'), 'wal');
    const run = await runChild([dir, receiver.url, 'exit', '1000']);
    assert.equal(run.code, 0, run.stderr);
    const logs = receiver.logs();
    const ns = logs.map((l) => Number(l.contents.n)).sort((a, b) => a - b);
    assert.deepEqual(ns, Array.from({ length: 1000 }, (_, i) => i + 1), 'each line once');
    const first = logs.find((l) => l.contents.n === '1');
    assert.equal(first?.contents.msg, 'line 1');
    assert.equal(first?.contents.level, '30');
    assert.equal(first?.contents['req.method'], 'GET');
    assert.equal(first?.contents['req.url'], '/item/1');
    assert.equal(first?.logstore, 'app');
    // Closing delivered everything: a flusher on the same dir finds nothing pending.
    const after = await createFlusher({ dir, sink: { type: 'http', url: receiver.url, encoding: 'ndjson', probe: false }, logger: quiet });
    const stats = await after.stats();
    await after.stop();
    assert.equal(stats?.wal.pendingRecords, 0);
  });

  it('P1: after a SIGKILL mid-stream, every line the transport made durable is delivered by a restarted flusher', async (t) => {
    const seed = testSeed();
    t.diagnostic(`seed ${seed} (WALSHIP_TEST_SEED=${seed} replays the kill delay)`);
    const rand = mulberry32(seed);
    const receiver = await startReceiver({ logger: quiet, latencyMs: [0, 20] });
    t.after(() => receiver.close());
    const dir = join(tempDir('walship-pino'), 'wal');
    const extraMs = randomInt(rand, 0, 10);
    const run = await runChild([dir, receiver.url, 'stream'], { afterFlushes: 20, extraMs });
    assert.equal(run.signal, 'SIGKILL', `the child was killed (exit ${run.code}; ${run.stderr})`);
    const flushed = run.lines.filter((l) => l.startsWith('F ')).map((l) => Number(l.slice(2)));
    const durable = Math.max(...flushed);
    assert.ok(durable >= 1000, `at least 20 flushes acknowledged (got ${durable} lines)`);
    const before = receiver.logs().length;

    const flusher = await createFlusher({
      dir,
      sink: { type: 'http', url: receiver.url, encoding: 'ndjson', probe: false },
      delivery: { retryMinDelayMs: 5, retryMaxDelayMs: 50 },
      logger: quiet,
    });
    t.after(() => flusher.stop());
    const have = () => new Set(receiver.logs().map((l) => Number(l.contents.n)));
    await until(() => {
      const h = have();
      for (let n = 1; n <= durable; n++) if (!h.has(n)) return false;
      return true;
    }, `lines 1..${durable} delivered`);
    await until(async () => ((await flusher.stats())?.wal.pendingRecords ?? 1) === 0, 'the WAL drained');
    // The receiver deduplicates retries by idempotency key: a line still counted twice would
    // have been appended twice.
    const counts = new Map<number, number>();
    for (const l of receiver.logs()) counts.set(Number(l.contents.n), (counts.get(Number(l.contents.n)) ?? 0) + 1);
    const twice = [...counts].filter(([, c]) => c > 1);
    assert.deepEqual(twice, [], 'no line delivered twice');
    t.diagnostic(`durable (flush acknowledged) ${durable}; delivered before the kill ${before}; after the restart ${receiver.logs().length} (lines past the last flush may or may not survive: P2)`);
  });

  it('a line over maxLineBytes has its longest value cut (counted), and neither it nor the lines after it are lost', async (t) => {
    const receiver = await startReceiver({ logger: quiet });
    t.after(() => receiver.close());
    const stream = await walshipPinoTransport({
      dir: join(tempDir(), 'wal'),
      sink: { type: 'http', url: receiver.url, encoding: 'ndjson', probe: false },
      stopTimeoutMs: 5000,
    });
    const errors: Error[] = [];
    stream.on('error', (e: Error) => errors.push(e));
    const line = (n: number, msg: string) => `${JSON.stringify({ level: 30, time: 1_700_000_000_000, n, msg })}\n`;
    stream.write(line(1, 'before'));
    // A request body logged whole: 3.5 MiB, over the 3 MiB LogGroup cap.
    stream.write(line(2, `é${'x'.repeat(3.5 * 1024 * 1024)}`));
    stream.write(line(3, 'after'));
    await new Promise<void>((resolve, reject) => stream.flush((err) => (err ? reject(err) : resolve())));
    assert.equal(stream.destroyed, false);
    assert.equal(stream.linesCut, 1);
    await new Promise<void>((resolve) => stream.end(resolve));
    assert.deepEqual(errors, []);
    const byN = new Map(receiver.logs().map((l) => [Number(l.contents.n), l.contents]));
    assert.deepEqual([...byN.keys()].sort(), [1, 2, 3]);
    const cut = byN.get(2) as Record<string, string>;
    assert.equal(cut.level, '30', 'the short fields stay');
    assert.ok(cut.msg?.startsWith('éxxx'));
    const bytes = Object.entries(cut).reduce((a, [k, v]) => a + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    assert.ok(bytes <= 512 * 1024 && bytes > 500 * 1024, `${bytes} bytes after the cut`);
  });

  it('refuses a maxLineBytes over the cap with WALSHIP_INVALID_OPTIONS', async () => {
    await assert.rejects(walshipPinoTransport({ dir: tempDir(), sink: { type: 'stdout' }, maxLineBytes: 4 * 1024 * 1024 }), {
      code: 'WALSHIP_INVALID_OPTIONS',
      message: /maxLineBytes/,
    });
  });

  describe('lines whose fields exceed maxLineBytes in other ways (a review of the cut)', () => {
    async function ship(bad: string): Promise<{ logs: number; linesCut: number; destroyed: boolean }> {
      const root = tempDir();
      const stream = await walshipPinoTransport({ dir: join(root, 'wal'), sink: { type: 'file', path: join(root, 'out.ndjson') }, stopTimeoutMs: 500 });
      const errors: Error[] = [];
      stream.on('error', (e: Error) => errors.push(e));
      const line = (n: number, msg: string) => `${JSON.stringify({ level: 30, time: 1_700_000_000_000, n, msg })}\n`;
      stream.write(line(1, 'before'));
      stream.write(bad);
      stream.write(line(3, 'after'));
      await new Promise<void>((resolve, reject) => stream.flush((err) => (err ? reject(err) : resolve())));
      const result = { logs: stream.logs, linesCut: stream.linesCut, destroyed: stream.destroyed };
      await new Promise<void>((resolve) => stream.end(resolve));
      assert.deepEqual(errors, []);
      return result;
    }

    it('a short line whose nested fields repeat a long key prefix (flattening makes 3.6 MB of fields)', async () => {
      const inner: Record<string, number> = {};
      for (let i = 0; i < 60; i++) inner[`a${i}`] = 1;
      assert.deepEqual(await ship(`${JSON.stringify({ level: 30, n: 2, ['P'.repeat(60_000)]: inner })}\n`), { logs: 3, linesCut: 1, destroyed: false });
    });

    it('a key alone longer than maxLineBytes: the line is kept as its cut text', async () => {
      assert.deepEqual(await ship(`${JSON.stringify({ level: 30, n: 2, ['K'.repeat(3.5 * 1024 * 1024)]: 1 })}\n`), { logs: 3, linesCut: 1, destroyed: false });
    });
  });

  it('cutLog: any log comes out within the budget as the LogGroup cap counts it', async () => {
    const { cutLog } = await import('../../src/pino/pino-log.ts');
    const { estimateLogSize } = await import('../../src/model/size.ts');
    const rnd = mulberry32(testSeed());
    const pieces = ['a', 'é', '€', '😀', 'key', 'x'.repeat(50)];
    const text = (n: number) => Array.from({ length: n }, () => pieces[randomInt(rnd, 0, pieces.length - 1)]).join('');
    for (let i = 0; i < 300; i++) {
      const budget = randomInt(rnd, 16, 4000);
      const fields = randomInt(rnd, 0, 40);
      const log = { time: 1, contents: Array.from({ length: fields }, () => ({ key: text(randomInt(rnd, 0, 30)), value: text(randomInt(rnd, 0, 200)) })) };
      const out = cutLog(log, budget, text(randomInt(rnd, 0, 500))) ?? log;
      assert.ok(estimateLogSize(out) <= budget, `case ${i}: ${estimateLogSize(out)} > ${budget}`);
      for (const c of out.contents) assert.ok(!c.value.includes('\ufffd') && !c.key.includes('\ufffd'), 'cut at a character boundary');
    }
  });
});
