/**
 * Crash durability of the WAL (W3, W4): a child process (./crash-child.ts) appends with
 * `sync: 'always'` from 8 concurrent appenders and acknowledges out of order, and this test
 * SIGKILLs it at random moments, then opens the same WAL itself and compares what is stored
 * with what the child said had happened before it died:
 *
 * - every append the child saw resolve, and did not see acknowledged, is present exactly once,
 *   at the sequence number the append returned, in order, with every byte intact;
 * - every record whose ack resolved is gone (W3: not redelivered);
 * - records whose ack was issued but had not resolved at the kill may be either;
 * - the stored counters equal a full scan (W4), no record was quarantined, and the walId did
 *   not change (counters never had to be rebuilt after a kill).
 *
 * 20 kills by default, 200 with WALSHIP_SOAK set. The seed is printed; set WALSHIP_TEST_SEED
 * to replay one (the kill instants still depend on timing).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WriteAheadLog } from '../../src/wal/index.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { checkPayload, idString } from '../helpers/payload.ts';
import { mulberry32, randomInt, testSeed } from '../helpers/prng.ts';

const SOAK = Boolean(process.env.WALSHIP_SOAK);
const KILLS = SOAK ? 200 : 20;
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** How long a child may take to print its first line before the test gives up on it. */
const CHILD_START_TIMEOUT_MS = 20_000;
/** How long one read of the reopened WAL may wait before it counts as a hang. */
const READ_TIMEOUT_MS = 10_000;

/** What the child told us, accumulated over every run on the same WAL. */
class Ledger {
  /** Records we expect in the WAL: seq → identity (resolved appends, and unreported ones found on disk). */
  readonly pending = new Map<number, string>();
  /** Records whose ack resolved: they must never be seen again. */
  readonly acked = new Set<number>();
  /** Acks issued in the current run and not (yet) seen to resolve. */
  readonly ackInFlight = new Set<number>();
  /** Every identity ever seen → its seq (a second seq for one identity is a duplicate). */
  readonly seqOfId = new Map<string, number>();
  /** Per `run.appender`: the last seq an append of that appender resolved with. */
  readonly lastSeqOfAppender = new Map<string, number>();
  walIds = new Set<string>();
  violations: string[] = [];
  totals = {
    resolvedAppends: 0,
    resolvedRecords: 0,
    ackedConfirmed: 0,
    ackedAtKill: 0,
    redeliverableAtKill: 0,
    unreportedAppends: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    damaged: 0,
    quarantined: 0,
    inconsistent: 0,
  };

  violation(kind: 'lost' | 'duplicated' | 'reordered' | 'damaged' | 'quarantined' | 'inconsistent', what: string): void {
    this.totals[kind]++;
    if (this.violations.length < 40) this.violations.push(`${kind}: ${what}`);
  }

  /** One complete line of the child's stdout. */
  line(line: string, run: number): void {
    const [tag, ...rest] = line.split(' ');
    switch (tag) {
      case 'R':
        this.walIds.add(rest[0] ?? '');
        return;
      case 'A': {
        const first = Number(rest[0]);
        const last = Number(rest[1]);
        const ids = rest.slice(2);
        if (last - first + 1 !== ids.length) {
          this.violation('inconsistent', `run ${run}: append of ${ids.length} records resolved with seqs ${first}..${last}`);
          return;
        }
        const appender = (ids[0] ?? '').split('.').slice(0, 2).join('.');
        const prev = this.lastSeqOfAppender.get(appender) ?? 0;
        if (first <= prev) this.violation('reordered', `run ${run}: appender ${appender} got seq ${first} after ${prev}`);
        this.lastSeqOfAppender.set(appender, last);
        this.totals.resolvedAppends++;
        ids.forEach((id, i) => {
          const seq = first + i;
          this.totals.resolvedRecords++;
          const seen = this.seqOfId.get(id);
          if (seen !== undefined && seen !== seq) this.violation('duplicated', `${id} resolved at seq ${seq}, already at ${seen}`);
          this.seqOfId.set(id, seq);
          if (!this.acked.has(seq)) this.pending.set(seq, id);
        });
        return;
      }
      case 'k':
        for (const s of rest) this.ackInFlight.add(Number(s));
        return;
      case 'K':
        for (const s of rest) {
          const seq = Number(s);
          this.ackInFlight.delete(seq);
          this.pending.delete(seq);
          this.acked.add(seq);
          this.totals.ackedConfirmed++;
        }
        return;
      case 'O':
        this.violation('reordered', `run ${run}: the child's reader got seq ${rest[1]} after ${rest[0]}`);
        return;
      case 'X':
        this.violation('damaged', `run ${run}: the child's reader got seq ${rest[0]} with ${rest.slice(1).join(' ')}`);
        return;
      default:
        this.violation('inconsistent', `run ${run}: unexpected line from the child: ${JSON.stringify(line.slice(0, 200))}`);
    }
  }

  /** Compares one full read of the reopened WAL (seq order as handed out) with the ledger. */
  compare(run: number, stored: Array<{ seq: number; payload: Uint8Array }>): void {
    const present = new Set<number>();
    const lastCounter = new Map<string, number>();
    let prev = 0;
    for (const { seq, payload } of stored) {
      if (seq <= prev) this.violation('reordered', `after kill ${run}: seq ${seq} read after ${prev}`);
      prev = seq;
      present.add(seq);
      const check = checkPayload(payload);
      if (!check.ok) {
        this.violation('damaged', `after kill ${run}: seq ${seq}: ${check.problem}`);
        continue;
      }
      const id = idString(check.id);
      const appender = `${check.id.run}.${check.id.appender}`;
      const before = lastCounter.get(appender) ?? -1;
      if (check.id.counter <= before) this.violation('reordered', `after kill ${run}: ${id} at seq ${seq} after counter ${before}`);
      lastCounter.set(appender, check.id.counter);
      if (this.acked.has(seq)) {
        this.violation('duplicated', `after kill ${run}: seq ${seq} (${id}) is back although its ack resolved`);
        continue;
      }
      const expected = this.pending.get(seq);
      if (expected !== undefined && expected !== id) {
        this.violation('damaged', `after kill ${run}: seq ${seq} holds ${id}, its append resolved with ${expected}`);
        continue;
      }
      const seen = this.seqOfId.get(id);
      if (seen !== undefined && seen !== seq) {
        this.violation('duplicated', `after kill ${run}: ${id} at seq ${seq}, already at ${seen}`);
        continue;
      }
      if (expected === undefined) {
        // Committed, but the child died before it could print the resolved append: allowed,
        // and from now on it is a pending record like any other.
        this.totals.unreportedAppends++;
        this.pending.set(seq, id);
        this.seqOfId.set(id, seq);
      }
    }
    for (const [seq, id] of this.pending) {
      if (present.has(seq)) continue;
      if (this.ackInFlight.has(seq)) {
        // Its ack committed just before the kill: gone, as it may be.
        this.pending.delete(seq);
        this.acked.add(seq);
        this.totals.ackedAtKill++;
      } else {
        this.violation('lost', `after kill ${run}: seq ${seq} (${id}) resolved, never acked, and is missing`);
        this.pending.delete(seq);
      }
    }
    for (const seq of this.ackInFlight) if (present.has(seq)) this.totals.redeliverableAtKill++;
    this.ackInFlight.clear();
  }
}

interface ChildRun {
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly stderr: string;
  readonly lines: number;
}

/** Starts the child, kills it `delayMs` after its first line, and feeds its lines to the ledger. */
function runChild(dir: string, run: number, seed: number, delayMs: number, ledger: Ledger): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(run), String(seed)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    let lines = 0;
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const startTimer = setTimeout(() => child.kill('SIGKILL'), CHILD_START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (lines === 0 && killTimer === undefined) {
        clearTimeout(startTimer);
        killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        ledger.line(partial.slice(0, nl), run);
        partial = partial.slice(nl + 1);
        lines++;
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    child.on('error', reject);
    // 'close' (not 'exit'): every byte of stdout has been read. A partial last line is an
    // event the child did not finish reporting; it is ignored on purpose.
    child.on('close', (code, signal) => {
      clearTimeout(startTimer);
      clearTimeout(killTimer);
      resolve({ code, signal, stderr, lines });
    });
  });
}

/** Reads every pending record of a freshly opened WAL through the public reader. */
async function readAllPending(wal: WriteAheadLog): Promise<Array<{ seq: number; payload: Uint8Array }>> {
  const { pendingRecords } = await wal.stats();
  const out: Array<{ seq: number; payload: Uint8Array }> = [];
  while (out.length < pendingRecords) {
    let batch;
    // A referenced timer (AbortSignal.timeout's is not), so that a reader waiting on nothing
    // fails the test instead of letting the event loop drain.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no record within ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
    try {
      batch = await wal.nextBatch(256, 64 * 1024 * 1024, timeout.signal);
    } catch (err) {
      const stats = await wal.stats();
      throw new Error(
        `reading the reopened WAL stopped after ${out.length} of ${pendingRecords} pending records ` +
          `(quarantined ${stats.quarantineRecords}, state ${stats.state}): ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
    for (const r of batch) out.push({ seq: r.seq, payload: r.payload });
  }
  return out;
}

describe('WAL crash durability (kill -9)', () => {
  it(
    `W3, W4: after each of ${KILLS} kills every resolved append is present exactly once, in order, intact; acked records stay gone; counters match a scan`,
    { timeout: SOAK ? 1_800_000 : 120_000 },
    async (t) => {
      const seed = testSeed();
      t.diagnostic(`seed ${seed} (replay with WALSHIP_TEST_SEED=${seed}), ${KILLS} kills`);
      const rand = mulberry32(seed);
      const dir = await mkdtemp(join(tmpdir(), 'walship-crash-'));
      const ledger = new Ledger();
      const { logger, lines: logLines } = captureLogger('info');
      const started = performance.now();
      let maxPending = 0;
      let maxOpenMs = 0;
      let walId: string | undefined;
      try {
        for (let run = 0; run < KILLS; run++) {
          const delay = randomInt(rand, 50, 400);
          const child = await runChild(dir, run, randomInt(rand, 1, 2 ** 31 - 1), delay, ledger);
          assert.equal(
            child.signal,
            'SIGKILL',
            `run ${run}: the child must live until it is killed; it exited with code ${child.code} after ${child.lines} lines (seed ${seed})\n${child.stderr}`,
          );
          assert.ok(child.lines > 0, `run ${run}: the child printed nothing before ${CHILD_START_TIMEOUT_MS} ms (seed ${seed})\n${child.stderr}`);

          const openStarted = performance.now();
          const wal = await WriteAheadLog.open({ dir, logger });
          maxOpenMs = Math.max(maxOpenMs, performance.now() - openStarted);
          try {
            // W8/W4: a kill never forces a recount, so the walId never changes.
            walId ??= wal.walId;
            assert.equal(wal.walId, walId, `after kill ${run}: the walId changed, so the counters were rebuilt (seed ${seed})`);

            const check = await wal.check();
            if (!check.consistent) {
              ledger.violation('inconsistent', `after kill ${run}: stored ${JSON.stringify(check.stored)} scanned ${JSON.stringify(check.scanned)}`);
            }
            const stored = await readAllPending(wal);
            const stats = await wal.stats();
            if (stats.quarantineRecords > 0 || stats.deadLetterRecords > 0) {
              ledger.violation(
                'quarantined',
                `after kill ${run}: ${stats.quarantineRecords} quarantined, ${stats.deadLetterRecords} dead letters: ${JSON.stringify(await wal.listQuarantine(5))}`,
              );
            }
            maxPending = Math.max(maxPending, stored.length);
            ledger.compare(run, stored);
          } finally {
            await wal.close();
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }

      const { totals } = ledger;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const summary =
        `seed ${seed}: ${KILLS} kills in ${seconds} s; ${totals.resolvedAppends} appends resolved (${totals.resolvedRecords} records), ` +
        `${totals.ackedConfirmed} acks resolved, ${totals.ackedAtKill} acked at the kill, ${totals.redeliverableAtKill} in-flight acks redelivered, ` +
        `${totals.unreportedAppends} committed but unreported appends; max pending ${maxPending}, max open ${maxOpenMs.toFixed(0)} ms; ` +
        `lost ${totals.lost}, duplicated ${totals.duplicated}, reordered ${totals.reordered}, damaged ${totals.damaged}, ` +
        `quarantined ${totals.quarantined}, inconsistent ${totals.inconsistent}`;
      t.diagnostic(summary);
      const rebuilt = logLines.filter((l) => /recounting|rebuilding/.test(String(l.msg)));
      assert.deepEqual(ledger.violations, [], `${summary}\n${ledger.violations.join('\n')}`);
      assert.deepEqual(rebuilt.map((l) => l.msg), [], `the WAL recounted after a kill (W4)\n${summary}`);
      assert.deepEqual([...ledger.walIds], [walId], 'W8: the child and the test saw one walId throughout');
      assert.ok(totals.resolvedRecords >= KILLS, `too little work to prove anything: ${summary}`);
      assert.ok(totals.ackedConfirmed > 0, `no ack ever resolved: ${summary}`);
    },
  );
});
