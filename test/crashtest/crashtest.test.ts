/**
 * `walship crashtest` end to end, as a user runs it: the CLI as a child process, which runs
 * `walship run` as its own children and SIGKILLs them. The short kill loop (20 kills, 20 000
 * lines) must lose nothing; each scenario runs in a short form; the soak (1000 kills) runs
 * only with WALSHIP_SOAK=1 (`npm run soak`).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCrashtest } from '../../src/crashtest/crashtest.ts';
import { cli } from '../cli/cli-process.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { skipOrFail } from '../helpers/servers/binary.ts';

const SOAK = process.env.WALSHIP_SOAK === '1';

interface Report {
  seed: number;
  records: number;
  kills: number;
  lives: number;
  lost: number;
  lostSample: number[];
  duplicatesBeforeDedup: number;
  duplicatesAfterDedup: number;
  worstRestartToFirstDeliveryMs: number | null;
  killedIn: Record<string, number>;
  wal: { consistent: boolean; pendingRecords: number; quarantineRecords: number };
  passed: boolean;
  lifeReports: Array<{ kind: string; phase: string }>;
  scenarios: Array<{ name: string; passed: boolean; skipped?: string; lost: number; checks: Array<{ what: string; ok: boolean; detail?: string }>; details: Record<string, unknown> }>;
}

async function crashtest(args: string[], timeoutMs: number): Promise<{ code: number | null; report: Report; stderr: string }> {
  const cwd = tempDir('walship-crashtest-cli');
  const r = await cli(['crashtest', '--json', '--dir', join(cwd, 'work'), ...args], { cwd, timeoutMs });
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    assert.fail(`no JSON report (exit ${r.code}): ${r.stdout.slice(0, 500)}\n${r.stderr.slice(-2000)}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

function failedChecks(s: Report['scenarios'][number]): string {
  return JSON.stringify(s.checks.filter((c) => !c.ok));
}

describe('walship crashtest', () => {
  it('a short crash test (20 kills of walship run, 20 000 lines, faults on) loses nothing and reports every figure (W3, D2)', { timeout: 120_000 }, async (t) => {
    const started = performance.now();
    const { code, report, stderr } = await crashtest(['--records', '20000', '--kills', '20', '--seed', '1'], 110_000);
    t.diagnostic(`kill loop: ${((performance.now() - started) / 1000).toFixed(1)} s; lost ${report.lost}, duplicates ${report.duplicatesBeforeDedup}/${report.duplicatesAfterDedup}, worst restart→delivery ${report.worstRestartToFirstDeliveryMs} ms, killed in ${JSON.stringify(report.killedIn)}`);
    assert.equal(report.lost, 0, `lost ${report.lost}: ${report.lostSample.join(', ')}\n${stderr.slice(-1500)}`);
    assert.equal(code, 0);
    assert.equal(report.passed, true);
    assert.equal(report.seed, 1);
    assert.equal(report.records, 20_000);
    assert.equal(report.kills, 20);
    assert.equal(report.lives, 21);
    assert.equal(report.lifeReports.filter((l) => l.kind !== 'final').length, 20);
    assert.equal(typeof report.duplicatesBeforeDedup, 'number');
    assert.ok(report.duplicatesAfterDedup <= report.duplicatesBeforeDedup, 'deduplication only removes');
    assert.ok(typeof report.worstRestartToFirstDeliveryMs === 'number' && report.worstRestartToFirstDeliveryMs > 0);
    assert.ok(report.killedIn.running !== undefined && report.killedIn.running > 0, 'some lives were killed while running');
    assert.deepEqual(report.wal, { consistent: true, pendingRecords: 0, quarantineRecords: 0, deadLetterRecords: 0 });
  });

  it('the harness notices loss: when walship never delivers, it reports every line lost and does not pass', { timeout: 30_000 }, async () => {
    const dir = tempDir('walship-crashtest-fake');
    // A "walship" that accepts `run --config …` and exits without shipping anything.
    const fake = join(dir, 'fake-walship.mjs');
    writeFileSync(fake, 'process.exit(0);\n');
    const report = await runCrashtest({ records: 500, kills: 1, seed: 7, dir: join(dir, 'work'), command: [process.execPath, fake], timeoutMs: 5000 });
    assert.equal(report.lost, 500);
    assert.equal(report.passed, false);
    assert.deepEqual(report.lostSample, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('bad flags exit 2 without running anything', { timeout: 30_000 }, async () => {
    const cwd = tempDir('walship-crashtest-flags');
    for (const args of [['--fail-rate', '2'], ['--kills', '-1'], ['--records', '0'], ['--no-such-flag']]) {
      const r = await cli(['crashtest', ...args], { cwd });
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
    }
  });

  for (const name of ['quota-full', 'disk-full', 'corruption', 'second-process', 'fan-out'] as const) {
    const what = {
      'quota-full': 'quota full: with the receiver down the WAL fills, the input pauses, nothing is dropped, and it resumes (W6)',
      'disk-full': 'real disk full (8 MiB tmpfs): WALSHIP_DISK_FULL is logged, walship keeps running, and once space returns everything is delivered with no damage',
      corruption: 'corruption: after bytes flipped in a WAL table file, walship (repaired as a user would) delivers everything not lost to the damage and names what was lost and why (W5, W8)',
      'second-process': 'a second walship run on the same WAL exits with WALSHIP_LOCKED and the first delivers everything (W7)',
      'fan-out': 'fan-out: three flushers (fast, 30% 503s, slow at its WAL quota), walship run killed 8 times; every destination gets every line',
    }[name];
    it(`scenario ${what}`, { timeout: 90_000 }, async (t) => {
      const started = performance.now();
      const { code, report } = await crashtest(['--records', '3000', '--kills', '0', '--seed', '5', `--${name}`], 85_000);
      const s = report.scenarios.find((x) => x.name === name);
      assert.ok(s !== undefined, JSON.stringify(report.scenarios));
      t.diagnostic(`${name}: ${((performance.now() - started) / 1000).toFixed(1)} s; ${s.skipped === undefined ? `${s.passed ? 'passed' : 'FAILED'}, lost ${s.lost}` : `skipped: ${s.skipped}`}`);
      if (s.skipped !== undefined) {
        skipOrFail(t, s.skipped);
        return;
      }
      assert.equal(s.passed, true, failedChecks(s));
      assert.equal(code, 0);
      if (name === 'corruption') {
        const q = s.details.lostToQuarantine as { lines: number };
        const d = s.details.lostToRepair as { lines: number; reason: string };
        assert.equal(s.lost, q.lines + d.lines, 'every lost line is accounted to the quarantine or the repair');
        if (d.lines > 0) assert.match(d.reason, /repair/);
        assert.ok(s.lost < 3000 / 4, `most lines survive one damaged spot: lost ${s.lost}`);
      } else {
        assert.equal(s.lost, 0);
      }
    });
  }

  it('soak: 1000 kills lose nothing (WALSHIP_SOAK=1)', { skip: SOAK ? false : 'set WALSHIP_SOAK=1 (npm run soak)', timeout: 4 * 60 * 60 * 1000 }, async (t) => {
    const started = performance.now();
    const { code, report, stderr } = await crashtest(['--records', '200000', '--kills', '1000', '--seed', '1000', '--timeout', '600000', '--quiet'], 4 * 60 * 60 * 1000);
    t.diagnostic(`soak: ${((performance.now() - started) / 1000).toFixed(0)} s; ${report.kills} kills, lost ${report.lost}, duplicates ${report.duplicatesBeforeDedup}/${report.duplicatesAfterDedup}, worst restart→delivery ${report.worstRestartToFirstDeliveryMs} ms`);
    assert.equal(report.lost, 0, stderr.slice(-2000));
    assert.equal(report.kills, 1000);
    assert.equal(code, 0);
  });
});
