/**
 * The sink conformance suite: the same checks, run against every sink's real destination
 * (./destinations/), through the same path a user's records take (createFlusher: WAL, delivery
 * manager, the sink from the registry by its `flusher_…` name).
 *
 * - C1 (D1) every record appended reaches the destination;
 * - C2 (D1) across a SIGKILL and restart of the destination's server in the middle of a
 *   stream, nothing is lost (and, where the sink deduplicates, nothing is stored twice);
 * - C3 (D2) redelivering a batch under its key leaves one copy where the sink deduplicates;
 * - C4 (D3) what the destination can never take is a permanent DeliveryError (dead-lettered
 *   by delivery), a missing destination is a `config` error (retried, never dead-lettered).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeliveryError, type ProtocolClient } from '../../src/delivery/index.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { createFlusher, type DurableFlusher } from '../../src/flusher/index.ts';
import { planSink } from '../../src/sinks/registry.ts';
import '../../src/sinks/builtin.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { skipUnless } from '../helpers/servers/binary.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import type { Destination } from './destination.ts';
import { fileDestination } from './destinations/file.ts';
import { httpDestination } from './destinations/http.ts';
import { natsDestination } from './destinations/nats.ts';
import { natsClusterDestination } from './destinations/nats-cluster.ts';
import { redisDestination } from './destinations/redis.ts';
import { stdoutDestination } from './destinations/stdout.ts';
import { deliveryBatch, deliveryRecord, makeGroup } from './records.ts';

/** Every sink's destination; one whose server binary is missing is skipped (failed under CI=true). */
const destinations: Array<{ make: () => Destination; skip: false | string }> = [
  { make: httpDestination, skip: false },
  { make: natsDestination, skip: skipUnless('nats-server') },
  { make: natsClusterDestination, skip: skipUnless('nats-server') },
  { make: redisDestination, skip: skipUnless('redis-server') },
  { make: fileDestination, skip: false },
  { make: stdoutDestination, skip: false },
];

const quiet = captureLogger('error').logger;
const TEST_TIMEOUT_MS = 60_000;

async function startFlusher(dest: Destination): Promise<DurableFlusher> {
  return createFlusher({
    dir: tempDir(`walship-conformance-${dest.name}`),
    sink: dest.sinkConfig(),
    logger: quiet,
    modeOptions: { waitRetryMs: 50, maxWaitRetryMs: 500 },
    delivery: { retryMinDelayMs: 20, retryMaxDelayMs: 500, configRetryMaxDelayMs: 500 },
  });
}

/** Appends `groups` LogGroups of `logs` logs each, seqs `${prefix}.${g}-${i}`. */
async function appendGroups(flusher: DurableFlusher, prefix: string, groups: number, logs: number): Promise<string[]> {
  const seqs: string[] = [];
  for (let g = 0; g < groups; g++) {
    const group = makeGroup(`${prefix}.${g}`, logs);
    for (const log of group.logs) seqs.push(log.contents[0]!.value);
    await flusher.flush('proj', 'store', 'conformance', [group]);
  }
  return seqs;
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function drained(flusher: DurableFlusher): Promise<void> {
  await waitFor('the WAL to drain', async () => (await flusher.stats())?.wal.pendingRecords === 0);
}

/** Counts per seq of what the destination stored. */
async function stored(dest: Destination): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { seq } of await dest.readBack()) counts.set(seq, (counts.get(seq) ?? 0) + 1);
  return counts;
}

function assertAllThere(counts: Map<string, number>, seqs: readonly string[], exactlyOnce: boolean): void {
  const missing = seqs.filter((s) => !counts.has(s));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${seqs.length} records are missing at the destination`);
  if (exactlyOnce) {
    const twice = seqs.filter((s) => (counts.get(s) ?? 0) > 1);
    assert.deepEqual(twice.slice(0, 10), [], `${twice.length} records are stored more than once`);
  }
}

async function rejection(client: ProtocolClient, record: ReturnType<typeof deliveryRecord>): Promise<DeliveryError> {
  await client.connect(5_000);
  try {
    await client.publishEvents(deliveryBatch([record]));
  } catch (err) {
    assert.ok(err instanceof DeliveryError, `expected a DeliveryError, got ${String(err)}`);
    return err;
  } finally {
    await client.close();
  }
  assert.fail('expected the publish to be refused');
}

for (const { make, skip } of destinations) {
  const dest = make();
  describe(`sink conformance: ${dest.name}`, { skip, timeout: TEST_TIMEOUT_MS * 4 }, () => {
    before(() => dest.start());
    after(() => dest.stop());

    it('delivers every record appended (C1)', { timeout: TEST_TIMEOUT_MS }, async () => {
      const flusher = await startFlusher(dest);
      try {
        const seqs = await appendGroups(flusher, 'c1', 100, 5);
        await drained(flusher);
        assertAllThere(await stored(dest), seqs, dest.dedupes);
      } finally {
        await flusher.stop();
      }
    });

    // C2 applies to sinks with a server (file and stdout have none).
    const restart = dest.restart;
    if (restart !== undefined) it('loses nothing when the server is killed and restarted in the middle of a stream (C2)', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const flusher = await startFlusher(dest);
      try {
        // Half the stream before the kill, the other half while the server restarts.
        const seqs = await appendGroups(flusher, 'c2.a', 300, 4);
        await waitFor('a part of the stream to be delivered', async () => {
          const s = await flusher.stats();
          return (s?.delivery.deliveredRecords ?? 0) > 30;
        });
        const restarted = restart();
        seqs.push(...(await appendGroups(flusher, 'c2.b', 300, 4)));
        await restarted;
        await drained(flusher);
        const s = (await flusher.stats())!;
        t.diagnostic(`failures seen by delivery: ${JSON.stringify(s.delivery.failures)}; retries ${s.delivery.retries}`);
        assertAllThere(await stored(dest), seqs, dest.dedupes);
        assert.equal(s.delivery.deadLettered, 0, 'nothing was dead-lettered');
      } finally {
        await flusher.stop();
      }
    });

    it(
      dest.dedupes ? 'stores a redelivered batch once: same key, one copy (C3)' : 'stores a redelivered batch again: at least once, no deduplication (C3)',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const { clients } = planSink(dest.sinkConfig(), quiet);
        const client = clients[0]!;
        const records = [1, 2, 3].map((i) => deliveryRecord(makeGroup(`c3.${i}`, 3), 1_000_000 + i, { walId: 'c3' }));
        const batch = deliveryBatch(records);
        await client.connect(5_000);
        try {
          assert.deepEqual(await client.publishEvents(batch), [], 'the first delivery publishes all');
          assert.deepEqual(await client.publishEvents(batch), [], 'the redelivery is acknowledged too');
        } finally {
          await client.close();
          for (const c of clients.slice(1)) await c.close();
        }
        const counts = await stored(dest);
        const seqs = records.flatMap((_, r) => [0, 1, 2].map((i) => `c3.${r + 1}-${i}`));
        for (const seq of seqs) assert.equal(counts.get(seq), dest.dedupes ? 1 : 2, `copies of ${seq}`);
      },
    );

    it('refuses for good what the destination can never take: a permanent DeliveryError (C4)', { timeout: TEST_TIMEOUT_MS }, async () => {
      const cases = dest.permanentCases();
      assert.ok(cases.length > 0, 'every sink has a permanent case');
      for (const c of cases) {
        const err = await rejection(c.client(), c.record());
        assert.equal(err.kind, 'permanent', `${c.name}: ${err.message}`);
        assert.equal(err.code, ErrorCodes.DELIVERY_REJECTED, c.name);
      }
    });

    // Only sinks whose destination can be missing (a NATS subject without a stream, an SLS logstore).
    const configCase = dest.configCase;
    if (configCase !== undefined) it('treats a missing destination as a configuration error, retried and never dead-lettered (C4)', { timeout: TEST_TIMEOUT_MS }, async () => {
      const c = configCase();
      const err = await rejection(c.client(), c.record());
      assert.equal(err.kind, 'config', `${c.name}: ${err.message}`);
      assert.equal(err.code, ErrorCodes.DELIVERY_MISCONFIGURED, c.name);
    });
  });
}
