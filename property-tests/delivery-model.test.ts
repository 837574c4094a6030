/**
 * Model-based test of delivery (D1–D5 of ARCHITECTURE.md): fast-check drives a real WAL (temp
 * directory, `sync: 'never'`), a real DeliveryManager and a real connection mode (single,
 * failover or load balance, drawn per run) over in-process sink clients whose behaviour the
 * commands change: appends, scripted failures (retryable, config), partial publishes, lost
 * responses (the destination stored the batch but the answer timed out), permanent rejection
 * of chosen records, hosts going down and up, restarts (stop with a short deadline, close and
 * reopen the WAL, start a new manager) and quiet points (wait until everything deliverable was
 * delivered). Each run also draws the mode's host count, `ordered`, the batch size, the
 * in-flight window, the mode's `maxAttempts`, the sink's latency and the WAL's read-ahead
 * window. Retry delays are tiny (1–5 ms), so a run takes tens of ms. Replay a failure with WALSHIP_SEED=<seed> (printed at the start and in
 * fast-check's failure message, with the shrunk path); WALSHIP_MODEL_RUNS sets the number of
 * runs (default 50, 500 with WALSHIP_SOAK).
 *
 * ## What is observed
 *
 * - **The destination** (`Destination`) is shared by every client of every manager of a run.
 *   It decides each publish when the request arrives and *stores* the records it accepts at
 *   once (an "event" per record), then answers after the run's latency. An event ends
 *   `reported` (the client told the mode "published") or `lost` (the destination has the
 *   record but the client failed: a scripted lost response) or `aborted` (the manager aborted
 *   the publish at a stop while the answer was on its way). This is the adversarial sink
 *   at-least-once has to survive.
 * - **The WAL side**: the manager reads the WAL through `ObservedSource`, a transparent proxy
 *   that notes what is handed out, acknowledged and dead-lettered, and checks D1 and D3 at
 *   the moment they happen (a violation is recorded, since the manager swallows errors thrown
 *   by `ack`, and asserted after every command).
 *
 * ## The checks
 *
 * - **D1, at every WAL ack**: the record was `reported` by the destination after it was
 *   handed out in this WAL generation (an ack never precedes the destination's own answer,
 *   and a partial publish acks only the published prefix).
 * - **D3, at every dead-letter**: the record is one the sink rejects permanently, and the
 *   sink gave a permanent answer to a batch of that record alone (the batch was split to
 *   isolate it).
 *   Retryable and config failures never dead-letter anything.
 * - **D2, at every publish**: record keys are `<walId>-<seq>`, batch keys are the record key
 *   or `<walId>-<first>-<last>`, a batch key always names the same records (within and across
 *   restarts), the walId survives clean restarts (W8), payloads are intact.
 * - **D4**: publishes outstanding at the destination never exceed `inFlightBatches` (in ordered
 *   runs, the bound the manager really keeps: see the known-bug test at the end of the file).
 * - **D5** (ordered runs): within one manager's life, a logstoreKey's records first reach the
 *   destination in sequence order, and no record arrives after a later one of its key was
 *   acknowledged (a retried batch repeats its records, it never goes back further).
 * - **WAL bookkeeping** after every restart: the reopened WAL's pending count equals the
 *   model's (appended − acked − dead-lettered) and its walId is unchanged.
 * - **Liveness** at WaitQuiet: when some host is up, the WAL drains to 0 pending (scripted
 *   failures are finite; rejected records are dead-lettered); the wait fails after 1 s without
 *   progress or 10 s in all. With every host down, WaitQuiet only lets a few ms pass.
 * - **At the end** (every host up, scripted failures cleared, WAL drained, manager stopped):
 *   - every appended record was `reported` by the destination and acked in the WAL, or it sits
 *     in `wal.listDeadLetters()`, with the sink's reason; nothing is lost;
 *   - the dead-letter queue is exactly {rejected records that were never acked}: no good
 *     record went with a bad one, and no rejected pending record stayed behind;
 *   - **duplicates are justified, exactly**: for a record's consecutive destination events
 *     e1, e2, either e1 was `lost` (the destination stored it but the manager was told the
 *     attempt failed, so the retry is correct at-least-once behaviour), or a Restart happened
 *     between e1 and e2 while the record was handed out and not settled in the WAL (in flight
 *     at the restart, W3; this covers `aborted` arrivals, which only a stop causes). Anything
 *     else is a redelivery of a record already acknowledged: a bug. This is exact because a record
 *     is handed out once per WAL generation and a batch is retried only after a failed
 *     attempt, so these two are the only ways the same record can reach the destination twice;
 *   - the WAL's counters agree with a full scan (`check()`), 0 pending, dead letters counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import {
  type ConnectionMode,
  type ConnectionModeOptions,
  type DeliveryBatch,
  DeliveryError,
  DeliveryManager,
  type DeliveryRecord,
  type DeliverySource,
  FailOverConnectionMode,
  LoadBalancerMode,
  SingleConnectionMode,
} from '../src/delivery/index.ts';
import { type FixedBatch, type WalRecord, WriteAheadLog } from '../src/wal/index.ts';
import { ScriptedClient } from '../test/helpers/scripted-client.ts';

const RUNS = Number(process.env.WALSHIP_MODEL_RUNS ?? (process.env.WALSHIP_SOAK ? 500 : 50));
const SEED = Number(process.env.WALSHIP_SEED ?? Date.now() % 2 ** 31);
const KEYS = 3;
const REJECT_REASON = 'http_400';
/**
 * Liveness waits fail after this long without progress (no change in pending records and no
 * publish reaching the destination; a healthy drain retries every few ms), or after the cap.
 * Failing fast on a stall keeps shrinking a liveness bug quick.
 */
const STALL_MS = 1_000;
const DRAIN_CAP_MS = 10_000;
const logger = pino({ level: 'silent' });

// ── The run's configuration ────────────────────────────────────────────────────────────

type ModeName = 'single' | 'failover' | 'loadbalance';

interface RunConfig {
  readonly mode: ModeName;
  readonly hosts: number;
  readonly ordered: boolean;
  readonly batchMaxRecords: number;
  readonly inFlightBatches: number;
  readonly maxAttempts: number;
  readonly latencyMs: number;
  /** The WAL's read-ahead window: small values make the reader go back to disk often. */
  readonly readAheadRecords: number;
}

const runConfig: fc.Arbitrary<RunConfig> = fc
  .record({
    mode: fc.constantFrom<ModeName>('single', 'loadbalance', 'failover'),
    hosts: fc.integer({ min: 1, max: 3 }),
    ordered: fc.boolean(),
    batchMaxRecords: fc.integer({ min: 1, max: 6 }),
    inFlightBatches: fc.integer({ min: 1, max: 4 }),
    maxAttempts: fc.constantFrom(0, 0, 1, 2),
    latencyMs: fc.constantFrom(0, 0, 1, 2),
    readAheadRecords: fc.constantFrom(1, 3, 64),
  })
  .map((c) => ({ ...c, hosts: c.mode === 'single' ? 1 : c.hosts }));

// ── The destination ────────────────────────────────────────────────────────────────────

/** `lost`: stored, but the client failed (a lost answer); `aborted`: stored, but the manager
 * aborted the publish (a stop) before the answer came. Both leave the record pending. */
type EventStatus = 'pending' | 'reported' | 'lost' | 'aborted';

/** The destination stored one record (one per record of every accepting publish). */
interface SinkEvent {
  readonly tick: number;
  readonly epoch: number;
  readonly seq: number;
  readonly key: bigint;
  status: EventStatus;
}

type Failure = { readonly kind: 'retryable'; readonly reason: string } | { readonly kind: 'config'; readonly reason: string };

/** State shared by all clients (hosts) of all managers of one run. */
class Destination {
  tick = 0;
  epoch = 0;
  walId = '';
  readonly events: SinkEvent[] = [];
  /** Seqs the sink rejects permanently whenever a batch contains one. */
  readonly rejected = new Set<number>();
  /** Seqs the sink answered a permanent rejection for, alone in their batch. */
  readonly rejectedAlone = new Set<number>();
  readonly failNext: Failure[] = [];
  partialNext = 0;
  lostNext = 0;
  readonly down: boolean[];
  outstanding = 0;
  maxOutstanding = 0;
  /** Publishes that reached the destination, refused ones included (progress, for waits). */
  publishes = 0;
  /** Batch key → its seqs, across restarts (D2: a key always names the same records). */
  readonly batchKeys = new Map<string, string>();
  readonly violations: string[] = [];

  constructor(
    readonly config: RunConfig,
    readonly payloadOf: (seq: number) => Buffer,
  ) {
    this.down = Array.from({ length: config.hosts }, () => false);
  }

  next(): number {
    return ++this.tick;
  }

  /** D2 and payload checks on a batch as it arrives. */
  inspect(batch: DeliveryBatch): void {
    const seqs = batch.records.map((r) => r.seq);
    const first = seqs[0];
    const last = seqs[seqs.length - 1];
    if (first === undefined || last === undefined) {
      this.violations.push(`empty batch ${batch.key}`);
      return;
    }
    for (let i = 1; i < seqs.length; i++) {
      if ((seqs[i] as number) <= (seqs[i - 1] as number)) this.violations.push(`batch ${batch.key} not in seq order: ${seqs}`);
    }
    const expectedKey = seqs.length === 1 ? `${this.walId}-${first}` : `${this.walId}-${first}-${last}`;
    if (batch.key !== expectedKey) this.violations.push(`D2: batch key ${batch.key}, expected ${expectedKey}`);
    const composition = seqs.join(',');
    const before = this.batchKeys.get(batch.key);
    if (before === undefined) this.batchKeys.set(batch.key, composition);
    else if (before !== composition) this.violations.push(`D2: key ${batch.key} named [${before}] and now [${composition}]`);
    for (const r of batch.records) {
      if (r.idempotencyKey !== `${this.walId}-${r.seq}`) this.violations.push(`D2: record ${r.seq} has key ${r.idempotencyKey}`);
      if (!Buffer.from(r.payload).equals(this.payloadOf(r.seq))) this.violations.push(`payload of seq ${r.seq} damaged`);
    }
  }
}

/**
 * One host of the destination. Reuses ScriptedClient's connect/close bookkeeping
 * (`failConnects` is set to "forever" while the host is down) and replaces its publish with
 * the destination's behaviour.
 */
class ModelSinkClient extends ScriptedClient {
  constructor(
    private readonly dest: Destination,
    private readonly host: number,
  ) {
    super(`host-${host}`);
    this.failConnects = dest.down[host] ? Number.MAX_SAFE_INTEGER : 0;
  }

  override async publishEvents(batch: DeliveryBatch, signal?: AbortSignal): Promise<readonly DeliveryRecord[]> {
    const d = this.dest;
    d.publishes++;
    d.inspect(batch);
    if (d.down[this.host]) {
      this.connected = false;
      throw new DeliveryError(`connect ECONNREFUSED ${this.name}`, { kind: 'retryable', reason: 'econnrefused' });
    }
    const failure = d.failNext.shift();
    if (failure !== undefined) {
      if (failure.reason === 'econnreset') this.connected = false;
      throw new DeliveryError(`scripted ${failure.reason}`, failure);
    }
    if (batch.records.some((r) => d.rejected.has(r.seq))) {
      if (batch.records.length === 1) d.rejectedAlone.add((batch.records[0] as DeliveryRecord).seq);
      throw new DeliveryError(`scripted ${REJECT_REASON}`, { kind: 'permanent', reason: REJECT_REASON, statusCode: 400 });
    }
    let count = batch.records.length;
    let lose = false;
    if (d.lostNext > 0) {
      d.lostNext--;
      lose = true;
    } else if (d.partialNext > 0) {
      d.partialNext--;
      count = Math.floor(batch.records.length / 2);
    }
    // The destination stores what it accepts on arrival; the answer follows.
    const events = batch.records.slice(0, count).map((r) => {
      const e: SinkEvent = { tick: d.next(), epoch: d.epoch, seq: r.seq, key: r.meta.logstoreKey, status: 'pending' };
      d.events.push(e);
      return e;
    });
    // Counted while the answer is on its way (runs with latency): the D4 measure.
    d.outstanding++;
    d.maxOutstanding = Math.max(d.maxOutstanding, d.outstanding);
    try {
      if (d.config.latencyMs > 0) await abortableDelay(d.config.latencyMs, signal);
      else signal?.throwIfAborted();
    } catch (err) {
      for (const e of events) e.status = 'aborted';
      throw err;
    } finally {
      d.outstanding--;
    }
    if (lose) {
      for (const e of events) e.status = 'lost';
      throw new DeliveryError('scripted: the response timed out', { kind: 'retryable', reason: 'timeout' });
    }
    for (const e of events) e.status = 'reported';
    return batch.records.slice(count);
  }
}

function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// ── The WAL side, observed ─────────────────────────────────────────────────────────────

/** What the WAL did, as seen through {@link ObservedSource}. */
class Ledger {
  /** seq → tick when handed out in the current WAL generation (cleared at a restart). */
  readonly handedOut = new Map<number, number>();
  readonly acked = new Set<number>();
  readonly deadLettered = new Set<number>();
  /** seq → ticks of the restarts at which it was handed out and not settled. */
  readonly inFlightAtRestart = new Map<number, number[]>();
}

/** The WAL as the manager sees it, with D1 and D3 checked as they happen. */
class ObservedSource implements DeliverySource {
  constructor(
    private readonly wal: WriteAheadLog,
    private readonly dest: Destination,
    private readonly ledger: Ledger,
  ) {}

  get walId(): string {
    return this.wal.walId;
  }

  get pendingRecords(): number {
    return this.wal.pendingRecords;
  }

  async nextBatch(maxRecords: number, maxBytes: number, signal?: AbortSignal): Promise<WalRecord[]> {
    const batch = await this.wal.nextBatch(maxRecords, maxBytes, signal);
    for (const r of batch) {
      const l = this.ledger;
      if (l.handedOut.has(r.seq) || l.acked.has(r.seq) || l.deadLettered.has(r.seq)) {
        this.dest.violations.push(`WAL handed out seq ${r.seq} twice in one generation, or after it was settled`);
      }
      l.handedOut.set(r.seq, this.dest.next());
    }
    return batch;
  }

  async ack(records: readonly WalRecord[]): Promise<void> {
    for (const r of records) {
      const since = this.ledger.handedOut.get(r.seq) ?? Number.POSITIVE_INFINITY;
      const reported = this.dest.events.some((e) => e.seq === r.seq && e.status === 'reported' && e.tick > since);
      if (!reported) this.dest.violations.push(`D1: seq ${r.seq} acked in the WAL without the destination's acknowledgement`);
    }
    await this.wal.ack(records);
    for (const r of records) {
      this.ledger.acked.add(r.seq);
      this.ledger.handedOut.delete(r.seq);
    }
  }

  fixBatch(seqs: readonly number[]): Promise<void> {
    return this.wal.fixBatch(seqs);
  }

  batchOf(seq: number): FixedBatch | undefined {
    return this.wal.batchOf(seq);
  }

  async deadLetter(record: WalRecord, reason: string): Promise<void> {
    if (!this.dest.rejected.has(record.seq)) {
      this.dest.violations.push(`D3: seq ${record.seq} dead-lettered (${reason}) but the sink never rejected it permanently`);
    } else if (!this.dest.rejectedAlone.has(record.seq)) {
      this.dest.violations.push(`D3: seq ${record.seq} dead-lettered without being isolated in a batch of its own`);
    }
    await this.wal.deadLetter(record, reason);
    this.ledger.deadLettered.add(record.seq);
    this.ledger.handedOut.delete(record.seq);
  }
}

// ── Model and real system ──────────────────────────────────────────────────────────────

class Model {
  nextSeq = 1;
  /** Hosts the commands took down. */
  down: boolean[];
  constructor(readonly config: RunConfig) {
    this.down = Array.from({ length: config.hosts }, () => false);
  }
  get appended(): number {
    return this.nextSeq - 1;
  }
}

interface Real {
  readonly dir: string;
  readonly config: RunConfig;
  readonly dest: Destination;
  readonly ledger: Ledger;
  wal: WriteAheadLog;
  manager: DeliveryManager;
  /** The clients (one per host) of the running manager. */
  clients: ModelSinkClient[];
}

function payloadOf(seq: number): Buffer {
  return Buffer.from(`delivery-model record ${seq} ${'x'.repeat(seq % 7)}`);
}

function openWal(dir: string, readAheadRecords?: number): Promise<WriteAheadLog> {
  return WriteAheadLog.open({ dir, logger, sync: 'never', ...(readAheadRecords === undefined ? {} : { readAheadRecords }) });
}

type Launched = Pick<Real, 'manager' | 'clients'>;

function launch(r: Omit<Real, 'manager' | 'clients'>): Launched {
  const { config, dest } = r;
  const clients = Array.from({ length: config.hosts }, (_, i) => new ModelSinkClient(dest, i));
  const options: ConnectionModeOptions = {
    waitRetryMs: 1,
    maxWaitRetryMs: 5,
    maxAttempts: config.maxAttempts,
    timeoutMs: 1000,
    logger,
  };
  const mode: ConnectionMode =
    config.mode === 'single'
      ? new SingleConnectionMode(clients[0] as ModelSinkClient, options)
      : config.mode === 'failover'
        ? new FailOverConnectionMode(clients, options)
        : new LoadBalancerMode(clients, options);
  const manager = new DeliveryManager({
    source: new ObservedSource(r.wal, dest, r.ledger),
    mode,
    logger,
    batchMaxRecords: config.batchMaxRecords,
    inFlightBatches: config.inFlightBatches,
    ordered: config.ordered,
    retryMinDelayMs: 1,
    retryMaxDelayMs: 5,
    configRetryMaxDelayMs: 5,
  });
  manager.start();
  return { manager, clients };
}

function assertNoViolations(r: Real): void {
  const v = r.dest.violations;
  assert.ok(v.length === 0, `${v.length} violation(s): ${v.slice(0, 3).join('; ')}`);
}

/** Waits until the WAL has nothing pending; fails on a stall or at the cap. */
async function drained(r: Real, what: string): Promise<void> {
  const started = performance.now();
  let progressAt = started;
  let last = '';
  while (r.wal.pendingRecords > 0) {
    const now = performance.now();
    const progress = `${r.wal.pendingRecords}/${r.dest.publishes}`;
    if (progress !== last) {
      last = progress;
      progressAt = now;
    }
    if (now - progressAt > STALL_MS || now - started > DRAIN_CAP_MS) {
      assert.fail(`${what}: ${situation(r)} (no progress for ${Math.round(now - progressAt)} ms)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function situation(r: Real): string {
  const s = r.manager.stats();
  return JSON.stringify({
    pending: r.wal.pendingRecords,
    inFlightBatches: s.inFlightBatches,
    failures: s.failures,
    endpoints: s.endpoints,
    down: r.dest.down,
    failNext: r.dest.failNext.length,
    rejected: [...r.dest.rejected],
  });
}

// ── Commands ───────────────────────────────────────────────────────────────────────────

type Cmd = fc.AsyncCommand<Model, Real>;

class AppendCommand implements Cmd {
  constructor(readonly n: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const entries = Array.from({ length: this.n }, (_, i) => {
      const seq = m.nextSeq + i;
      return { payload: payloadOf(seq), logstoreKey: BigInt(seq % KEYS) };
    });
    const res = await r.wal.append(entries);
    assert.equal(res.firstSeq, m.nextSeq);
    m.nextSeq += this.n;
    assert.equal(res.lastSeq, m.nextSeq - 1);
    assertNoViolations(r);
  }
  toString(): string {
    return `Append(${this.n})`;
  }
}

class SinkFailNextCommand implements Cmd {
  constructor(
    readonly k: number,
    readonly failure: Failure,
  ) {}
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: Real): Promise<void> {
    for (let i = 0; i < this.k; i++) r.dest.failNext.push(this.failure);
    assertNoViolations(r);
  }
  toString(): string {
    return `SinkFailNext(${this.k}, ${this.failure.kind}:${this.failure.reason})`;
  }
}

class SinkPartialCommand implements Cmd {
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: Real): Promise<void> {
    r.dest.partialNext++;
    assertNoViolations(r);
  }
  toString(): string {
    return 'SinkPartial';
  }
}

/** The next accepted publish is stored by the destination but its answer times out. */
class SinkLoseResponseCommand implements Cmd {
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: Real): Promise<void> {
    r.dest.lostNext++;
    assertNoViolations(r);
  }
  toString(): string {
    return 'SinkLoseResponse';
  }
}

class SinkRejectRecordCommand implements Cmd {
  constructor(readonly pick: number) {}
  check(m: Model): boolean {
    return m.appended > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    r.dest.rejected.add((this.pick % m.appended) + 1);
    assertNoViolations(r);
  }
  toString(): string {
    return `SinkRejectRecord(#${this.pick})`;
  }
}

class SinkDownCommand implements Cmd {
  constructor(readonly host: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = this.host % m.config.hosts;
    m.down[h] = true;
    r.dest.down[h] = true;
    // New connects are refused; a connected client learns it on its next publish.
    for (const c of r.clients) if (c.name === `host-${h}`) c.failConnects = Number.MAX_SAFE_INTEGER;
    assertNoViolations(r);
  }
  toString(): string {
    return `SinkDown(${this.host})`;
  }
}

class SinkUpCommand implements Cmd {
  constructor(readonly host: number) {}
  check(m: Model): boolean {
    return m.down.some(Boolean);
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = this.host % m.config.hosts;
    m.down[h] = false;
    r.dest.down[h] = false;
    for (const c of r.clients) if (c.name === `host-${h}`) c.failConnects = 0;
    assertNoViolations(r);
  }
  toString(): string {
    return `SinkUp(${this.host})`;
  }
}


class RestartCommand implements Cmd {
  constructor(readonly stopTimeoutMs: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.manager.stop(this.stopTimeoutMs);
    const settled = r.dest.events.filter((e) => e.status === 'pending');
    assert.deepEqual(settled, [], 'every publish answered or aborted once the manager stopped');
    const at = r.dest.next();
    for (const seq of r.ledger.handedOut.keys()) {
      const list = r.ledger.inFlightAtRestart.get(seq) ?? [];
      list.push(at);
      r.ledger.inFlightAtRestart.set(seq, list);
    }
    coverage.restarts++;
    if (r.ledger.handedOut.size > 0) coverage.restartsWithRecordsInFlight++;
    r.ledger.handedOut.clear();
    const walId = r.wal.walId;
    await r.wal.close();
    r.wal = await openWal(r.dir, r.config.readAheadRecords);
    assert.equal(r.wal.walId, walId, 'a clean restart keeps the walId (W8)');
    const expectedPending = m.appended - r.ledger.acked.size - r.ledger.deadLettered.size;
    assert.equal(r.wal.pendingRecords, expectedPending, 'acked and dead-lettered records stay settled across the restart');
    r.dest.epoch++;
    Object.assign(r, launch(r));
    assertNoViolations(r);
  }
  toString(): string {
    return `Restart(${this.stopTimeoutMs})`;
  }
}

class WaitQuietCommand implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    if (m.down.every(Boolean)) {
      // Nothing can be delivered: give the modes a few reconnect rounds and move on.
      await new Promise((resolve) => setTimeout(resolve, 5));
    } else {
      await drained(r, 'WaitQuiet: a host is up but the WAL did not drain');
    }
    assertNoViolations(r);
  }
  toString(): string {
    return 'WaitQuiet';
  }
}


const commands = [
  fc.integer({ min: 1, max: 6 }).map((n) => new AppendCommand(n)),
  fc
    .tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom<Failure>(
        { kind: 'retryable', reason: 'http_503' },
        { kind: 'retryable', reason: 'econnreset' },
        { kind: 'config', reason: 'no_such_stream' },
      ),
    )
    .map(([k, f]) => new SinkFailNextCommand(k, f)),
  fc.constant(new SinkPartialCommand()),
  fc.constant(new SinkLoseResponseCommand()),
  fc.nat().map((p) => new SinkRejectRecordCommand(p)),
  fc.nat({ max: 2 }).map((h) => new SinkDownCommand(h)),
  fc.nat({ max: 2 }).map((h) => new SinkUpCommand(h)),
  fc.constantFrom(0, 1, 3).map((t) => new RestartCommand(t)),
  fc.constant(new WaitQuietCommand()),
];

// ── The end of a run ───────────────────────────────────────────────────────────────────

/** How often the interesting paths were taken (printed at the end: a property that never
 * meets a duplicate or a dead letter proves little). */
const coverage = {
  runs: 0,
  commands: 0,
  restarts: 0,
  restartsWithRecordsInFlight: 0,
  duplicatesAfterLostAnswer: 0,
  duplicatesAfterAbortAtRestart: 0,
  duplicatesAfterRestartOnly: 0,
  deadLetters: 0,
  rejectedButAcked: 0,
  partialPublishes: 0,
  splits: 0,
  retries: 0,
  byMode: {} as Record<string, number>,
  ordered: 0,
};

async function finalChecks(m: Model, r: Real): Promise<void> {
  const { dest, ledger } = r;
  // Bring every host up and clear what was scripted; permanent rejections stay permanent.
  dest.failNext.length = 0;
  dest.partialNext = 0;
  dest.lostNext = 0;
  for (let h = 0; h < m.config.hosts; h++) {
    m.down[h] = false;
    dest.down[h] = false;
  }
  for (const c of r.clients) c.failConnects = 0;
  await drained(r, 'final drain: every host up, no scripted failure, but the WAL kept records');
  await r.manager.stop(1000);
  assertNoViolations(r);
  const ms = r.manager.stats();
  coverage.splits += ms.splits;
  coverage.retries += ms.retries;
  coverage.partialPublishes += ms.failures.partial ?? 0;

  const letters = await r.wal.listDeadLetters();
  const inDlq = new Set(letters.map((l) => l.seq));
  for (const l of letters) assert.match(l.reason, new RegExp(`^${REJECT_REASON}: `), `reason of dead letter ${l.seq}`);

  const eventsOf = new Map<number, SinkEvent[]>();
  for (const e of dest.events) {
    const list = eventsOf.get(e.seq) ?? [];
    list.push(e);
    eventsOf.set(e.seq, list);
  }

  for (let seq = 1; seq <= m.appended; seq++) {
    const events = eventsOf.get(seq) ?? [];
    assert.ok(
      events.every((e) => e.status !== 'pending'),
      `seq ${seq}: every publish was answered`,
    );
    if (inDlq.has(seq)) {
      assert.ok(dest.rejected.has(seq), `seq ${seq} is a dead letter but the sink never rejected it`);
      assert.ok(ledger.deadLettered.has(seq) && !ledger.acked.has(seq), `seq ${seq}: dead-lettered by the manager, never acked`);
    } else {
      assert.ok(ledger.acked.has(seq), `seq ${seq} is neither acknowledged nor a dead letter: lost`);
      assert.ok(
        events.some((e) => e.status === 'reported'),
        `seq ${seq} acked in the WAL but the destination never acknowledged it`,
      );
    }
    // Duplicates: each earlier arrival must explain the next one (see the header).
    const restarts = ledger.inFlightAtRestart.get(seq) ?? [];
    for (let i = 1; i < events.length; i++) {
      const prev = events[i - 1] as SinkEvent;
      const cur = events[i] as SinkEvent;
      const afterRestart = restarts.some((t) => prev.tick < t && t < cur.tick);
      // An abort happens only at a stop, so an `aborted` arrival must be explained by the
      // restart that followed it, like any other record in flight at a restart.
      const explained = prev.status === 'lost' || afterRestart;
      if (prev.status === 'lost') coverage.duplicatesAfterLostAnswer++;
      else if (prev.status === 'aborted' && afterRestart) coverage.duplicatesAfterAbortAtRestart++;
      else if (afterRestart) coverage.duplicatesAfterRestartOnly++;
      assert.ok(
        explained,
        `seq ${seq} reached the destination again (tick ${cur.tick}, epoch ${cur.epoch}) after an acknowledged ` +
          `delivery (tick ${prev.tick}, epoch ${prev.epoch}) with no restart in flight in between`,
      );
    }
  }
  // The dead-letter queue holds exactly the rejected records that were never acknowledged.
  const expectedDlq = [...dest.rejected].filter((s) => !ledger.acked.has(s)).sort((a, b) => a - b);
  assert.deepEqual(
    [...inDlq].sort((a, b) => a - b),
    expectedDlq,
    'dead letters = permanently rejected and never acknowledged',
  );
  assert.deepEqual([...ledger.deadLettered].sort((a, b) => a - b), expectedDlq);
  coverage.deadLetters += expectedDlq.length;
  coverage.rejectedButAcked += dest.rejected.size - expectedDlq.length;

  // D4: never more publishes outstanding than the in-flight window, ordered or not.
  const window = m.config.inFlightBatches;
  assert.ok(
    dest.maxOutstanding <= window,
    `D4: ${dest.maxOutstanding} publishes outstanding at once, window ${window} (${JSON.stringify(m.config)})`,
  );

  // D5: in ordered runs, within each manager's life, one key's records first reach the
  // destination in sequence order, and once a record was acknowledged no earlier record of
  // its key arrives again (a retried batch repeats its records, it never goes back further).
  if (m.config.ordered) {
    const firstSeen = new Map<string, number>();
    const maxReported = new Map<string, number>();
    const seen = new Set<string>();
    for (const e of dest.events) {
      const k = `${e.epoch}/${e.key}`;
      if (!seen.has(`${e.epoch}/${e.seq}`)) {
        seen.add(`${e.epoch}/${e.seq}`);
        const prev = firstSeen.get(k) ?? 0;
        assert.ok(e.seq > prev, `D5: key ${e.key} first saw seq ${e.seq} after seq ${prev} (epoch ${e.epoch})`);
        firstSeen.set(k, e.seq);
      }
    }
    // One batch per key is in flight, so a key's events in arrival order are also in answer
    // order: an event after a reported one came after that acknowledgement.
    for (const e of dest.events) {
      const k = `${e.epoch}/${e.key}`;
      const acked = maxReported.get(k) ?? 0;
      assert.ok(e.seq >= acked, `D5: key ${e.key} saw seq ${e.seq} after seq ${acked} was acknowledged (epoch ${e.epoch})`);
      if (e.status === 'reported') maxReported.set(k, Math.max(acked, e.seq));
    }
  }

  const stats = await r.wal.stats();
  assert.equal(stats.pendingRecords, 0);
  assert.equal(stats.deadLetterRecords, expectedDlq.length);
  assert.equal(stats.nextSeq, m.nextSeq);
  const check = await r.wal.check();
  assert.equal(check.consistent, true, JSON.stringify(check));
}

// ── The property ───────────────────────────────────────────────────────────────────────

it(`delivery is at-least-once under random failures, rejections, outages and restarts (${RUNS} runs, seed ${SEED})`, async () => {
  console.log(`# delivery-model seed ${SEED} (replay with WALSHIP_SEED=${SEED})`);
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(runConfig, fc.commands(commands, { maxCommands: 30, size: 'medium' }), async (config, cmds) => {
      coverage.runs++;
      coverage.byMode[config.mode] = (coverage.byMode[config.mode] ?? 0) + 1;
      if (config.ordered) coverage.ordered++;
      const dir = mkdtempSync(join(tmpdir(), 'walship-delivery-model-'));
      const dest = new Destination(config, payloadOf);
      const ledger = new Ledger();
      const wal = await openWal(dir, config.readAheadRecords);
      dest.walId = wal.walId;
      const partial = { dir, config, dest, ledger, wal };
      const real: Real = { ...partial, ...launch(partial) };
      try {
        const model = new Model(config);
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        coverage.commands += [...cmds].length;
        await finalChecks(model, real);
      } finally {
        await real.manager.stop(0);
        await real.wal.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
  );
  const ms = performance.now() - started;
  console.log(`# delivery-model: ${(ms / coverage.runs).toFixed(0)} ms per run; coverage ${JSON.stringify(coverage)}`);
});

// ── A bug the model found (fixed: batches are dispatched only while the window has room) ──

it('D4: ordered delivery keeps at most `inFlightBatches` batches in flight, however many keys one read brings', async () => {
  // The model shrank to: {ordered: true, inFlightBatches: 1, batchMaxRecords: 2}, Append(2),
  // WaitQuiet → 2 publishes outstanding. DeliveryManager.pump checks windowFull() once, reads
  // up to batchMaxRecords records, and route() dispatches one batch per distinct key at once,
  // so one read can put up to batchMaxRecords batches in flight on top of a window that had
  // room for one (here 8 with a window of 1; with the defaults 16 + 8 − 1 = 23).
  const dir = mkdtempSync(join(tmpdir(), 'walship-delivery-d4-'));
  const wal = await openWal(dir);
  try {
    await wal.append(Array.from({ length: 8 }, (_, i) => ({ payload: payloadOf(i + 1), logstoreKey: BigInt(i) })));
    const client = new ScriptedClient('a');
    client.latencyMs = 20;
    const manager = new DeliveryManager({
      source: wal,
      mode: new SingleConnectionMode(client, { logger }),
      logger,
      ordered: true,
      inFlightBatches: 1,
      batchMaxRecords: 8,
    });
    manager.start();
    let most = 0;
    while (wal.pendingRecords > 0) {
      most = Math.max(most, manager.stats().inFlightBatches);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await manager.stop(1000);
    assert.equal(client.ackedSeqs.length, 8);
    assert.ok(most <= 1, `${most} batches in flight with inFlightBatches: 1 (ordered)`);
  } finally {
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
