import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ProgressPrinter, progressLine, summaryTable } from '../../src/cli/demo-report.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { cli, type CliResult, startCli, waitFor } from './cli-process.ts';

/** Lines in data/sample/nginx-access.txt + data/sample/app.jsonl. */
const SAMPLE_LOGS = 800;
const PROGRESS = /^ {2}\[[█░]+\] +(\d+)\/(\d+) logs acked +\d+%  [\d,]+ logs\/s  retries \d+  \d+\.\ds$/;

/** The summary table's rows: name → number. */
function summary(stdout: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^ {2}([a-z][a-z -]*?) +([\d,]+) (logs|groups|requests) /.exec(line);
    if (m !== null) rows.set(m[1] as string, Number((m[2] as string).replaceAll(',', '')));
  }
  return rows;
}

function progressLines(stdout: string): Array<[number, number]> {
  return stdout
    .split('\n')
    .map((l) => PROGRESS.exec(l))
    .filter((m) => m !== null)
    .map((m) => [Number(m[1]), Number(m[2])]);
}

function assertFinished(run: CliResult): Map<string, number> {
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const rows = summary(run.stdout);
  assert.equal(rows.get('lost'), 0, run.stdout);
  assert.equal(rows.get('dead-lettered'), 0, run.stdout);
  assert.ok(!rows.has('pending'), run.stdout);
  return rows;
}

/** Starts the demo and SIGKILLs/SIGINTs it once its progress shows some logs acked, well before the end. */
async function interrupt(cwd: string, signal: NodeJS.Signals): Promise<CliResult> {
  const child = startCli(['demo'], { cwd });
  await waitFor('a progress line between 0 and 100%', () => {
    const partial = progressLines(child.out.stdout).some(([acked, total]) => acked > 0 && acked < total * 0.75);
    return partial ? true : undefined;
  }, 30_000).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  child.kill(signal);
  return child.exited;
}

describe('walship demo (npm start)', () => {
  it('ships every sample log through input_file, the WAL and flusher_http to the flaky receiver, shows progress, and reports read = acked and lost 0 (M1, M2)', async () => {
    const cwd = tempDir();
    const run = await cli(['demo'], { cwd, timeoutMs: 60_000 });
    const rows = assertFinished(run);
    assert.equal(rows.get('read'), SAMPLE_LOGS, run.stdout);
    assert.equal(rows.get('acked'), SAMPLE_LOGS, run.stdout);
    assert.ok((rows.get('appended') ?? 0) >= SAMPLE_LOGS / 10, run.stdout);
    // The receiver fails 20% of requests: the demo must have met (and survived) failures.
    assert.ok((rows.get('retried') ?? 0) > 0, run.stdout);
    // Not a TTY: plain progress lines, first and last included, no carriage returns or escapes.
    const progress = progressLines(run.stdout);
    assert.ok(progress.length >= 2, run.stdout);
    assert.deepEqual(progress.at(-1), [SAMPLE_LOGS, SAMPLE_LOGS]);
    assert.doesNotMatch(run.stdout, /[\r\u001b]/);
    assert.equal(run.stderr, '', 'nothing on stderr at the default log level');
    // The WAL lives in ./data/wal/demo, beside what the receiver stored.
    assert.ok(existsSync(join(cwd, 'data', 'wal', 'demo', 'http')));
    assert.equal(readFileSync(join(cwd, 'data', 'wal', 'demo', 'received.ndjson'), 'utf8').trim().split('\n').length, SAMPLE_LOGS);

    // A finished demo run again starts afresh (M3): everything is read and shipped again.
    const again = await cli(['demo'], { cwd, timeoutMs: 60_000 });
    const rows2 = assertFinished(again);
    assert.doesNotMatch(again.stdout, /resuming/);
    assert.equal(rows2.get('read'), SAMPLE_LOGS);
    assert.equal(rows2.get('acked'), SAMPLE_LOGS);
  });

  it('a demo killed with SIGKILL mid-run is resumed by the next run, which delivers the rest with lost 0 (M3, W3)', async () => {
    const cwd = tempDir();
    const killed = await interrupt(cwd, 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    const rerun = await cli(['demo'], { cwd, timeoutMs: 60_000 });
    const rows = assertFinished(rerun);
    assert.match(rerun.stdout, /resuming an interrupted demo \(run 2\): \d+ records left in the WAL are delivered now/);
    const before = rows.get('acked before') ?? 0;
    assert.ok(before > 0 && before < SAMPLE_LOGS, rerun.stdout);
    assert.ok(before + (rows.get('acked') ?? 0) >= SAMPLE_LOGS, rerun.stdout);
    // The rerun's progress counts on from where the killed run stopped (not from 0; the
    // WAL's leftovers may already be delivering when the first line is printed).
    const first = progressLines(rerun.stdout)[0]?.[0] ?? -1;
    assert.ok(first >= before && first <= SAMPLE_LOGS, `first progress ${first}, acked before ${before}\n${rerun.stdout}`);
  });

  it('Ctrl-C stops in order with exit 130 and says what is left; the next run delivers it (M4)', async () => {
    const cwd = tempDir();
    const stopped = await interrupt(cwd, 'SIGINT');
    assert.equal(stopped.code, 130, `${stopped.stdout}\n${stopped.stderr}`);
    const rows = summary(stopped.stdout);
    assert.ok(rows.has('pending') && rows.has('not delivered'), stopped.stdout);
    assert.ok(!rows.has('lost'), 'an interrupted run does not claim anything lost');
    assert.match(stopped.stdout, /Interrupted after [\d.]+s: \d+ records stay in the WAL .*Run the demo again/);
    // What the receiver holds and what is not delivered yet add up to the sample.
    assert.equal((rows.get('acked') ?? 0) + (rows.get('not delivered') ?? 0), SAMPLE_LOGS, stopped.stdout);
    const rerun = await cli(['demo'], { cwd, timeoutMs: 60_000 });
    assertFinished(rerun);
    assert.match(rerun.stdout, /resuming an interrupted demo/);
  });

  it('--wal-dir puts the demo elsewhere and --encoding sls ships SLS protobuf LogGroups', async () => {
    const cwd = tempDir();
    const walDir = join(tempDir(), 'elsewhere');
    const run = await cli(['demo', '--wal-dir', walDir, '--encoding', 'sls', '--seed', '7'], { cwd, timeoutMs: 60_000 });
    const rows = assertFinished(run);
    assert.equal(rows.get('acked'), SAMPLE_LOGS);
    assert.match(run.stdout, /flusher_http sls/);
    assert.match(run.stdout, /seed 7\)/);
    assert.ok(existsSync(join(walDir, 'http')));
    assert.ok(!existsSync(join(cwd, 'data')), 'nothing written to the working directory');
  });

  it('an unknown command exits with code 2 and names the available ones', async () => {
    const run = await cli(['frobnicate'], { cwd: tempDir() });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^walship: unknown command "frobnicate"; available: run, validate, receive, .*\bdemo\b/);
  });
});

describe('demo progress and summary rendering', () => {
  const at = (acked: number, elapsedMs: number) => ({ acked, total: 800, ackedThisRun: acked, retries: 3, elapsedMs });

  it('off a TTY, prints plain lines at each quarter and every 500 ms, never redrawing', () => {
    let text = '';
    const out = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
    const p = new ProgressPrinter(out, false);
    p.update(at(0, 0), false, 0); // 0%: printed
    p.update(at(10, 100), false, 100); // too soon, same quarter: skipped
    p.update(at(200, 200), false, 200); // 25% reached: printed
    p.update(at(210, 800), false, 800); // 500 ms later: printed
    p.update(at(210, 1400), false, 1400); // nothing new: skipped
    p.update(at(800, 1500), false, 1500); // 100%: printed
    p.update(at(800, 1600), true, 1600); // the last line, just printed: skipped
    p.done();
    assert.deepEqual(
      text.trimEnd().split('\n').map((l) => PROGRESS.exec(l)?.[1]),
      ['0', '200', '210', '800'],
    );
    assert.doesNotMatch(text, /[\r\u001b]/);
  });

  it('on a TTY, redraws one line with \\r, padding over a longer previous line, and ends it with a newline', () => {
    let text = '';
    const out = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
    const p = new ProgressPrinter(out, true);
    p.update({ ...at(5, 100), retries: 12345 }, false, 0);
    p.update(at(6, 150), false, 50); // within 100 ms: skipped
    p.update(at(800, 2000), true, 60);
    p.done();
    const frames = text.split('\r').slice(1);
    assert.equal(frames.length, 2);
    assert.ok(frames[1]!.length >= frames[0]!.length, 'the shorter line covers the longer one');
    assert.ok(text.endsWith('\n'));
    assert.doesNotMatch(text, /\u001b/);
    assert.match(progressLine(at(400, 2000)), /\[█{12}░{12}\] 400\/800 logs acked  50%  200 logs\/s  retries 3  2\.0s/);
  });

  it('the summary table aligns names, numbers and units', () => {
    const t = summaryTable([
      { name: 'read', value: 800, unit: 'logs', meaning: 'a' },
      { name: 'dead-lettered', value: 0, unit: 'groups', meaning: 'b' },
      { name: 'retried', value: 1234, unit: 'requests', meaning: 'c' },
    ]);
    assert.equal(
      t,
      ['  read             800 logs      a', '  dead-lettered      0 groups    b', '  retried        1,234 requests  c'].join('\n'),
    );
  });
});
