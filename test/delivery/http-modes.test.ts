/**
 * The connection modes end to end: a real WAL, the DeliveryManager, each mode
 * (SingleConnectionMode, FailOverConnectionMode, LoadBalancerMode over makeClients) with the
 * real HttpClient, against real receivers on loopback that inject faults:
 *
 * - refused connections (a closed receiver, a port with nothing listening);
 * - timeouts (receiver latency above the client's timeout), then the latency removed;
 * - partial publishes with the SLS encoding (one request per record, some failing);
 * - a permanent reject of one record in JSON batches of 8;
 * - one slow host under load balancing;
 * - every host down at once, then back;
 * - 429 with Retry-After.
 *
 * Every test ends with test/helpers/delivery-check.ts: nothing pending in the WAL, every
 * record received (union over the receivers) or dead-lettered as expected, one idempotency
 * key per record, and every duplicate explained by an earlier request left unanswered.
 * Attempt timings come from a wrapper around each client (connects that are refused never
 * reach a receiver) and from a tap on each receiver (arrival and answer times).
 *
 * Receivers draw their faults from a seeded PRNG: the seed is printed; WALSHIP_TEST_SEED
 * replays it (the request order, and so the faults, still depend on timing).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  type ConnectionMode,
  type ConnectionModeOptions,
  DeliveryManager,
  type DeliveryManagerOptions,
  FailOverConnectionMode,
  LoadBalancerMode,
  makeClients,
  SingleConnectionMode,
} from '../../src/delivery/index.ts';
import { type Receiver, type ReceiverOptions, startReceiver } from '../../src/receiver/index.ts';
import { createHttpClient, type HttpSinkOptions } from '../../src/sinks/http/index.ts';
import type { WriteAheadLog } from '../../src/wal/index.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { checkDelivery, type DeliveryReport } from '../helpers/delivery-check.ts';
import { testSeed } from '../helpers/prng.ts';
import { ReceiverTap } from '../helpers/receiver-tap.ts';
import { freePort, seqWal, until } from '../helpers/seq-wal.ts';
import { type ClientEvent, gaps, TimedClient } from '../helpers/timed-client.ts';
import { tempDir } from '../helpers/tmpdir.ts';

type ModeKind = 'single' | 'failover' | 'loadbalance';
const MODES: readonly ModeKind[] = ['single', 'failover', 'loadbalance'];

const SEED = testSeed();
console.log(`# http-modes seed ${SEED} (WALSHIP_TEST_SEED=${SEED} to replay)`);

/** Reconnect backoff of the modes: 10 ms doubling to 100 ms, no jitter (the seed's waitRetry). */
const WAIT_RETRY_MS = 10;
const MAX_WAIT_RETRY_MS = 100;
const MODE_OPTIONS: ConnectionModeOptions = { waitRetryMs: WAIT_RETRY_MS, maxWaitRetryMs: MAX_WAIT_RETRY_MS, timeoutMs: 1000 };
const MANAGER_OPTIONS: Partial<DeliveryManagerOptions> = { retryMinDelayMs: 5, retryMaxDelayMs: 50 };
/** Every test's bound: a hang fails the test instead of the run. */
const TEST_TIMEOUT_MS = 30_000;
/** How long a run may take to drain the WAL once its faults are gone. */
const DRAIN_TIMEOUT_MS = 15_000;

interface Host {
  readonly label: string;
  readonly url: string;
}

interface LiveHost extends Host {
  readonly receiver: Receiver;
  readonly tap: ReceiverTap;
}

/**
 * One run: a WAL of numbered records, receivers (and dead hosts), a mode over timed HTTP
 * clients, a delivery manager. `dispose()` closes everything, whatever happened.
 */
class Scenario {
  readonly t: TestContext;
  readonly events: ClientEvent[] = [];
  readonly live: LiveHost[] = [];
  readonly hosts: Host[] = [];
  readonly log = captureLogger('warn');
  wal!: WriteAheadLog;
  seqs: number[] = [];
  manager: DeliveryManager | undefined;
  encoding: HttpSinkOptions['encoding'];
  private seedOffset = 0;

  private constructor(t: TestContext) {
    this.t = t;
  }

  static async create(t: TestContext, records: number): Promise<Scenario> {
    const s = new Scenario(t);
    const { wal, seqs } = await seqWal(tempDir('walship-http-modes'), records, s.log.logger);
    s.wal = wal;
    s.seqs = seqs;
    return s;
  }

  /** Starts a receiver (seeded from the run's seed) and adds it as a host. */
  async receiver(label: string, options: ReceiverOptions = {}, addHost = true): Promise<LiveHost> {
    const receiver = await startReceiver({
      logger: this.log.logger,
      keepRequests: 1_000_000,
      seed: (SEED + 7919 * ++this.seedOffset) >>> 0,
      ...options,
    });
    const h: LiveHost = { label, url: receiver.url, receiver, tap: new ReceiverTap(receiver, label) };
    this.live.push(h);
    if (addHost) this.hosts.push({ label, url: h.url });
    return h;
  }

  /** A host whose port nothing listens on. */
  async deadHost(label: string): Promise<Host> {
    const h = { label, url: `http://127.0.0.1:${await freePort()}` };
    this.hosts.push(h);
    return h;
  }

  start(
    kind: ModeKind,
    http: Omit<HttpSinkOptions, 'url'> = {},
    manager: Partial<DeliveryManagerOptions> = {},
    extra: { workersPerHost?: number; random?: () => number } = {},
  ): DeliveryManager {
    this.encoding = http.encoding;
    const clients = makeClients(
      this.hosts,
      (h, i) =>
        new TimedClient(
          createHttpClient({ url: h.url, logger: this.log.logger, name: `${h.label}#${i}`, timeoutMs: 2000, ...http }),
          h.label,
          this.events,
        ),
      kind === 'loadbalance' ? (extra.workersPerHost ?? 1) : 1,
    );
    const options: ConnectionModeOptions = {
      ...MODE_OPTIONS,
      logger: this.log.logger,
      ...(extra.random === undefined ? {} : { random: extra.random }),
    };
    let mode: ConnectionMode;
    if (kind === 'single') {
      assert.equal(clients.length, 1, 'single mode takes one host');
      mode = new SingleConnectionMode(clients[0]!, options);
    } else if (kind === 'failover') {
      mode = new FailOverConnectionMode(clients, options);
    } else {
      mode = new LoadBalancerMode(clients, options);
    }
    this.manager = new DeliveryManager({ source: this.wal, mode, logger: this.log.logger, ...MANAGER_OPTIONS, ...manager });
    this.manager.start();
    return this.manager;
  }

  async drain(timeoutMs = DRAIN_TIMEOUT_MS): Promise<void> {
    await until(() => this.wal.pendingRecords === 0, timeoutMs, 'the WAL drained');
  }

  /**
   * Stops delivery, lets the receivers finish requests still sleeping in their latency
   * (a timed-out attempt is stored after its client gave up), then runs the common check.
   */
  async finish(expectDead: readonly number[] = []): Promise<DeliveryReport> {
    const perRecordRequests = this.encoding === 'sls';
    await this.manager?.stop(2000);
    await settle(this.live);
    const report = await checkDelivery({ wal: this.wal, seqs: this.seqs, receivers: this.live, expectDead, events: this.events, perRecordRequests });
    const stats = this.manager?.stats();
    const errors = this.log.lines.filter((l) => (l.level as number) >= 50).map((l) => l.msg);
    assert.deepEqual(errors, [], 'nothing logged at error level');
    this.t.diagnostic(
      JSON.stringify({
        delivered: stats?.deliveredRecords,
        attempts: stats?.attempts,
        retries: stats?.retries,
        failures: stats?.failures,
        splits: stats?.splits,
        deadLettered: report.deadLettered,
        recordsPerHost: report.recordsPerHost,
        requestsPerHost: report.requestsPerHost,
        duplicateRequests: report.duplicateRequests,
        duplicateLogs: report.duplicateLogs,
        crossReceiverCopies: report.crossReceiverCopies,
        unansweredStored: report.unansweredStored,
        answerNeverWritten: report.answerNeverWritten,
      }),
    );
    return report;
  }

  async dispose(): Promise<void> {
    await this.manager?.stop(0).catch(() => {});
    await Promise.all(this.live.map((h) => h.receiver.close()));
    await this.wal.close();
  }

  /** Client events of one kind (and host), in start order. */
  of(kind: ClientEvent['kind'], host?: string): ClientEvent[] {
    return this.events.filter((e) => e.kind === kind && (host === undefined || e.host === host));
  }
}

/** Waits (at most 3 s) until every POST a receiver got has an outcome, or was cut off long ago. */
async function settle(hosts: readonly LiveHost[]): Promise<void> {
  const done = (): boolean =>
    hosts.every(({ tap }) =>
      tap.posts().every((p) => p.outcome !== undefined || (p.closedAt !== undefined && performance.now() - p.closedAt > 1000)),
    );
  await until(done, 3000, 'the receivers settled').catch(() => {});
}

async function withScenario(t: TestContext, records: number, body: (s: Scenario) => Promise<void>): Promise<void> {
  const s = await Scenario.create(t, records);
  try {
    await body(s);
  } finally {
    await s.dispose();
  }
}

/** The lower bound of the i-th reconnect wait of an endpoint (the seed's waitRetry doubling). */
function backoffBound(i: number): number {
  return Math.min(WAIT_RETRY_MS * 2 ** i, MAX_WAIT_RETRY_MS);
}

/**
 * Asserts that a run of consecutive failed connects to one host is paced by the backoff:
 * gap i is at least min(waitRetry·2^i, maxWaitRetry). Returns the gaps.
 */
function assertBackoff(failedConnects: readonly ClientEvent[], what: string): number[] {
  const g = gaps(failedConnects);
  g.forEach((gap, i) => {
    const bound = backoffBound(i);
    assert.ok(gap >= bound - 1, `${what}: connect gap ${i} was ${gap.toFixed(1)} ms, expected at least ${bound} ms`);
  });
  return g.map((x) => Math.round(x));
}

/** The runs of consecutive failed connects (the backoff resets after a success). */
function failedRuns(connects: readonly ClientEvent[]): ClientEvent[][] {
  const runs: ClientEvent[][] = [];
  let current: ClientEvent[] = [];
  for (const e of connects) {
    if (e.ok) {
      if (current.length > 0) runs.push(current);
      current = [];
    } else current.push(e);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

// ── Refused connections ────────────────────────────────────────────────────────────────

describe('refused connections (D1, D3): a host nobody answers on is worked around or waited for', () => {
  it('failover: starts on a port with nothing listening, moves past a closed receiver, delivers everything through the live host', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await withScenario(t, 60, async (s) => {
      await s.deadHost('dead');
      const closed = await s.receiver('closed');
      await closed.receiver.close();
      const live = await s.receiver('live');
      // random → 0: the first active host is `dead`; the next fresh one is `closed`, then `live`.
      s.start('failover', { encoding: 'json' }, { batchMaxRecords: 4 }, { random: () => 0 });
      await s.drain();
      const report = await s.finish();

      assert.equal(report.recordsPerHost.live, 60, 'every record went through the live host');
      assert.equal(closed.receiver.stats().requests, 0);
      const firstConnects = s.of('connect').slice(0, 3).map((e) => `${e.host}:${e.ok ? 'ok' : e.reason}`);
      assert.deepEqual(firstConnects, ['dead:econnrefused', 'closed:econnrefused', 'live:ok'], 'failed over host by host');
      assert.ok(
        s.of('publish').every((e) => e.host === 'live'),
        'nothing was published through a host that could not connect',
      );
      assert.equal(report.duplicateRequests + report.crossReceiverCopies, 0, 'no duplicates: no request was left unanswered');
      t.diagnostic(`connects: ${s.of('connect').map((e) => `${e.host}:${e.ok ? 'ok' : e.reason}@${Math.round(e.start)}`).join(' ')}`);
      assert.ok(live.receiver.stats().acceptedRequests >= 15);
    });
  });

  it('load balance: a dead port takes no work and a receiver closed mid-run loses its in-flight work to the others; nothing is lost', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await withScenario(t, 400, async (s) => {
      await s.deadHost('dead');
      const doomed = await s.receiver('doomed', { latencyMs: [1, 6] });
      const r2 = await s.receiver('r2', { latencyMs: [1, 6] });
      s.start('loadbalance', { encoding: 'json' }, { batchMaxRecords: 2 }, { workersPerHost: 2 });
      await until(() => doomed.receiver.stats().logs >= 40, 10_000, 'the doomed receiver took work');
      const closedAt = performance.now();
      await doomed.receiver.close();
      await s.drain();
      const report = await s.finish();

      assert.equal(report.recordsPerHost.dead ?? 0, 0);
      assert.ok(report.recordsPerHost.doomed! >= 40 && r2.receiver.stats().logs > 0);
      assert.ok(s.of('publish', 'dead').length === 0, 'the dead host was never given a batch');
      const lateDoomed = s.of('publish', 'doomed').filter((e) => e.start > closedAt + 1 && e.ok);
      assert.deepEqual(lateDoomed, [], 'nothing was acknowledged by the closed receiver after it closed');
      // Each worker of the dead host kept retrying, paced by its own backoff.
      for (const worker of ['dead#0', 'dead#1']) {
        const connects = s.events.filter((e) => e.kind === 'connect' && e.worker === worker);
        assert.ok(connects.length >= 3 && connects.every((e) => !e.ok), `${worker} was retried and refused`);
        t.diagnostic(`${worker} refused connect gaps (ms): ${assertBackoff(connects, worker).join(', ')}`);
      }
      const doomedReconnects = s.of('connect', 'doomed').filter((e) => e.start > closedAt);
      assert.ok(doomedReconnects.length > 0 && doomedReconnects.every((e) => !e.ok), 'the closed receiver was retried and refused');
      t.diagnostic(`publishes failed on doomed after close: ${s.of('publish', 'doomed').filter((e) => e.start > closedAt - 50 && !e.ok).map((e) => e.reason).join(',')}`);
    });
  });

  it('single: retries a port with nothing listening, with doubling waits, until a receiver comes up on it', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await withScenario(t, 30, async (s) => {
      const port = await freePort();
      s.hosts.push({ label: 'late', url: `http://127.0.0.1:${port}` });
      s.start('single', { encoding: 'json' }, { batchMaxRecords: 4 });
      await until(() => s.of('connect').filter((e) => !e.ok).length >= 5, 10_000, 'five refused connects');
      const upAt = performance.now();
      const late = await s.receiver('late', { port }, false);
      await s.drain();
      const report = await s.finish();

      assert.equal(report.recordsPerHost.late, 30);
      const [refused] = failedRuns(s.of('connect'));
      assert.ok(refused !== undefined && refused.length >= 5);
      assert.ok(refused.every((e) => e.reason === 'econnrefused'));
      const g = assertBackoff(refused, 'single');
      assert.ok(s.of('publish').every((e) => e.start >= upAt), 'nothing was published before the receiver was up');
      const firstPost = late.tap.posts()[0];
      assert.ok(firstPost !== undefined && firstPost.arrivedAt >= upAt);
      t.diagnostic(`refused connect gaps (ms): ${g.join(', ')}; first POST ${Math.round(firstPost.arrivedAt - upAt)} ms after the receiver came up`);
    });
  });
});

// ── Timeouts ───────────────────────────────────────────────────────────────────────────

describe('timeouts (D1, D2): a request slower than the client timeout is retried under the same key', () => {
  for (const kind of MODES) {
    it(`${kind}: retries timed-out batches, delivers them once the latency is gone, and the receivers' duplicates are exactly timed-out attempts`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      await withScenario(t, 40, async (s) => {
        const n = kind === 'single' ? 1 : 2;
        for (let i = 0; i < n; i++) await s.receiver(`r${i}`, { latencyMs: 400 });
        s.start(kind, { encoding: 'json', timeoutMs: 120 }, { batchMaxRecords: 4 });
        // Every batch times out at least once; the receivers store each first attempt late.
        await until(() => new Set(s.of('publish').filter((e) => e.reason === 'timeout').map((e) => e.key)).size >= 10, 10_000, 'ten batches timed out');
        for (const h of s.live) h.receiver.clearFaults();
        await s.drain();
        const report = await s.finish();

        const timeouts = new Map<string, number>();
        for (const e of s.of('publish')) if (e.reason === 'timeout') timeouts.set(e.key!, (timeouts.get(e.key!) ?? 0) + 1);
        assert.ok(report.duplicateRequests + report.crossReceiverRequests > 0, 'timed-out attempts were stored and re-sent');
        // Per key: requests stored or deduplicated = 1 (the ack) + unanswered ones, and every
        // unanswered one is an attempt the client saw time out.
        const stored = new Map<string, number>();
        for (const h of s.live) {
          for (const p of h.tap.posts()) {
            if (p.outcome === 'accepted' || p.outcome === 'duplicate') stored.set(p.key!, (stored.get(p.key!) ?? 0) + 1);
          }
        }
        for (const [key, count] of stored) {
          assert.ok(count - 1 <= (timeouts.get(key) ?? 0), `key ${key}: ${count} requests stored or deduplicated, ${timeouts.get(key) ?? 0} timeouts`);
        }
        for (const h of s.live) {
          for (const p of h.tap.posts().filter((x) => x.outcome === 'duplicate')) {
            assert.ok((timeouts.get(p.key!) ?? 0) > 0, `duplicate of ${p.key} at ${h.label} without a timed-out attempt`);
          }
        }
        // All keys are batch keys fixed at the first attempt (D2): `<walId>-<first>-<last>`.
        for (const key of stored.keys()) assert.match(key, new RegExp(`^${s.wal.walId}-\\d+-\\d+$`));
        t.diagnostic(`timed-out attempts ${[...timeouts.values()].reduce((a, b) => a + b, 0)} over ${timeouts.size} keys; redelivered keys ${report.redelivered.length}`);
      });
    });
  }
});

// ── Partial publishes (SLS) ────────────────────────────────────────────────────────────

describe('partial publishes with the SLS encoding (D1): the acknowledged prefix of a batch is never re-sent', () => {
  for (const kind of MODES) {
    it(`${kind}: delivers every record while receivers fail some requests, re-sending only the unpublished suffix`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      await withScenario(t, 120, async (s) => {
        const n = kind === 'single' ? 1 : 3;
        for (let i = 0; i < n; i++) await s.receiver(`r${i}`, { failRate: 0.3, failStatus: 503 });
        s.start(kind, { encoding: 'sls', compression: 'lz4' }, { batchMaxRecords: 4 });
        await s.drain();
        const report = await s.finish();
        const stats = s.manager!.stats();

        assert.ok((stats.failures.partial ?? 0) > 0, `some batches were partly published: ${JSON.stringify(stats.failures)}`);
        assert.equal(report.duplicateRequests + report.crossReceiverCopies, 0, 'no record was stored twice');
        // A partial publish hands back a suffix of its batch; the next attempt sends exactly it.
        const publishes = s.of('publish');
        for (const e of publishes.filter((x) => x.rest !== undefined)) {
          const seqs = e.seqs!;
          const rest = e.rest!;
          assert.ok(rest.length > 0 && rest.length < seqs.length);
          assert.deepEqual(seqs.slice(seqs.length - rest.length), rest, 'the remainder is a suffix in WAL order');
          const next = publishes.find((x) => x.start > e.end && x.seqs![0] === rest[0]);
          assert.ok(next !== undefined, `the rest of ${e.key} was published again`);
          assert.deepEqual(next.seqs, rest, 'only the unpublished rest was sent again');
        }
        // Server side: after a key was accepted, no request with that key arrived anywhere.
        const posts = s.live.flatMap((h) => h.tap.posts()).sort((a, b) => a.arrivedAt - b.arrivedAt);
        const acceptedAt = new Map<string, number>();
        for (const p of posts) {
          const at = acceptedAt.get(p.key!);
          assert.ok(at === undefined, `${p.key} arrived at ${p.host} after it had been accepted`);
          if (p.outcome === 'accepted') acceptedAt.set(p.key!, p.arrivedAt);
        }
        assert.equal(acceptedAt.size, 120, 'one accepted request per record (SLS: one LogGroup per request)');
        for (const key of acceptedAt.keys()) assert.match(key, new RegExp(`^${s.wal.walId}-\\d+$`), 'SLS requests carry the record key');
        t.diagnostic(`partial publishes ${stats.failures.partial}, failed requests ${posts.filter((p) => p.outcome === 'fail').length}`);
      });
    });
  }
});

// ── Permanent rejects ──────────────────────────────────────────────────────────────────

describe('permanent rejects (D3): a batch is split until the bad record is alone, and only it is dead-lettered', () => {
  for (const kind of MODES) {
    it(`${kind}: one bad log in JSON batches of 8 puts exactly its record in the dead-letter queue`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      await withScenario(t, 64, async (s) => {
        const n = kind === 'single' ? 1 : 2;
        const bad = 29;
        for (let i = 0; i < n; i++) await s.receiver(`r${i}`, { rejectWhen: (log) => log.contents.seq === String(bad) });
        s.start(kind, { encoding: 'json' }, { batchMaxRecords: 8 });
        await s.drain();
        const report = await s.finish([bad]);
        const stats = s.manager!.stats();

        assert.equal(report.received, 63);
        assert.equal(stats.deadLettered, 1);
        assert.ok(stats.splits >= 3, `a batch of 8 splits at least 3 times to isolate one record (splits: ${stats.splits})`);
        const [letter] = await s.wal.listDeadLetters();
        assert.match(letter!.reason, /^http_400: /);
        const rejects = s.live.flatMap((h) => h.tap.posts()).filter((p) => p.outcome === 'reject');
        assert.ok(rejects.length >= 4, 'the batch, its halves and the record itself were rejected');
        assert.equal(report.duplicateRequests + report.crossReceiverCopies, 0);
        t.diagnostic(`rejected requests: ${rejects.map((p) => p.key!.slice(s.wal.walId.length + 1)).join(' ')}`);
      });
    });
  }
});

// ── One slow host ──────────────────────────────────────────────────────────────────────

describe('load balance with one slow host (pull-based)', () => {
  it('gives most records to the fast hosts', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await withScenario(t, 300, async (s) => {
      await s.receiver('slow', { latencyMs: 80 });
      await s.receiver('fast1', { latencyMs: [0, 2] });
      await s.receiver('fast2', { latencyMs: [0, 2] });
      s.start('loadbalance', { encoding: 'json' }, { batchMaxRecords: 2 });
      await s.drain();
      const report = await s.finish();

      const { slow = 0, fast1 = 0, fast2 = 0 } = report.recordsPerHost;
      assert.equal(slow + fast1 + fast2, 300);
      assert.ok(fast1 > slow && fast2 > slow, `slow ${slow}, fast ${fast1} + ${fast2}`);
      assert.ok(fast1 + fast2 >= 0.75 * 300, `the fast hosts took most records: ${fast1 + fast2} of 300`);
      t.diagnostic(`records per host: slow ${slow}, fast1 ${fast1}, fast2 ${fast2}`);
    });
  });
});

// ── All hosts down, then back ──────────────────────────────────────────────────────────

describe('all hosts down, then back (D1, D3): nothing is lost and reconnects back off', () => {
  for (const kind of MODES) {
    it(`${kind}: an outage of every receiver at once delays delivery but loses nothing; reconnects are paced by the backoff`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      await withScenario(t, 400, async (s) => {
        const n = kind === 'single' ? 1 : 3;
        for (let i = 0; i < n; i++) await s.receiver(`r${i}`, { latencyMs: [2, 8] });
        s.start(kind, { encoding: 'json', timeoutMs: 1000 }, { batchMaxRecords: 2 });
        await until(() => s.live.reduce((a, h) => a + h.receiver.stats().logs, 0) >= 60, 10_000, 'delivery under way');
        const outageMs = 700;
        const downAt = performance.now();
        const delivered = s.live.reduce((a, h) => a + h.receiver.stats().logs, 0);
        await Promise.all(s.live.map((h) => h.receiver.outage(outageMs)));
        const upAt = performance.now();
        await s.drain();
        const report = await s.finish();

        assert.ok(delivered < 400, 'the outage hit a run in progress');
        // While down: no POST arrived anywhere; afterwards every receiver got requests again.
        for (const h of s.live) {
          const posts = h.tap.posts();
          assert.ok(!posts.some((p) => p.arrivedAt > downAt + 5 && p.arrivedAt < upAt - 5), `${h.label} got a POST during its outage`);
        }
        // Back up, a receiver first sees the reconnect probe (HEAD), then the batches (POST).
        for (const h of s.live) {
          const after = h.tap.entries.filter((e) => e.arrivedAt >= upAt);
          if (after.length > 0) assert.equal(after[0]!.method, 'HEAD', `${h.label}: the first request after the outage is the reconnect probe`);
        }
        // Each host's reconnects during the outage: refused, and paced by the backoff.
        const lines: string[] = [];
        for (const h of s.live) {
          const during = s.of('connect', h.label).filter((e) => e.start >= downAt && e.start < upAt);
          const refused = during.filter((e) => !e.ok);
          if (kind !== 'failover') assert.ok(refused.length >= 2, `${h.label} was retried during the outage`);
          assert.ok(refused.every((e) => e.reason === 'econnrefused'), `refused: ${refused.map((e) => e.reason).join(',')}`);
          const g = assertBackoff(refused, h.label);
          // No hot loop: with every gap at least its backoff bound, the attempts fit the window.
          let budget = upAt - downAt;
          let maxAttempts = 1;
          while (budget >= backoffBound(maxAttempts - 1)) budget -= backoffBound(maxAttempts++ - 1);
          assert.ok(refused.length <= maxAttempts, `${h.label}: ${refused.length} connects in ${Math.round(upAt - downAt)} ms`);
          const back = s.of('connect', h.label).find((e) => e.ok && e.start >= upAt - 5);
          lines.push(`${h.label}: refused gaps ${g.join(',')} ms; reconnected ${back === undefined ? 'never' : `${Math.round(back.end - upAt)} ms`} after the outage`);
        }
        // Publishes in flight at the outage fail; after that, no batch is sent while every host
        // is down: the modes wait for a connect instead of failing batches in a loop.
        const failedAtOutage = s.of('publish').filter((e) => !e.ok && e.rest === undefined && e.end >= downAt && e.end < upAt);
        const sentWhileDown = s.of('publish').filter((e) => e.start >= downAt + 200 && e.start < upAt - 5);
        assert.deepEqual(sentWhileDown.map((e) => `${e.worker}@${Math.round(e.start - downAt)}`), [], 'no publish while every host was down');
        t.diagnostic(
          `outage ${Math.round(upAt - downAt)} ms; publishes failed by it: ${failedAtOutage.length} (${[...new Set(failedAtOutage.map((e) => e.reason))].join(', ')}); ${lines.join('; ')}`,
        );
        t.diagnostic(`stored-but-unanswered at the outage: ${report.unansweredStored} (all deduplicated or on another host)`);
      });
    });
  }
});

// ── 429 with Retry-After ───────────────────────────────────────────────────────────────

describe('429 with Retry-After (D3): the next attempt of a batch waits at least Retry-After', () => {
  for (const kind of MODES) {
    it(`${kind}: after a 429 with Retry-After: 1, the batch is not sent ${kind === 'loadbalance' ? 'to that host' : 'anywhere'} for at least 1 s`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      await withScenario(t, 6, async (s) => {
        const n = kind === 'single' ? 1 : 2;
        for (let i = 0; i < n; i++) await s.receiver(`r${i}`, { retryAfterRate: 1, retryAfterSeconds: 1 });
        s.start(kind, { encoding: 'json' }, { batchMaxRecords: 1 });
        const throttled = () => new Set(s.live.flatMap((h) => h.tap.posts()).filter((p) => p.outcome === 'retryAfter').map((p) => p.key));
        await until(() => throttled().size === 6, 10_000, 'every batch got a 429');
        for (const h of s.live) h.receiver.clearFaults();
        await s.drain();
        const report = await s.finish();

        const posts = s.live.flatMap((h) => h.tap.posts()).sort((a, b) => a.arrivedAt - b.arrivedAt);
        const gapsMs: number[] = [];
        const otherHost: number[] = [];
        for (const p of posts.filter((x) => x.outcome === 'retryAfter')) {
          assert.ok(p.finishedAt !== undefined, 'the 429 was answered');
          const later = posts.filter((x) => x.key === p.key && x.arrivedAt > p.arrivedAt);
          const sameHost = later.find((x) => x.host === p.host);
          const anyHost = later[0];
          assert.ok(anyHost !== undefined, `${p.key} was sent again after its 429`);
          if (kind === 'loadbalance') {
            if (sameHost !== undefined) {
              assert.ok(sameHost.arrivedAt - p.finishedAt! >= 999, `${p.key} back at ${p.host} ${Math.round(sameHost.arrivedAt - p.finishedAt!)} ms after its 429`);
              gapsMs.push(Math.round(sameHost.arrivedAt - p.finishedAt!));
            }
            if (anyHost.host !== p.host) otherHost.push(Math.round(anyHost.arrivedAt - p.finishedAt!));
          } else {
            assert.ok(anyHost.arrivedAt - p.finishedAt! >= 999, `${p.key} sent again ${Math.round(anyHost.arrivedAt - p.finishedAt!)} ms after its 429`);
            gapsMs.push(Math.round(anyHost.arrivedAt - p.finishedAt!));
          }
        }
        assert.equal(report.duplicateRequests + report.crossReceiverCopies, 0);
        const reasons = s.manager!.stats().failures;
        assert.ok((reasons.http_429 ?? 0) >= 1, JSON.stringify(reasons));
        t.diagnostic(`429 → next attempt (same key${kind === 'loadbalance' ? ', same host' : ''}): ${gapsMs.join(', ')} ms${otherHost.length > 0 ? `; rescheduled to another host after ${otherHost.join(', ')} ms` : ''}`);
      });
    });
  }
});

describe('stop while the connect probe hangs', () => {
  it('stop(100) does not wait out the connect timeout of a host that accepts and never answers; nothing is lost', async () => {
    const { createServer } = await import('node:net');
    const sockets: Array<import('node:net').Socket> = [];
    const server = createServer((s) => void sockets.push(s)).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const { logger } = captureLogger('error');
    const { wal } = await seqWal(tempDir(), 2, logger);
    const client = createHttpClient({ url: `http://127.0.0.1:${port}/ingest`, timeoutMs: 5000, logger });
    const m = new DeliveryManager({ source: wal, mode: new SingleConnectionMode(client, { waitRetryMs: 5, maxWaitRetryMs: 40, timeoutMs: 5000, logger }), logger });
    m.start();
    await new Promise((r) => setTimeout(r, 200)); // the probe is waiting for an answer
    const started = performance.now();
    await m.stop(100);
    const ms = performance.now() - started;
    for (const s of sockets) s.destroy();
    server.close();
    assert.ok(ms < 2000, `stop took ${Math.round(ms)} ms`);
    assert.equal(wal.pendingRecords, 2, 'the records stay in the WAL for the next start');
    await wal.close();
  });
});
