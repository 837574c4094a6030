/**
 * Delivery across `kill -9` (W3, D1, D2): a child process (./kill-child.ts) appends numbered
 * records to a WAL (continuing from its checkpoint after each restart) and delivers them to a
 * receiver in this process, which fails some requests and delays all of them so that requests
 * are in flight when the child dies. The test SIGKILLs the child at random moments (a seeded
 * PRNG; the seed is printed, WALSHIP_TEST_SEED replays the kill delays), restarts it each
 * time, and finally lets it run to completion. Then:
 *
 * - the receiver has every record (seq 1..N) at least once (D1, W3);
 * - the duplicates before deduplication (re-deliveries of records whose ack died with the
 *   child) are counted and printed; after the receiver's deduplication by idempotency key
 *   there must be none: every re-delivery carried the key of the first delivery (D2);
 * - the WAL ends with nothing pending, nothing dead-lettered or quarantined, its checkpoint
 *   at N, consistent counters, and one walId through every run (W8: no rebuild after a kill).
 *
 * Two configurations: load balancing with batches of one record (record keys `<walId>-<seq>`),
 * and single mode with JSON batches of 8 (batch keys `<walId>-<first>-<last>`) over a trickle
 * of appends that delivery keeps up with, so that batches are cut short and a restart that
 * re-cuts them changes their keys. A deterministic form of the second, with `stop()` instead
 * of a kill, comes first.
 *
 * 11 kills per configuration by default; WALSHIP_SOAK=1 runs 100 with a larger backlog.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { DeliveryManager, SingleConnectionMode } from '../../src/delivery/index.ts';
import { type Receiver, startReceiver } from '../../src/receiver/index.ts';
import { createHttpClient } from '../../src/sinks/http/index.ts';
import { WriteAheadLog } from '../../src/wal/index.ts';
import { mulberry32, randomInt, testSeed } from '../helpers/prng.ts';
import { ReceiverTap } from '../helpers/receiver-tap.ts';
import { seqEntries, until } from '../helpers/seq-wal.ts';
import { tempDir } from '../helpers/tmpdir.ts';

const SOAK = Boolean(process.env.WALSHIP_SOAK);
const KILLS = SOAK ? 100 : 11;
const BACKLOG = SOAK ? 12_000 : 2_000;
const TRICKLE = SOAK ? 4_000 : 800;
const CHILD = fileURLToPath(new URL('./kill-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A child must print its first line within this (tsx start-up and WAL recovery). */
const CHILD_START_TIMEOUT_MS = 20_000;
/** The final, unkilled run must finish within this. */
const FINAL_RUN_TIMEOUT_MS = SOAK ? 180_000 : 60_000;
const quiet = pino({ level: 'silent' });

interface ChildRun {
  readonly lines: string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** ms from spawn to the `R` line. */
  readonly readyMs: number | undefined;
  /** POST requests the receiver was still handling when the kill was sent. */
  readonly inFlightAtKill: number;
  readonly killedAfterMs: number | undefined;
}

/**
 * Runs the child once. With `killAfterMs`, SIGKILLs it that long after its `R` line (the WAL
 * is open and delivery has started). Rejects if it does not start, or outlives `timeoutMs`.
 */
function runChild(
  args: readonly string[],
  options: { killAfterMs?: number; timeoutMs: number; tap: ReceiverTap },
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    let partial = '';
    let readyMs: number | undefined;
    let inFlightAtKill = 0;
    let killedAfterMs: number | undefined;
    const startTimer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child did not open its WAL within ${CHILD_START_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, CHILD_START_TIMEOUT_MS);
    const runTimer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child ran longer than ${options.timeoutMs} ms; last lines: ${lines.slice(-3).join(' | ')}; stderr: ${stderr}`));
    }, options.timeoutMs);
    let killTimer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8000);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line.startsWith('R ') && readyMs === undefined) {
          readyMs = performance.now() - started;
          clearTimeout(startTimer);
          if (options.killAfterMs !== undefined) {
            const delay = options.killAfterMs;
            killTimer = setTimeout(() => {
              inFlightAtKill = options.tap.posts().filter((p) => p.closedAt === undefined).length;
              killedAfterMs = delay;
              child.kill('SIGKILL');
            }, delay);
          }
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(startTimer);
      clearTimeout(runTimer);
      clearTimeout(killTimer);
      if (partial !== '') lines.push(partial);
      resolve({ lines, code, signal, stderr, readyMs, inFlightAtKill, killedAfterMs });
    });
  });
}

interface KillReport {
  readonly kills: number;
  readonly killsWithRequestsInFlight: number;
  readonly completedBeforeKill: number;
  readonly uniqueRecords: number;
  readonly duplicatesBeforeDedup: number;
  readonly duplicatesAfterDedup: number;
  readonly duplicateRequests: number;
  readonly seconds: number;
}

/**
 * Kills and restarts the child KILLS times on one WAL, lets it finish, and checks what the
 * receiver got and what the WAL holds.
 */
interface KillConfig {
  readonly mode: 'single' | 'loadbalance';
  readonly batchMaxRecords: number;
  readonly total: number;
  /** Records per append and the pause between appends (a backlog or a trickle). */
  readonly chunk: number;
  readonly pauseMs: number;
}

async function killAndRestart(t: TestContext, config: KillConfig): Promise<KillReport> {
  const { mode, batchMaxRecords, total: TOTAL } = config;
  const seed = testSeed();
  t.diagnostic(
    `seed ${seed} (WALSHIP_TEST_SEED=${seed} to replay the kill delays); ${KILLS} kills, ${TOTAL} records appended ${config.chunk} every ${config.pauseMs} ms, ${mode}, batches of ${batchMaxRecords}`,
  );
  console.log(`# kill test seed ${seed} (${mode}, batches of ${batchMaxRecords})`);
  const rand = mulberry32(seed);
  const started = performance.now();
  const dir = tempDir('walship-kill');
  let receiver: Receiver | undefined;
  try {
    receiver = await startReceiver({ logger: quiet, seed, failRate: 0.2, latencyMs: [5, 60], keepRequests: 100_000 });
    const tap = new ReceiverTap(receiver, 'receiver');
    const args = [dir, receiver.url, String(TOTAL), mode, String(batchMaxRecords), String(config.chunk), String(config.pauseMs)];
    const walIds = new Set<string>();
    let killsWithRequestsInFlight = 0;
    let completedBeforeKill = 0;
    const timeline: string[] = [];
    for (let k = 1; k <= KILLS; k++) {
      const killAfterMs = randomInt(rand, 0, 400);
      const run = await runChild(args, { killAfterMs, timeoutMs: CHILD_START_TIMEOUT_MS + 5000, tap });
      for (const line of run.lines) if (line.startsWith('R ')) walIds.add(line.split(' ')[1]!);
      if (run.signal !== 'SIGKILL') {
        assert.equal(run.code, 0, `run ${k} failed: ${run.stderr}`);
        completedBeforeKill++;
      }
      if (run.inFlightAtKill > 0) killsWithRequestsInFlight++;
      const ready = run.lines.find((l) => l.startsWith('R '))?.split(' ') ?? [];
      const lastA = [...run.lines].reverse().find((l) => l.startsWith('A '));
      timeline.push(`#${k} +${killAfterMs}ms pending@open=${ready[2]} appended=${lastA?.split(' ')[1] ?? ready[3]} inflight=${run.inFlightAtKill}`);
    }
    // The last run goes to the end, with lighter faults so that it does not take long.
    receiver.setFaults({ failRate: 0.05, latencyMs: [0, 5] });
    const final = await runChild(args, { timeoutMs: FINAL_RUN_TIMEOUT_MS, tap });
    assert.equal(final.code, 0, `the final run failed: ${final.stderr}`);
    assert.ok(final.lines.some((l) => l.startsWith('D ')), 'the final run finished its work');
    for (const line of final.lines) if (line.startsWith('R ')) walIds.add(line.split(' ')[1]!);
    t.diagnostic(`kills: ${timeline.join('; ')}`);

    // The WAL: nothing pending, nothing sidelined, the checkpoint at TOTAL, one walId.
    const wal = await WriteAheadLog.open({ dir, logger: quiet });
    let walId: string;
    try {
      walId = wal.walId;
      const stats = await wal.stats();
      assert.equal(stats.pendingRecords, 0, 'the WAL ends with nothing pending');
      assert.equal(stats.deadLetterRecords, 0, 'nothing was dead-lettered');
      assert.equal(stats.quarantineRecords, 0, 'nothing was quarantined');
      assert.equal(stats.nextSeq, TOTAL + 1, 'every record was appended once');
      assert.equal((await wal.getCheckpoint('kill-test.appended'))?.toString(), String(TOTAL));
      assert.ok((await wal.check()).consistent, 'stored counters match a scan');
    } finally {
      await wal.close();
    }
    assert.deepEqual([...walIds], [walId], 'one walId through every run (W8: counters were never rebuilt)');

    // The receiver: every seq; duplicates before and after deduplication.
    await new Promise((r) => setTimeout(r, 100)); // requests of the last killed run still sleeping
    const logs = receiver.logs();
    const copies = new Map<number, Set<string>>();
    for (const log of logs) {
      const seq = Number(log.contents.seq);
      assert.ok(Number.isSafeInteger(seq) && seq >= 1 && seq <= TOTAL, `unexpected log ${JSON.stringify(log.contents)}`);
      assert.ok(log.idempotencyKey?.startsWith(`${walId}-`), `key ${log.idempotencyKey} is not of this WAL`);
      const keys = copies.get(seq) ?? new Set<string>();
      keys.add(log.idempotencyKey!);
      copies.set(seq, keys);
    }
    const missing: number[] = [];
    for (let seq = 1; seq <= TOTAL; seq++) if (!copies.has(seq)) missing.push(seq);
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} records never reached the receiver (D1, W3)`);
    const s = receiver.stats();
    const report: KillReport = {
      kills: KILLS - completedBeforeKill,
      killsWithRequestsInFlight,
      completedBeforeKill,
      uniqueRecords: copies.size,
      duplicatesBeforeDedup: s.logs + s.duplicateLogs - TOTAL,
      duplicatesAfterDedup: logs.length - copies.size,
      duplicateRequests: s.duplicateRequests,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
    t.diagnostic(JSON.stringify({ ...report, receiver: { requests: s.requests, accepted: s.acceptedRequests, faults: s.faults } }));
    const underTwoKeys = [...copies].filter(([, keys]) => keys.size > 1);
    const examples = underTwoKeys.slice(0, 5).map(([seq, keys]) => `seq ${seq}: ${[...keys].join(' + ')}`);
    assert.equal(
      report.duplicatesAfterDedup,
      0,
      `${underTwoKeys.length} records were stored twice under different idempotency keys (D2), e.g. ${examples.join('; ')}`,
    );
    assert.ok(report.kills >= Math.min(10, KILLS), `at least 10 kills landed (${report.kills})`);
    return report;
  } finally {
    await receiver?.close();
  }
}

describe('delivery across a restart (D2): records left in flight keep their key', () => {
  it('re-delivers the records of a batch abandoned by stop() under that batch key, even when records were appended before the restart', { timeout: 20_000 }, async (t) => {
    const dir = tempDir('walship-restart');
    // The receiver stores a slow request even after its client gave up (R3), as a real one would.
    const receiver = await startReceiver({ logger: quiet, latencyMs: 300 });
    const deliver = (wal: WriteAheadLog): DeliveryManager => {
      const client = createHttpClient({ url: receiver.url, encoding: 'json', logger: quiet });
      const mode = new SingleConnectionMode(client, { waitRetryMs: 10, maxWaitRetryMs: 100, logger: quiet });
      const m = new DeliveryManager({ source: wal, mode, logger: quiet, batchMaxRecords: 8, retryMinDelayMs: 5, retryMaxDelayMs: 50 });
      m.start();
      return m;
    };
    try {
      let wal = await WriteAheadLog.open({ dir, logger: quiet });
      await wal.append(seqEntries(1, 3));
      let m = deliver(wal);
      await until(() => receiver.stats().requests === 1, 5000, 'the first request arrived');
      const firstKey = `${wal.walId}-1-3`;
      await m.stop(0); // abandons the request in flight: records 1..3 stay in the WAL
      assert.equal(wal.pendingRecords, 3);
      await wal.append(seqEntries(4, 2)); // more input arrives before the restart
      await wal.close();

      wal = await WriteAheadLog.open({ dir, logger: quiet });
      m = deliver(wal);
      await until(() => wal.pendingRecords === 0, 10_000, 'the WAL drained');
      await m.stop(1000);
      await wal.close();
      await until(() => receiver.requests().length === receiver.stats().requests, 2000, 'the receiver settled');

      const keys = receiver.requests().map((r) => `${r.idempotencyKey}:${r.outcome}`);
      t.diagnostic(`requests: ${keys.join(' ')}`);
      const copies = new Map<string, string[]>();
      for (const log of receiver.logs()) copies.set(log.contents.seq!, [...(copies.get(log.contents.seq!) ?? []), log.idempotencyKey!]);
      assert.equal(copies.size, 5, 'every record arrived');
      const twice = [...copies].filter(([, k]) => k.length > 1).map(([seq, k]) => `seq ${seq} under ${k.join(' and ')}`);
      assert.deepEqual(twice, [], `records 1..3 were first sent under ${firstKey}; after the restart they must carry it again (D2)`);
    } finally {
      await receiver.close();
    }
  });
});

describe('delivery across kill -9 (W3, D1, D2): every record arrives, re-deliveries carry the original key', () => {
  const timeout = SOAK ? 1_800_000 : 120_000;

  it('load balance, batches of one record: killed at random moments, every record still arrives, one copy after deduplication', { timeout }, async (t) => {
    const r = await killAndRestart(t, { mode: 'loadbalance', batchMaxRecords: 1, total: BACKLOG, chunk: 25, pauseMs: 10 });
    assert.ok(r.killsWithRequestsInFlight > 0, 'some kills hit requests in flight');
  });

  it('single, JSON batches of 8 over a trickle that delivery keeps up with: re-deliveries after a kill carry the keys of the first delivery', { timeout }, async (t) => {
    const r = await killAndRestart(t, { mode: 'single', batchMaxRecords: 8, total: TRICKLE, chunk: 3, pauseMs: 15 });
    assert.ok(r.killsWithRequestsInFlight > 0, 'some kills hit requests in flight');
  });
});
