/**
 * The kill loop: `walship run` is SIGKILLed `kills` times at seeded random moments and
 * restarted each time, while the input grows, the receiver fails requests, resets
 * connections, answers late and restarts; the last life runs until every sequence number
 * arrived, then stops gracefully, and the WAL is checked.
 */
import { classicLevelOpener, WriteAheadLog } from '../wal/index.ts';
import { pino } from 'pino';
import { mulberry32 } from '../receiver/prng.ts';
import { type LifePhase, type RunChild, sleep } from './run-child.ts';
import { Rig } from './rig.ts';

/** How a life is ended; the kill moment is drawn within its window. */
export const KILL_KINDS = ['boot', 'open', 'run', 'stop'] as const;
export type KillKind = (typeof KILL_KINDS)[number];

/**
 * Shares of the kill kinds (sum 1): `boot` kills 0–600 ms after spawn (loading, config,
 * opening the WAL); `open` 0–20 ms after the WAL opened (checkpoint restore, first reads and
 * appends, the first deliveries); `run` 0–1500 ms (skewed short) after the pipeline runs
 * (reading, appending, delivering, compacting); `stop` sends SIGTERM 0–800 ms after that and
 * SIGKILL 0–60 ms later (during the graceful stop: urgent appends, last deliveries, the
 * compaction on close).
 */
export const KILL_KIND_SHARES: Readonly<Record<KillKind, number>> = { boot: 0.1, open: 0.2, run: 0.5, stop: 0.2 };
/** Share of lives after which the receiver restarts (down 0–300 ms). */
export const RECEIVER_RESTART_SHARE = 0.2;
/** Share of lives during which the receiver goes down for a while. */
export const RECEIVER_OUTAGE_SHARE = 0.1;
/** How long a life may take to reach a phase before the harness gives up waiting (ms). */
const PHASE_TIMEOUT_MS = 30_000;

export interface KillLoopOptions {
  readonly dir: string;
  readonly command: readonly string[];
  readonly records: number;
  readonly kills: number;
  readonly failRate: number;
  readonly seed: number;
  readonly timeoutMs: number;
  readonly onProgress: (line: string) => void;
}

export interface LifeReport {
  readonly life: number;
  /** How the harness ended it (`final`: the last life, stopped with SIGTERM). */
  readonly kind: KillKind | 'final';
  /** The furthest phase its log shows at the kill. */
  readonly phase: LifePhase;
  /** Spawn to exit (ms). */
  readonly ms: number;
  /** Spawn to the first request the receiver accepted (ms); absent if none came. */
  readonly firstDeliveryMs?: number;
  /** "walship running" logged to that first accepted request (ms). */
  readonly runningToFirstDeliveryMs?: number;
  /** New sequence numbers the receiver counted during the life. */
  readonly delivered: number;
  /** Compactions the life logged. */
  readonly compactions: number;
  readonly exit: string;
}

export interface KillLoopReport {
  readonly records: number;
  readonly kills: number;
  readonly lives: number;
  readonly receiverRestarts: number;
  readonly receiverOutages: number;
  readonly lost: number;
  /** The first few lost sequence numbers. */
  readonly lostSample: readonly number[];
  readonly duplicatesBeforeDedup: number;
  readonly duplicatesAfterDedup: number;
  readonly worstRestartToFirstDeliveryMs: number | null;
  readonly medianRestartToFirstDeliveryMs: number | null;
  /** The worst time from "walship running" (process up, WAL open) to the first accepted request. */
  readonly worstRunningToFirstDeliveryMs: number | null;
  /** Lives by the phase they were in when killed. */
  readonly killedIn: Readonly<Record<LifePhase, number>>;
  /** Lives by how the harness chose to end them. */
  readonly killKinds: Readonly<Record<KillKind, number>>;
  readonly compactions: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly resets: number;
  /** The WAL after the last stop: counters consistent with a full scan, nothing left. */
  readonly wal: { readonly consistent: boolean; readonly pendingRecords: number; readonly quarantineRecords: number; readonly deadLetterRecords: number };
  readonly durationMs: number;
  readonly passed: boolean;
  readonly lifeReports: readonly LifeReport[];
}

export async function runKillLoop(o: KillLoopOptions): Promise<KillLoopReport> {
  const random = mulberry32(o.seed);
  const rig = await Rig.create({
    dir: o.dir,
    command: o.command,
    records: o.records,
    receiver: { failRate: o.failRate, resetRate: o.failRate / 4, latencyMs: [0, 20], seed: o.seed ^ 0x5bd1e995 },
  });
  const started = performance.now();
  const lives: LifeReport[] = [];
  let receiverRestarts = 0;
  let receiverOutages = 0;
  const totalLives = o.kills + 1;
  try {
    for (let n = 1; n <= totalLives; n++) {
      const last = n === totalLives;
      // The input grows life by life, half before the start and half while it runs.
      const share = Math.ceil((o.records * n) / totalLives);
      const before = Math.ceil((o.records * (n - 0.5)) / totalLives);
      rig.writeUpTo(last ? o.records : before);
      const life = rig.launch();
      const acceptedBefore = accepted(rig);
      const uniqueBefore = rig.receiver.stats().unique;
      const first = watchFirstDelivery(rig, acceptedBefore);
      let kind: KillKind | 'final' = 'final';
      if (last) {
        await life.until(() => rig.receiver.stats().unique >= o.records, o.timeoutMs);
        await life.stop(15_000);
      } else {
        kind = pickKind(random());
        const outage = random() < RECEIVER_OUTAGE_SHARE;
        await endLife(life, kind, random, async () => {
          rig.writeUpTo(share);
          if (outage) {
            receiverOutages++;
            await rig.receiver.down();
          }
        });
        rig.writeUpTo(share);
        if (outage) await rig.receiver.up();
        if (random() < RECEIVER_RESTART_SHARE) {
          receiverRestarts++;
          await rig.receiver.down();
          await sleep(Math.floor(random() * 300));
          await rig.receiver.up();
        }
      }
      const firstAt = await first.settle();
      const exit = life.exit;
      const s = rig.receiver.stats();
      const report: LifeReport = {
        life: n,
        kind,
        phase: life.phase(),
        ms: Math.round(performance.now() - life.spawnedAt),
        ...(firstAt === undefined ? {} : { firstDeliveryMs: Math.round(firstAt - life.spawnedAt) }),
        ...(firstAt === undefined || life.phaseAt.running === undefined ? {} : { runningToFirstDeliveryMs: Math.max(0, Math.round(firstAt - life.spawnedAt - life.phaseAt.running)) }),
        delivered: s.unique - uniqueBefore,
        compactions: life.lines().filter((l) => l.msg === 'compacted the acknowledged range').length,
        exit: exit === undefined ? '?' : exit.signal ?? `code ${exit.code}`,
      };
      lives.push(report);
      o.onProgress(
        `life ${n}/${totalLives}: ${last ? 'stopped' : `killed (${kind}) in ${report.phase}`} after ${report.ms} ms; ` +
          `received ${s.unique}/${o.records}${report.firstDeliveryMs === undefined ? '' : `, first delivery at ${report.firstDeliveryMs} ms`}`,
      );
    }
  } finally {
    await rig.close();
  }

  const wal = await checkWal(rig.walDir);
  const s = rig.receiver.stats();
  const lost = o.records - s.unique;
  const firsts = lives.map((l) => l.firstDeliveryMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  const killed = lives.filter((l) => l.kind !== 'final');
  const killedIn = Object.fromEntries(['booting', 'opening', 'running', 'stopping', 'stopped'].map((p) => [p, killed.filter((l) => l.phase === p).length])) as Record<LifePhase, number>;
  const killKinds = Object.fromEntries(KILL_KINDS.map((k) => [k, killed.filter((l) => l.kind === k).length])) as Record<KillKind, number>;
  return {
    records: o.records,
    kills: o.kills,
    lives: lives.length,
    receiverRestarts,
    receiverOutages,
    lost,
    lostSample: rig.receiver.missing(10),
    duplicatesBeforeDedup: s.duplicatesBeforeDedup,
    duplicatesAfterDedup: s.duplicatesAfterDedup,
    worstRestartToFirstDeliveryMs: firsts.length === 0 ? null : (firsts[firsts.length - 1] as number),
    medianRestartToFirstDeliveryMs: firsts.length === 0 ? null : (firsts[Math.floor(firsts.length / 2)] as number),
    worstRunningToFirstDeliveryMs: lives.reduce<number | null>((w, l) => (l.runningToFirstDeliveryMs === undefined ? w : Math.max(w ?? 0, l.runningToFirstDeliveryMs)), null),
    killedIn,
    killKinds,
    compactions: lives.reduce((a, l) => a + l.compactions, 0),
    requests: s.requests,
    failedRequests: s.failed,
    resets: s.resets,
    wal,
    durationMs: Math.round(performance.now() - started),
    passed: lost === 0 && wal.consistent,
    lifeReports: lives,
  };
}

function pickKind(r: number): KillKind {
  let acc = 0;
  for (const k of KILL_KINDS) {
    acc += KILL_KIND_SHARES[k];
    if (r < acc) return k;
  }
  return 'run';
}

/** Waits for the kill moment of `kind`, calling `midway` once the pipeline runs (or at the kill), then kills. */
async function endLife(life: RunChild, kind: KillKind, random: () => number, midway: () => Promise<void>): Promise<void> {
  let midwayDone = false;
  const mid = async (): Promise<void> => {
    if (!midwayDone) {
      midwayDone = true;
      await midway();
    }
  };
  switch (kind) {
    case 'boot':
      await life.until(() => false, Math.floor(random() * 600));
      break;
    case 'open':
      await life.reached('opening', PHASE_TIMEOUT_MS);
      await life.until(() => false, Math.floor(random() * 20));
      break;
    case 'run':
      await life.reached('running', PHASE_TIMEOUT_MS);
      await mid();
      await life.until(() => false, Math.floor(random() ** 2 * 1500));
      break;
    case 'stop':
      await life.reached('running', PHASE_TIMEOUT_MS);
      await mid();
      await life.until(() => false, Math.floor(random() * 800));
      if (life.alive) life.child.kill('SIGTERM');
      await life.until(() => false, Math.floor(random() * 60));
      break;
  }
  await life.kill();
  await mid();
}

function accepted(rig: Rig): number {
  const s = rig.receiver.stats();
  return s.acceptedRequests + s.duplicateRequests;
}

/** Resolves with the time the receiver accepted its first request after `before` accepted ones. */
function watchFirstDelivery(rig: Rig, before: number): { settle(): Promise<number | undefined> } {
  let at: number | undefined;
  let done = false;
  const polling = (async () => {
    while (!done && at === undefined) {
      if (accepted(rig) > before) at = performance.now();
      else await sleep(2);
    }
  })();
  return {
    async settle() {
      done = true;
      await polling;
      return at;
    },
  };
}

/** Opens the WAL the last life closed and compares its counters with a full scan (W3, W4). */
export async function checkWal(walDir: string): Promise<KillLoopReport['wal']> {
  const wal = await WriteAheadLog.open({ dir: walDir, freeSpaceFloor: 0, logger: pino({ level: 'silent' }), storeOpener: classicLevelOpener });
  try {
    const check = await wal.check();
    const st = await wal.stats();
    return { consistent: check.consistent, pendingRecords: st.pendingRecords, quarantineRecords: st.quarantineRecords, deadLetterRecords: st.deadLetterRecords };
  } finally {
    await wal.close();
  }
}
