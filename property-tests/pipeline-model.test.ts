/**
 * Model-based test of the whole pipeline, end to end: PipelineRunner → DefaultAggregator →
 * DurableFlusher (WAL + delivery) → HTTP sink → a real receiver on loopback that injects
 * faults and deduplicates by idempotency key.
 *
 * The requirement: for any interleaving of add / aggregator flush / isReady / stop / restart
 * with a flaky sink, every added log is delivered (the receiver, deduplicating by key, stores
 * it exactly once) or is still in the WAL after stop; none is lost. Crashes are added: a log
 * whose flush had resolved (F1) survives a crash; one that was not yet durable may be lost.
 *
 * Replay a failure with WALSHIP_SEED=<seed> (printed at the start and in fast-check's failure
 * message with the shrunk command list); WALSHIP_MODEL_RUNS sets the number of runs (default
 * 40 for the main property and 15 for the racing one; 300 and 100 with WALSHIP_SOAK). A replay
 * is faithful in its commands and configuration; the timings of the real loops (timers,
 * sockets, fsync) are not, so a failure that depends on a race may need a few replays.
 *
 * ## One run
 *
 * Drawn per run ({@link RunConfig}): the sink encoding (`ndjson`: one request per delivery
 * batch, keyed by the batch; `sls`: one request per record, keyed by the record), the
 * aggregator's interval (5–20 ms), `maxLogsPerGroup` (1–20), `maxGroups` (1–4), the runner's
 * queue capacity (1–8), the WAL's quota (effectively unbounded, or 2–8 KiB so that `isReady`
 * flips and the runner has to hold groups), its low watermark and sync policy, the flusher's
 * `whenFull` and `stopTimeoutMs` (0–50 ms: undelivered records stay in the WAL at stop), the
 * HTTP timeout (120–300 ms; the slow latency faults pass it now and then, so the receiver
 * stores requests whose client gave up and the retry is deduplicated by key), and the "disk
 * time" of a WAL write (0–3 ms, the window a crash can cut). Delivery and reconnect delays
 * are 1–10 ms. The runner's stop deadline is 5 s, which the WAL drains within under most
 * faults drawn (fail rates below 1, outages ≤ 300 ms, latency mostly under the timeout), so
 * `logsLost` is 0 at most graceful stops; when the heaviest faults keep the WAL full past the
 * deadline, the runner gives the rest up as documented, and `logsLost` must then count exactly
 * the accepted logs never made durable (a CI run's seed 1038846909 drew such a schedule: the
 * test failed, then spent its time shrinking it).
 *
 * Setup: one receiver (`startReceiver` on 127.0.0.1, fault PRNG seeded from the run), a temp
 * WAL directory, and one "life": a PipelineRunner with a fresh DefaultAggregator and one fresh
 * DurableFlusher on that directory, seen by the runner through a {@link DurabilityProbe} that
 * notes the logs of every flush that resolved, with the WAL's store opened through
 * test/helpers/crash-store.ts so that a crash can kill it. Restarts and crashes start a new
 * life on the same directory.
 *
 * ## Commands
 *
 * - `Add(n, pad, concurrent)`: adds n logs, each with a unique `seq` content (and `pad` bytes
 *   of padding), one after the other or all at once (they then wait together on backpressure).
 * - `Tick(ms)`: lets the aggregator's timer, the ship loop and delivery run.
 * - `SinkFaults(fail, reset, latency)`: 503s, connection resets, latency.
 * - `SinkOutage(ms)`: the receiver closes its socket and every connection for ms (not
 *   awaited: later commands run during the outage).
 * - `CheckReady`: `flusher.isReady()` equals "the WAL is not over its quota", both read in the
 *   same tick (white-box: the flusher's private `wal`), and is never false when the quota
 *   cannot be reached. This check also runs after every command.
 * - `Restart`: `runner.stop()`, then a new life. At the stop: `logsLost` is 0, and the runner
 *   handed every log it accepted to the flusher (`logsFlushed === logsAdded`, nothing pending).
 * - `StopAndInspect`: the same stop and checks, then opens the WAL with `WriteAheadLog.open`,
 *   decodes every pending record's LogGroup and checks that every log added so far is in the
 *   WAL or stored by the receiver, that the WAL holds only added logs, each once; then a new
 *   life.
 * - `Crash(ms, duringWrite)`: after ms (or as soon as a WAL write is in its disk time), the
 *   store dies: writes still in their disk time are lost, LevelDB keeps what it had written.
 *   The old life is a zombie whose writes fail; it is stopped and ignored. Then the same
 *   inspection, where only the logs not yet durable at the crash may be missing, and a new
 *   life (an unclean open of the WAL).
 * - `AddsAroundStop(before, after)` (the racing property only): fires `before` adds without
 *   awaiting them, calls `runner.stop()`, fires `after` more adds at once, then awaits them
 *   all. An add that resolved was accepted and must not be lost; one that rejected must never
 *   arrive. Then the same checks as StopAndInspect.
 *
 * After every command the receiver is checked: it stored only accepted logs, each at most
 * once (after its deduplication; a second copy means a record went out under two keys).
 *
 * ## The end of a run
 *
 * Faults cleared, the outage over, a life running: wait until the receiver holds every log
 * that must arrive and the WAL has 0 pending (fail at once if nothing holds the missing logs
 * any more, after 3 s without progress, or after 30 s in all); stop; then every accepted log
 * (but those a crash took before they were durable) is stored by the receiver exactly once,
 * nothing else is, and the WAL reopened holds 0 pending records.
 *
 * ## Known bugs (each has a deterministic failing test at the end of this file)
 *
 * - B1 (runner): an add racing stop() resolves but its log is never handed over nor counted
 *   lost. The racing property fails on it (shrinks to `AddsAroundStop(0, 1)`).
 * - B2 (delivery/WAL): a record sent alone is not pinned to its batch (fixBatch skips batches
 *   of one); after a restart it is re-cut with its neighbours under a new key and the receiver
 *   stores it twice. The main property fails on it (shrinks to `Add(n), Restart, …` with
 *   ndjson and flusher stopTimeoutMs 0).
 * - B3 (runner): no backpressure while no flusher is ready: groups pile up in memory.
 * - B4 (http sink): the request timeout counts the wait for a pooled connection.
 *
 * The coverage printed at the end of each property says how often the interesting paths were
 * taken (isReady false, ready waits, crashes that cut writes, logs found in the WAL at an
 * inspection, deduplicated requests, delivery failures by reason).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { DefaultAggregator } from '../src/aggregators/index.ts';
import { DurableFlusher, type WhenFull } from '../src/flusher/index.ts';
import { decodeLogGroup, type Log, type LogGroup } from '../src/model/index.ts';
import { createContext, type FlusherV1, type PipelineContext, PipelineRunner, type PipelineRunnerStats } from '../src/pipeline/index.ts';
import { type Receiver, startReceiver } from '../src/receiver/index.ts';
import { type SyncPolicy, WriteAheadLog } from '../src/wal/index.ts';
import { CrashableOpener } from '../test/helpers/crash-store.ts';

const RUNS = Number(process.env.WALSHIP_MODEL_RUNS ?? (process.env.WALSHIP_SOAK ? 300 : 40));
const RACE_RUNS = Number(process.env.WALSHIP_MODEL_RUNS ?? (process.env.WALSHIP_SOAK ? 100 : 15));
const SEED = Number(process.env.WALSHIP_SEED ?? Date.now() % 2 ** 31);
/**
 * The runner's stop deadline: longer than the WAL takes to drain under most faults drawn; when
 * it is not (the heaviest faults), the runner's counted give-up is checked instead (stopLife).
 */
const RUNNER_STOP_TIMEOUT_MS = 5_000;
/** Effectively no quota (the WAL never fills in a run). */
const UNBOUNDED = 64 * 1024 * 1024;
/** Estimated bytes of a group at most: with its envelope, a record fits in the smallest quota. */
const MAX_GROUP_BYTES = 1024;
const STALL_MS = 3_000;
const DRAIN_CAP_MS = 30_000;
const logger = pino({ level: 'silent' });

// ── The run's configuration ────────────────────────────────────────────────────────────

interface RunConfig {
  readonly encoding: 'ndjson' | 'sls';
  readonly intervalMs: number;
  readonly maxLogsPerGroup: number;
  readonly maxGroups: number;
  readonly queueCapacity: number;
  readonly walMaxBytes: number;
  readonly lowWatermark: number;
  readonly sync: SyncPolicy;
  readonly whenFull: WhenFull;
  readonly flusherStopTimeoutMs: number;
  readonly httpTimeoutMs: number;
  /** "Disk time" of each WAL write batch: a crash in it loses the batch (test/helpers/crash-store.ts). */
  readonly writeDelayMs: number;
  readonly receiverSeed: number;
}

const runConfig: fc.Arbitrary<RunConfig> = fc.record({
  encoding: fc.constantFrom<'ndjson' | 'sls'>('ndjson', 'sls'),
  intervalMs: fc.integer({ min: 5, max: 20 }),
  maxLogsPerGroup: fc.integer({ min: 1, max: 20 }),
  maxGroups: fc.integer({ min: 1, max: 4 }),
  queueCapacity: fc.integer({ min: 1, max: 8 }),
  walMaxBytes: fc.constantFrom(UNBOUNDED, UNBOUNDED, 2 * 1024, 4 * 1024, 8 * 1024),
  lowWatermark: fc.constantFrom(0.5, 0.9),
  sync: fc.constantFrom<SyncPolicy>('always', 'never'),
  whenFull: fc.constantFrom<WhenFull>('block', 'reject'),
  flusherStopTimeoutMs: fc.constantFrom(0, 5, 20, 50),
  httpTimeoutMs: fc.constantFrom(120, 200, 300),
  writeDelayMs: fc.constantFrom(0, 1, 3),
  receiverSeed: fc.integer({ min: 0, max: 0xffffffff }),
});

// ── Model and real system ──────────────────────────────────────────────────────────────

class Model {
  nextSeq = 0;
  /** Seqs whose add resolved (accepted by the pipeline). */
  readonly added = new Set<number>();
  /** Seqs whose add rejected (the pipeline refused them: they must never arrive). */
  readonly refused = new Set<number>();
  /** Seqs accepted by the current life (what its runner's `logsAdded` must count). */
  addedThisLife = 0;
  /** Seqs whose flush resolved (F1: durable in the WAL) before any crash. */
  readonly durable = new Set<number>();
  /** Seqs that were accepted but not yet durable when a crash came: they may be lost. */
  readonly mayBeLost = new Set<number>();
  /** The seqs that must reach the receiver: every accepted one but those a crash may have taken. */
  mustArrive(): number[] {
    return [...this.added].filter((s) => !this.mayBeLost.has(s));
  }
  constructor(readonly config: RunConfig) {}
}

interface Life {
  readonly runner: PipelineRunner;
  readonly flusher: DurableFlusher;
  /** What the runner sees as its flusher: the real one, observed. */
  readonly probe: DurabilityProbe;
  /** The stores of this life's WAL (a crash kills them all). */
  readonly opener: CrashableOpener;
  readonly aggregator: DefaultAggregator;
}

/**
 * The runner's flusher: the DurableFlusher, observed. When a flush resolves, its logs are
 * durable (F1) and noted in the model. After a crash (`dead`) the "process" is gone: the
 * probe takes whatever the zombie runner still hands over and drops it, so the zombie's stop
 * is quick, and nothing it does counts.
 */
class DurabilityProbe implements FlusherV1 {
  dead = false;
  /** When the runner's stop began (its first step is setUrgent(true)). */
  urgentAt: number | undefined;
  /** When the runner stopped this flusher (after its deadline, or once drained), and whether the WAL was then over its quota. */
  stoppedAt: number | undefined;
  overQuotaAtStop: boolean | undefined;
  constructor(
    readonly inner: DurableFlusher,
    readonly durable: Set<number>,
  ) {}
  init(ctx?: PipelineContext): Promise<void> {
    return this.inner.init(ctx);
  }
  description(): string {
    return this.inner.description();
  }
  isReady(project: string, logstore: string, key: bigint): boolean {
    return this.dead || this.inner.isReady(project, logstore, key);
  }
  setUrgent(flag: boolean): void {
    if (flag) this.urgentAt ??= performance.now();
    if (!this.dead) this.inner.setUrgent(flag);
  }
  async flush(project: string, logstore: string, configName: string, groups: readonly LogGroup[]): Promise<void> {
    if (this.dead) return;
    await this.inner.flush(project, logstore, configName, groups);
    if (this.dead) return;
    for (const g of groups) for (const l of g.logs) this.durable.add(Number(l.contents.find((c) => c.key === 'seq')?.value));
  }
  stop(): Promise<void> {
    this.stoppedAt = performance.now();
    this.overQuotaAtStop = walOf(this.inner)?.isOverQuota();
    return this.inner.stop();
  }
}

interface Real extends Life {
  readonly config: RunConfig;
  readonly dir: string;
  readonly receiver: Receiver;
  outage: Promise<void> | undefined;
  lives: number;
  /** False between a stop and the next start (only inside a command, or after a failure). */
  running: boolean;
}

function makeLog(seq: number, pad: number): Log {
  const contents = [{ key: 'seq', value: String(seq) }];
  if (pad > 0) contents.push({ key: 'pad', value: 'x'.repeat(pad) });
  return { time: 1_700_000_000 + (seq % 1000), contents };
}

function seqOf(contents: Readonly<Record<string, string>>): number {
  return Number(contents.seq);
}

async function launch(config: RunConfig, dir: string, receiver: Receiver, durable: Set<number>): Promise<Life> {
  const opener = new CrashableOpener({ writeDelayMs: config.writeDelayMs });
  const flusher = new DurableFlusher({
    dir,
    sink: { type: 'http', url: receiver.url, encoding: config.encoding, probe: false, timeoutMs: config.httpTimeoutMs },
    delivery: { retryMinDelayMs: 1, retryMaxDelayMs: 10 },
    modeOptions: { waitRetryMs: 1, maxWaitRetryMs: 10 },
    wal: { maxBytes: config.walMaxBytes, lowWatermark: config.lowWatermark, sync: config.sync, storeOpener: opener.opener },
    whenFull: config.whenFull,
    stopTimeoutMs: config.flusherStopTimeoutMs,
    logger,
  });
  const probe = new DurabilityProbe(flusher, durable);
  const aggregator = new DefaultAggregator({
    intervalMs: config.intervalMs,
    maxLogsPerGroup: config.maxLogsPerGroup,
    maxGroups: config.maxGroups,
    // A group always fits in the smallest WAL quota (else the WAL refuses it forever).
    maxBytesPerGroup: MAX_GROUP_BYTES,
  });
  const runner = new PipelineRunner({
    context: createContext({ configName: 'cfg', project: 'proj', logstore: 'store', logger }),
    aggregator,
    flushers: [probe],
    queueCapacity: config.queueCapacity,
    stopTimeoutMs: RUNNER_STOP_TIMEOUT_MS,
  });
  await runner.start();
  return { runner, flusher, probe, opener, aggregator };
}

/** The flusher's WAL (white-box: `isReady` is compared with it in the same tick). */
function walOf(flusher: DurableFlusher): WriteAheadLog | undefined {
  return (flusher as unknown as { wal?: WriteAheadLog }).wal;
}

// ── Observations ───────────────────────────────────────────────────────────────────────

const coverage = {
  runs: 0,
  commands: 0,
  adds: 0,
  logs: 0,
  restarts: 0,
  inspects: 0,
  stopRaces: 0,
  crashes: 0,
  /** Logs accepted but not yet durable at a crash (allowed to be lost). */
  notDurableAtCrash: 0,
  /** WAL write batches a crash cut during their disk time. */
  writesCutByCrash: 0,
  /** Of those, the ones really lost (neither in the WAL nor delivered). */
  lostAtCrash: 0,
  /** Logs the runner gave up at a stop deadline (counted in logsLost; see stopLife). */
  lostAtStopCounted: 0,
  addsResolvedAfterStop: 0,
  addsRefusedAtStop: 0,
  /** Logs found in the WAL (not yet delivered) at an inspection. */
  logsInWalAtInspect: 0,
  readyChecks: 0,
  notReady: 0,
  readyWaits: 0,
  outages: 0,
  receiverFails: 0,
  receiverResets: 0,
  duplicateRequests: 0,
  deliveryFailures: {} as Record<string, number>,
  byEncoding: {} as Record<string, number>,
  smallWal: 0,
};

async function noteDelivery(flusher: DurableFlusher): Promise<void> {
  const s = await flusher.stats();
  if (s === undefined) return;
  for (const [reason, n] of Object.entries(s.delivery.failures)) {
    coverage.deliveryFailures[reason] = (coverage.deliveryFailures[reason] ?? 0) + n;
  }
}

/**
 * Stops the current life and checks what the runner owes: nothing lost, every accepted log
 * handed to the flusher.
 */
async function stopLife(m: Model, r: Real, stopping?: Promise<void>): Promise<PipelineRunnerStats> {
  await noteDelivery(r.flusher);
  await (stopping ?? r.runner.stop());
  r.running = false;
  const s = r.runner.stats();
  coverage.readyWaits += s.readyWaits;
  assert.equal(s.logsAdded, m.addedThisLife, `logsAdded counts every add that resolved (${JSON.stringify(s)})`);
  if (s.logsLost > 0) {
    // The runner's documented give-up: groups no flusher accepted by its stop deadline (the
    // WAL stayed over its quota, with whenFull 'reject', because the sink drew faults too
    // heavy to drain it in 5 s: 90% failures and latencies past the client's timeout, as a CI
    // run's seed 1038846909 did) are counted in logsLost and logged. Not silent: exactly the
    // accepted logs never made durable, each counted once.
    // A give-up only after the deadline really passed, with a bounded WAL still over its quota.
    const waited = (r.probe.stoppedAt ?? 0) - (r.probe.urgentAt ?? Number.POSITIVE_INFINITY);
    assert.ok(waited >= RUNNER_STOP_TIMEOUT_MS - 50, `logs given up after ${waited.toFixed(0)} ms, before the ${RUNNER_STOP_TIMEOUT_MS} ms deadline (${JSON.stringify(s)})`);
    assert.notEqual(m.config.walMaxBytes, UNBOUNDED, `logs given up though the WAL cannot fill (${JSON.stringify(s)})`);
    assert.equal(r.probe.overQuotaAtStop, true, `logs given up while the WAL had room at the deadline (${JSON.stringify(s)})`);
    const neverDurable = [...m.added].filter((q) => !m.durable.has(q) && !m.mayBeLost.has(q));
    assert.equal(neverDurable.length, s.logsLost, `logsLost counts exactly the accepted logs never made durable (${JSON.stringify(s)})`);
    assert.equal(s.logsFlushed + s.logsLost, s.logsAdded, `every accepted log was handed over or counted lost (${JSON.stringify(s)})`);
    for (const q of neverDurable) m.mayBeLost.add(q);
    coverage.lostAtStopCounted += s.logsLost;
    return s;
  }
  assert.equal(s.groupsPending, 0, `no group left behind at stop (${JSON.stringify(s)})`);
  assert.equal(
    s.logsFlushed,
    s.logsAdded,
    `every log the runner accepted was handed to the flusher before it stopped (${JSON.stringify(s)})`,
  );
  return s;
}

async function startLife(m: Model, r: Real): Promise<void> {
  const life = await launch(r.config, r.dir, r.receiver, m.durable);
  Object.assign(r, life);
  r.running = true;
  r.lives++;
  m.addedThisLife = 0;
}

/** The seqs of every log in the WAL's pending records (opened, read, closed). */
async function pendingSeqs(dir: string): Promise<{ seqs: number[]; records: number }> {
  const wal = await WriteAheadLog.open({ dir, logger, sync: 'never' });
  try {
    const seqs: number[] = [];
    let records = 0;
    const total = wal.pendingRecords;
    const signal = AbortSignal.timeout(10_000);
    while (records < total) {
      const batch = await wal.nextBatch(256, 64 * 1024 * 1024, signal);
      assert.ok(batch.length > 0, 'the WAL closed while being read');
      for (const rec of batch) {
        records++;
        for (const l of decodeLogGroup(rec.payload).logs) {
          const c = l.contents.find((x) => x.key === 'seq');
          assert.ok(c !== undefined, `record ${rec.seq} has a log without a seq`);
          seqs.push(Number(c.value));
        }
      }
    }
    return { seqs, records };
  } finally {
    await wal.close();
  }
}

/** Every accepted log is in the WAL or at the receiver; the WAL holds only accepted logs, once. */
async function inspect(m: Model, r: Real): Promise<{ inWal: Set<number>; received: Set<number> }> {
  coverage.inspects++;
  const { seqs } = await pendingSeqs(r.dir);
  const inWal = new Set<number>();
  for (const s of seqs) {
    assert.ok(!inWal.has(s), `seq ${s} is in the WAL twice`);
    inWal.add(s);
    assert.ok(m.added.has(s), `seq ${s} is in the WAL but its add ${m.refused.has(s) ? 'was refused' : 'never happened'}`);
  }
  coverage.logsInWalAtInspect += inWal.size;
  const received = new Set(r.receiver.logs().map((l) => seqOf(l.contents)));
  const lost = m.mustArrive().filter((s) => !inWal.has(s) && !received.has(s)).sort((a, b) => a - b);
  const durableLost = lost.filter((s) => m.durable.has(s));
  assert.deepEqual(durableLost, [], `${durableLost.length} logs whose flush had resolved are neither in the WAL nor at the receiver (F1)`);
  assert.deepEqual(lost, [], `after stop, ${lost.length} accepted logs are neither in the WAL nor at the receiver`);
  return { inWal, received };
}

// ── Commands ───────────────────────────────────────────────────────────────────────────

type Cmd = fc.AsyncCommand<Model, Real>;

function keysOf(r: Real, seq: number): string[] {
  return r.receiver
    .logs()
    .filter((l) => seqOf(l.contents) === seq)
    .map((l) => l.idempotencyKey ?? '(none)');
}

/**
 * Checked after every command: the receiver stored only logs whose add resolved, and each at
 * most once so far (it deduplicates by idempotency key, so a second copy means that a record
 * went out under two different keys).
 */
function checkReceiver(m: Model, r: Real): void {
  const seen = new Set<number>();
  for (const l of r.receiver.logs()) {
    const s = seqOf(l.contents);
    assert.ok(!seen.has(s), `the receiver stored seq ${s} twice, under keys ${keysOf(r, s).join(' and ')}`);
    seen.add(s);
    assert.ok(m.added.has(s), `the receiver stored seq ${s}, whose add ${m.refused.has(s) ? 'was refused' : 'never resolved'}`);
  }
}

/** Every command: runs, then checks the receiver. */
abstract class Command implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    coverage.commands++;
    await this.act(m, r);
    checkReceiver(m, r);
    if (r.running) checkReady(m, r);
  }
  protected abstract act(m: Model, r: Real): Promise<void>;
  abstract toString(): string;
}

class AddCommand extends Command {
  constructor(
    readonly n: number,
    readonly pad: number,
    readonly concurrent: boolean,
  ) {
    super();
  }
  protected async act(m: Model, r: Real): Promise<void> {
    coverage.adds++;
    const seqs = Array.from({ length: this.n }, () => m.nextSeq++);
    const addOne = async (seq: number): Promise<void> => {
      await r.runner.add(makeLog(seq, this.pad));
      m.added.add(seq);
      m.addedThisLife++;
      coverage.logs++;
    };
    if (this.concurrent) await Promise.all(seqs.map(addOne));
    else for (const seq of seqs) await addOne(seq);
  }
  toString(): string {
    return `Add(${this.n}, pad ${this.pad}${this.concurrent ? ', concurrent' : ''})`;
  }
}

class TickCommand extends Command {
  constructor(readonly ms: number) {
    super();
  }
  protected async act(): Promise<void> {
    await delay(this.ms);
  }
  toString(): string {
    return `Tick(${this.ms})`;
  }
}

type Latency = number | readonly [number, number];

class SinkFaultsCommand extends Command {
  constructor(
    readonly failRate: number,
    readonly resetRate: number,
    readonly latencyMs: Latency,
  ) {
    super();
  }
  protected async act(_m: Model, r: Real): Promise<void> {
    r.receiver.setFaults({ failRate: this.failRate, failStatus: 503, resetRate: this.resetRate, latencyMs: this.latencyMs });
  }
  toString(): string {
    return `SinkFaults(fail ${this.failRate}, reset ${this.resetRate}, latency ${JSON.stringify(this.latencyMs)})`;
  }
}

class SinkOutageCommand extends Command {
  constructor(readonly ms: number) {
    super();
  }
  protected async act(_m: Model, r: Real): Promise<void> {
    if (r.outage !== undefined) return;
    coverage.outages++;
    const outage: Promise<void> = r.receiver.outage(this.ms).finally(() => {
      if (r.outage === outage) r.outage = undefined;
    });
    r.outage = outage;
    outage.catch(() => undefined);
    // The receiver closes its socket at once; let the close land before the next command.
    await delay(1);
  }
  toString(): string {
    return `SinkOutage(${this.ms})`;
  }
}

/**
 * `isReady()` of the running flusher against its WAL's quota state, read in the same tick
 * (white-box: the WAL is the flusher's private field). Also run after every command.
 */
function checkReady(m: Model, r: Real): void {
  coverage.readyChecks++;
  const wal = walOf(r.flusher);
  assert.ok(wal !== undefined, 'a running flusher has a WAL');
  const ready = r.flusher.isReady('proj', 'store', 0n);
  const overQuota = wal.isOverQuota();
  assert.equal(ready, !overQuota, `isReady() is ${ready} while the WAL is ${overQuota ? '' : 'not '}over its quota`);
  if (m.config.walMaxBytes === UNBOUNDED) assert.equal(ready, true, 'isReady() is false though the WAL cannot reach its quota');
  if (!ready) coverage.notReady++;
}

class CheckReadyCommand extends Command {
  protected async act(m: Model, r: Real): Promise<void> {
    checkReady(m, r);
  }
  toString(): string {
    return 'CheckReady';
  }
}

class RestartCommand extends Command {
  protected async act(m: Model, r: Real): Promise<void> {
    coverage.restarts++;
    await stopLife(m, r);
    await startLife(m, r);
  }
  toString(): string {
    return 'Restart';
  }
}

class StopAndInspectCommand extends Command {
  protected async act(m: Model, r: Real): Promise<void> {
    coverage.restarts++;
    await stopLife(m, r);
    await inspect(m, r);
    await startLife(m, r);
  }
  toString(): string {
    return 'StopAndInspect';
  }
}

/**
 * A process crash `afterMs` from now (groups are then being flushed, appended, delivered),
 * or (`duringWrite`) as soon as a WAL write is in its disk time (waiting at most 50 ms for
 * one): the WAL's store dies at once, the zombie is stopped and ignored. Then every log whose
 * flush had resolved is in the WAL or at the receiver (F1, W3); those not yet durable may be
 * lost. Then a new life on the same directory (an unclean open).
 */
class CrashCommand extends Command {
  constructor(
    readonly afterMs: number,
    readonly duringWrite: boolean,
  ) {
    super();
  }
  protected async act(m: Model, r: Real): Promise<void> {
    coverage.crashes++;
    await delay(this.afterMs);
    if (this.duringWrite && r.config.writeDelayMs > 0) {
      const until = performance.now() + 50;
      while (r.opener.writing === 0 && performance.now() < until) await delay(0);
    }
    // The instant of the crash: nothing the old life does from here on counts.
    r.probe.dead = true;
    for (const s of m.added) {
      if (!m.durable.has(s) && !m.mayBeLost.has(s)) {
        m.mayBeLost.add(s);
        coverage.notDurableAtCrash++;
      }
    }
    await r.opener.crash();
    r.running = false;
    // The zombie: its writes fail, its runner's last groups go to the dead probe.
    await r.runner.stop().catch(() => undefined);
    await r.flusher.stop().catch(() => undefined);
    coverage.writesCutByCrash += r.opener.cut;
    await inspect(m, r);
    await startLife(m, r);
  }
  toString(): string {
    return `Crash(after ${this.afterMs} ms${this.duringWrite ? ', during a write' : ''})`;
  }
}

/**
 * Adds racing a stop: `before` adds fired without awaiting them (some may wait on
 * backpressure), then `runner.stop()`, then `after` adds at once. Each add either resolves
 * (accepted: the log must not be lost) or rejects (refused: it must never arrive).
 */
class AddsAroundStopCommand extends Command {
  constructor(
    readonly before: number,
    readonly after: number,
  ) {
    super();
  }
  protected async act(m: Model, r: Real): Promise<void> {
    coverage.stopRaces++;
    coverage.restarts++;
    const settle = (seq: number, p: Promise<void>, afterStop: boolean): Promise<void> =>
      p.then(
        () => {
          m.added.add(seq);
          m.addedThisLife++;
          coverage.logs++;
          if (afterStop) coverage.addsResolvedAfterStop++;
        },
        () => {
          m.refused.add(seq);
          coverage.addsRefusedAtStop++;
        },
      );
    const adds: Promise<void>[] = [];
    for (let i = 0; i < this.before; i++) {
      const seq = m.nextSeq++;
      adds.push(settle(seq, r.runner.add(makeLog(seq, 0)), false));
    }
    const stopping = r.runner.stop();
    for (let i = 0; i < this.after; i++) {
      const seq = m.nextSeq++;
      adds.push(settle(seq, r.runner.add(makeLog(seq, 0)), true));
    }
    await Promise.all(adds);
    await stopLife(m, r, stopping);
    await inspect(m, r);
    await startLife(m, r);
  }
  toString(): string {
    return `AddsAroundStop(${this.before}, ${this.after})`;
  }
}

/**
 * Latency faults. The two slow ones pass the client's timeout (120–300 ms) now and then: the
 * receiver still stores such a request, and the retry is deduplicated by its key. None is so
 * slow that delivery stalls for the runner's 5 s stop deadline (see B4 below for what
 * happens when the latency sits at the timeout).
 */
const latency = fc.constantFrom<Latency>(0, 0, [0, 5], [0, 30], [20, 150], [50, 250]);

const baseCommands = [
  fc
    .tuple(fc.integer({ min: 1, max: 60 }), fc.constantFrom(0, 0, 20, 100, 300), fc.boolean())
    .map(([n, pad, concurrent]) => new AddCommand(n, pad, concurrent)),
  fc.integer({ min: 1, max: 40 }).map((ms) => new TickCommand(ms)),
  fc
    .tuple(fc.constantFrom(0, 0, 0.2, 0.5, 0.9), fc.constantFrom(0, 0, 0.1, 0.3), latency)
    .map(([f, rr, l]) => new SinkFaultsCommand(f, rr, l)),
  fc.integer({ min: 5, max: 300 }).map((ms) => new SinkOutageCommand(ms)),
  fc.constant(new CheckReadyCommand()),
  fc.constant(new RestartCommand()),
  fc.constant(new StopAndInspectCommand()),
  fc.tuple(fc.integer({ min: 0, max: 15 }), fc.boolean()).map(([ms, w]) => new CrashCommand(ms, w)),
];

const racingCommands = [
  ...baseCommands,
  fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 5 })).map(([b, a]) => new AddsAroundStopCommand(b, a)),
];

// ── The end of a run ───────────────────────────────────────────────────────────────────

/**
 * Waits until the receiver holds every added log and the WAL has 0 pending (bounded). Fails
 * at once when logs are missing and nothing holds them any more (aggregator, runner, WAL and
 * delivery all empty on two polls in a row): they were lost.
 */
async function drain(m: Model, r: Real): Promise<void> {
  const started = performance.now();
  let lastProgress = started;
  let last = '';
  let emptyPolls = 0;
  for (;;) {
    const received = new Set(r.receiver.logs().map((l) => seqOf(l.contents)));
    const missing = m.mustArrive().filter((s) => !received.has(s)).length;
    const fs = await r.flusher.stats();
    const pending = fs?.wal.pendingRecords ?? -1;
    if (missing === 0 && pending === 0) return;
    const holding = pending + (fs?.delivery.inFlightBatches ?? 1) + r.runner.stats().groupsPending + r.aggregator.bufferedGroups;
    emptyPolls = holding === 0 ? emptyPolls + 1 : 0;
    if (emptyPolls >= 2) {
      const gone = m.mustArrive().filter((s) => !received.has(s));
      assert.fail(`${gone.length} added logs were lost: not received, and nothing holds them (seqs ${gone.slice(0, 20).join(', ')})`);
    }
    const now = performance.now();
    const state = `${missing}/${pending}/${r.runner.stats().groupsPending}`;
    if (state !== last) {
      last = state;
      lastProgress = now;
    }
    if (now - lastProgress > STALL_MS || now - started > DRAIN_CAP_MS) {
      assert.fail(
        `final drain stalled: ${missing} added logs not received, ${pending} records pending in the WAL, ` +
          `runner ${JSON.stringify(r.runner.stats())}, receiver ${JSON.stringify(r.receiver.stats())}`,
      );
    }
    await delay(10);
  }
}

async function finalChecks(m: Model, r: Real): Promise<void> {
  r.receiver.clearFaults();
  await r.outage;
  if (!r.running) await startLife(m, r);
  await drain(m, r);
  await stopLife(m, r);

  const { records } = await pendingSeqs(r.dir);
  assert.equal(records, 0, 'the WAL holds no pending record after the final drain');

  const rs = r.receiver.stats();
  coverage.receiverFails += rs.faults.fail;
  coverage.receiverResets += rs.faults.reset;
  coverage.duplicateRequests += rs.duplicateRequests;

  const count = new Map<number, number>();
  for (const l of r.receiver.logs()) {
    const s = seqOf(l.contents);
    count.set(s, (count.get(s) ?? 0) + 1);
  }
  const twice = [...count].filter(([, n]) => n > 1).map(([s, n]) => `${s}×${n} (${keysOf(r, s).join(' ')})`);
  assert.deepEqual(twice, [], 'the receiver (deduplicating by idempotency key) stored each log once');
  const missing = m.mustArrive().filter((s) => !count.has(s)).sort((a, b) => a - b);
  assert.deepEqual(missing, [], 'every added log was delivered (but those a crash took before they were durable)');
  const extra = [...count.keys()].filter((s) => !m.added.has(s)).sort((a, b) => a - b);
  assert.deepEqual(extra, [], 'nothing was delivered that was not added (a refused add must not arrive)');
  coverage.lostAtCrash += [...m.mayBeLost].filter((s) => !count.has(s)).length;
}

// ── The properties ─────────────────────────────────────────────────────────────────────

async function oneRun(config: RunConfig, cmds: Iterable<Cmd>): Promise<void> {
  coverage.runs++;
  coverage.byEncoding[config.encoding] = (coverage.byEncoding[config.encoding] ?? 0) + 1;
  if (config.walMaxBytes !== UNBOUNDED) coverage.smallWal++;
  const dir = mkdtempSync(join(tmpdir(), 'walship-pipeline-model-'));
  const receiver = await startReceiver({ logger, seed: config.receiverSeed });
  const model = new Model(config);
  let real: Real | undefined;
  try {
    const life = await launch(config, dir, receiver, model.durable);
    const r: Real = { ...life, config, dir, receiver, outage: undefined, lives: 1, running: true };
    real = r;
    await fc.asyncModelRun(() => ({ model, real: r }), cmds);
    await finalChecks(model, r);
  } finally {
    // Whatever state a failure left: no fault, no outage, everything stopped and removed.
    receiver.clearFaults();
    await real?.outage?.catch(() => undefined);
    await real?.runner.stop().catch(() => undefined);
    await real?.flusher.stop().catch(() => undefined);
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(name: string, started: number): void {
  const ms = performance.now() - started;
  console.log(`# ${name}: ${coverage.runs} runs in ${(ms / 1000).toFixed(1)} s (${(ms / Math.max(1, coverage.runs)).toFixed(0)} ms per run)`);
  console.log(`# ${name} coverage ${JSON.stringify(coverage)}`);
}

function resetCoverage(): void {
  for (const [k, v] of Object.entries(coverage)) {
    (coverage as Record<string, unknown>)[k] = typeof v === 'number' ? 0 : {};
  }
}

it(`pipeline: every added log is delivered exactly once or kept in the WAL, across stops, restarts and a flaky sink (${RUNS} runs, seed ${SEED})`, async () => {
  console.log(`# pipeline-model seed ${SEED} (replay with WALSHIP_SEED=${SEED})`);
  resetCoverage();
  const started = performance.now();
  try {
    await fc.assert(
      fc.asyncProperty(runConfig, fc.commands(baseCommands, { maxCommands: 25, size: 'medium' }), oneRun),
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
  } finally {
    report('pipeline-model', started);
  }
});

it(`pipeline: an add racing stop() is either refused or not lost (${RACE_RUNS} runs, seed ${SEED})`, async () => {
  console.log(`# pipeline-model (adds racing stop) seed ${SEED} (replay with WALSHIP_SEED=${SEED})`);
  resetCoverage();
  const started = performance.now();
  try {
    await fc.assert(
      fc.asyncProperty(runConfig, fc.commands(racingCommands, { maxCommands: 15, size: 'small' }), oneRun),
      { numRuns: RACE_RUNS, seed: SEED, includeErrorInReport: true },
    );
  } finally {
    report('pipeline-model (adds racing stop)', started);
  }
});

// ── Bugs the model found, as deterministic tests ───────────────────────────────────────

/** A flusher that is not ready until a graceful stop begins (`setUrgent(true)`), then takes everything. */
class GateFlusher implements FlusherV1 {
  ready = false;
  readonly groups: LogGroup[] = [];
  async init(): Promise<void> {}
  description(): string {
    return 'gate';
  }
  isReady(): boolean {
    return this.ready;
  }
  setUrgent(flag: boolean): void {
    if (flag) this.ready = true;
  }
  async flush(_p: string, _l: string, _c: string, groups: readonly LogGroup[]): Promise<void> {
    this.groups.push(...groups);
  }
  async stop(): Promise<void> {}
}

const handedOver = (f: GateFlusher): number[] => f.groups.flatMap((g) => g.logs.map((l) => Number(l.contents[0]?.value)));

it('B1 (runner, fixed): an add waiting on backpressure when stop() begins is refused with WALSHIP_CLOSED or handed over, never silently dropped', async () => {
  // Found by the racing property (AddsAroundStop(n, 0), small queue). Before the fix,
  // PipelineRunner.doStop did its final aggregator flush and closes the queue synchronously; closing wakes the add
  // that waited for room, which retries `aggregator.add` (the state 'stopping' is allowed),
  // so the log lands in the aggregator after its last flush: `add` resolved, the log is
  // never handed to a flusher, and `logsLost` stays 0. The same happens to any add called
  // after stop() while the runner is stopping.
  const flusher = new GateFlusher();
  const runner = new PipelineRunner({
    context: createContext({ configName: 'cfg', logger }),
    aggregator: new DefaultAggregator({ intervalMs: 1000, maxLogsPerGroup: 1, maxGroups: 1 }),
    flushers: [flusher],
    queueCapacity: 1,
  });
  await runner.start();
  // In one tick: 0 is buffered; 1 quick-flushes 0 into the queue; 2 finds the queue full and waits.
  const outcomes = [0, 1, 2].map((s) =>
    runner.add(makeLog(s, 0)).then(
      () => 'accepted',
      () => 'refused',
    ),
  );
  const stopping = runner.stop();
  const [, , third] = await Promise.all(outcomes);
  await stopping;
  const stats = runner.stats();
  const accepted = third === 'accepted' ? [0, 1, 2] : [0, 1];
  assert.deepEqual(
    { handedOver: handedOver(flusher), logsLost: stats.logsLost },
    { handedOver: accepted, logsLost: 0 },
    `add(2) was ${third}; stats ${JSON.stringify(stats)}`,
  );
});

it('B2 (delivery, fixed): a record sent alone before a restart goes out alone again after it, under the same key, and is stored once', async () => {
  // Found by the main property ([ndjson, flusher stopTimeoutMs 0] Add(9), Restart). Before the
  // fix, DeliveryManager.deliver stored a batch's composition (fixBatch, D2) only for batches of
  // more than one record (BatchBook.fix also ignores them). A record cut alone is sent under
  // `<walId>-<seq>`; if the receiver stored it but the flusher stopped before the answer,
  // the next life cuts it with the records after it, under `<walId>-<first>-<last>`: the
  // receiver cannot deduplicate, and stores the log twice.
  const receiver = await startReceiver({ logger, latencyMs: 50 });
  const dir = mkdtempSync(join(tmpdir(), 'walship-pipeline-b2-'));
  const group = (seq: number): LogGroup => ({ logs: [makeLog(seq, 0)], logTags: [] });
  const options = {
    dir,
    sink: { type: 'http', url: receiver.url, encoding: 'ndjson', probe: false },
    delivery: { inFlightBatches: 1, retryMinDelayMs: 1, retryMaxDelayMs: 10 },
    modeOptions: { waitRetryMs: 1, maxWaitRetryMs: 10 },
    stopTimeoutMs: 0,
    logger,
  } as const;
  try {
    const first = new DurableFlusher(options);
    await first.init();
    await first.flush('p', 's', 'c', [group(1)]); // cut alone: key <walId>-1, answered after 50 ms
    await until(() => receiver.stats().requests >= 1);
    await first.flush('p', 's', 'c', [group(2)]); // waits for the window of 1
    await first.stop(); // aborts [1]; the receiver still stores it (R3)
    await until(() => receiver.stats().logs >= 1);
    receiver.clearFaults();
    const second = new DurableFlusher(options);
    await second.init(); // [1, 2] are cut together: key <walId>-1-2
    await until(async () => (await second.stats())?.wal.pendingRecords === 0);
    await second.stop();
    const keys = receiver.logs().map((l) => `${l.contents.seq} via ${l.idempotencyKey}`);
    const seqs = receiver.logs().map((l) => Number(l.contents.seq));
    assert.deepEqual(seqs.sort(), [1, 2], `each log stored once; the receiver has ${JSON.stringify(keys)}`);
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('B3 (runner, fixed): while no flusher is ready, add() is held back once the queue is full: groups do not pile up in memory', async () => {
  // Before the fix, PipelineRunner.ship moved the LogGroupQueue into its unbounded `pending`
  // array on every poll (every 10 ms), ready or not, and every periodic aggregator flush appends there too.
  // So the queue is never full for long, add() "waits" at most a poll, and a full WAL (F2)
  // does not slow the inputs down: memory grows by up to queueCapacity groups per poll and
  // the groups held are not durable. iLogtail's runner stops draining the aggregator while a
  // flusher is not ready, so the aggregator's buffer and the queue fill and Add fails
  // (backpressure to the input).
  const flusher = new GateFlusher();
  const capacity = 2;
  const maxGroups = 2;
  const runner = new PipelineRunner({
    context: createContext({ configName: 'cfg', logger }),
    aggregator: new DefaultAggregator({ intervalMs: 20, maxLogsPerGroup: 10, maxGroups }),
    flushers: [flusher],
    queueCapacity: capacity,
  });
  await runner.start();
  const until500 = performance.now() + 500;
  let seq = 0;
  try {
    while (performance.now() < until500) await Promise.race([runner.add(makeLog(seq++, 0)), delay(600)]);
    const held = runner.stats().groupsPending;
    // What the queue and the aggregator may hold, plus one periodic flush of the aggregator.
    const bound = capacity + 2 * maxGroups;
    assert.ok(
      held <= bound,
      `no flusher was ready for 500 ms, yet ${seq} adds resolved and the runner holds ${held} groups (bound ${bound})`,
    );
  } finally {
    await runner.stop();
  }
});

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(5);
  }
}

it('B4 (http sink, fixed): `timeoutMs` runs from connecting, so a request waiting for a pooled connection does not time out', async () => {
  // Found by the main property with latency [50, 250] ms and an 80 ms timeout. Before the fix
  // the runner lost a group at stop because in 5 s delivery acknowledged 1 record of 22 (1219 timeouts;
  // the receiver had stored all 22 and answered 1109 duplicates). HttpClient.#exchange started
  // its timer before `pool.request`, so the time a request waits for one of `concurrency`
  // connections counts against `timeoutMs` ("from connecting to the last byte", says the
  // option). With more batches in flight than connections (inFlightBatches 16, 32 when
  // urgent, vs concurrency 4), queued requests use up their budget before they are sent,
  // every retry queues again, and goodput collapses while the sink is merely slow.
  // Minimal form: one connection, two records sent at once (SLS: one request each), a sink
  // that answers in 60 ms, a timeout of 100 ms. Each exchange takes 60 ms; the second waits
  // 60 ms for the connection first and times out.
  const receiver = await startReceiver({ logger, latencyMs: 60 });
  const dir = mkdtempSync(join(tmpdir(), 'walship-pipeline-b4-'));
  const flusher = new DurableFlusher({
    dir,
    sink: { type: 'http', url: receiver.url, encoding: 'sls', probe: false, timeoutMs: 100, concurrency: 1 },
    delivery: { retryMinDelayMs: 1, retryMaxDelayMs: 10 },
    modeOptions: { waitRetryMs: 1, maxWaitRetryMs: 10 },
    logger,
  });
  try {
    await flusher.init();
    await flusher.flush('p', 's', 'c', [{ logs: [makeLog(1, 0)], logTags: [] }, { logs: [makeLog(2, 0)], logTags: [] }]);
    await until(async () => (await flusher.stats())?.wal.pendingRecords === 0);
    const failures = (await flusher.stats())?.delivery.failures ?? {};
    assert.deepEqual(failures, {}, 'no request took longer than 60 ms once it had a connection, yet some timed out');
  } finally {
    await flusher.stop();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
