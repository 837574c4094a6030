// The NATS sink against a 3-node JetStream cluster, end to end through the durable flusher
// (WAL + delivery manager + the sink from the registry): a stream with 3 replicas created by
// the sink; a node SIGKILLed in the middle of a WAL of thousands of records (a minority:
// nothing lost, nothing stored twice, N1/N2/N5); two nodes SIGKILLed (no quorum: publishing
// stalls, the WAL keeps everything, D1/D4) and recovery once they return.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { createFlusher, type DurableFlusher } from '../../src/flusher/index.ts';
import { makeGroup } from '../conformance/records.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { skipUnless } from '../helpers/servers/binary.ts';
import { adminConnection, NatsCluster, waitForStream } from '../helpers/servers/nats.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { assertExactlyOnce, delivered, pending, streamContents, waitFor } from './fixtures.ts';

const quiet = captureLogger('error').logger;
/** Records per flush call when filling the WAL. */
const GROUPS_PER_FLUSH = 100;

describe('NATS sink over a 3-node JetStream cluster', { skip: skipUnless('nats-server'), timeout: 240_000 }, () => {
  let cluster: NatsCluster;
  let admin: NatsConnection;
  const startedAt = performance.now();

  before(async () => {
    cluster = await NatsCluster.start();
    admin = await adminConnection(cluster.urls);
  });
  after(async () => {
    if (admin !== undefined && !admin.isClosed()) await admin.close();
    await cluster?.stop();
    console.log(`nats cluster tests took ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  });

  async function flusherFor(stream: string, prefix: string): Promise<DurableFlusher> {
    return createFlusher({
      dir: tempDir(`walship-nats-cluster-${prefix}`),
      sink: {
        type: 'flusher_nats',
        servers: cluster.urls,
        subject: `${prefix}.{project}.{logstore}`,
        stream: { name: stream, replicas: 3, create: true },
        timeoutMs: 2000,
        reconnectTimeWaitMs: 100,
      },
      logger: quiet,
      modeOptions: { waitRetryMs: 50, maxWaitRetryMs: 500, timeoutMs: 3000 },
      delivery: { retryMinDelayMs: 50, retryMaxDelayMs: 1000, configRetryMaxDelayMs: 1000 },
    });
  }

  /** Appends `count` records (one LogGroup of 2 logs each), `GROUPS_PER_FLUSH` per call; returns their log seqs. */
  async function append(flusher: DurableFlusher, prefix: string, count: number): Promise<string[]> {
    const seqs: string[] = [];
    for (let first = 0; first < count; first += GROUPS_PER_FLUSH) {
      const groups = Array.from({ length: Math.min(GROUPS_PER_FLUSH, count - first) }, (_, i) => makeGroup(`${prefix}.${first + i}`, 2));
      for (const g of groups) for (const l of g.logs) seqs.push(l.contents[0]!.value);
      await flusher.flush('proj', 'store', 'cluster', groups);
    }
    return seqs;
  }

  async function streamLeader(stream: string): Promise<string> {
    const info = await waitForStream(admin, stream, 3);
    return info.cluster!.leader!;
  }

  it('creates the stream with 3 replicas and loses nothing, stores nothing twice, when the stream leader is SIGKILLed mid-stream (N1, N2, N5)', { timeout: 90_000 }, async (t) => {
    const flusher = await flusherFor('C1', 'c1');
    try {
      const seqs = await append(flusher, 'c1.a', 1500);
      await waitFor('a part of the WAL to be delivered', async () => (await delivered(flusher)) >= 300);
      const info = await waitForStream(admin, 'C1', 3);
      assert.equal(info.config.num_replicas, 3, 'the sink created the stream with 3 replicas');
      const leader = info.cluster!.leader!;
      await cluster.node(leader).kill();
      seqs.push(...(await append(flusher, 'c1.b', 1500)));
      await waitFor('the WAL to drain with one node down', async () => (await pending(flusher)) === 0, 60_000);
      const stats = (await flusher.stats())!;
      t.diagnostic(`killed the stream leader ${leader}; delivery failures meanwhile: ${JSON.stringify(stats.delivery.failures)}`);
      assert.equal(stats.delivery.deadLettered, 0);

      await cluster.node(leader).start();
      await waitForStream(admin, 'C1', 3);
      const { messages, keys, seqs: stored } = await streamContents(admin, 'C1');
      assert.equal(messages, 3000, 'one message per record: no loss, no duplicate');
      assert.equal(keys.size, 3000);
      assertExactlyOnce(stored, seqs);
    } finally {
      await flusher.stop();
    }
  });

  it('stalls without a quorum (two of three nodes SIGKILLed): nothing is acknowledged, the WAL keeps the records; all are delivered once when the nodes return (D1, D4)', { timeout: 120_000 }, async (t) => {
    const flusher = await flusherFor('C2', 'c2');
    try {
      const seqs = await append(flusher, 'c2', 2000);
      await waitFor('a part of the WAL to be delivered', async () => (await delivered(flusher)) >= 200);
      const leader = await streamLeader('C2');
      const victims = [leader, ...cluster.nodes.map((n) => n.name).filter((n) => n !== leader)].slice(0, 2);
      await Promise.all(victims.map((v) => cluster.node(v).kill()));
      const failuresAtKill = Object.values((await flusher.stats())!.delivery.failures).reduce((a, b) => a + b, 0);
      await waitFor('publishes to fail without a quorum', async () => {
        const f = Object.values((await flusher.stats())!.delivery.failures).reduce((a, b) => a + b, 0);
        return f > failuresAtKill + 3;
      });
      // Batches published before the kill may still settle: a record whose PubAck arrived
      // before the kill is counted once its batch resolves, at the latest when the batch's
      // other publishes time out (timeoutMs 2000). Start the window after that.
      await new Promise((r) => setTimeout(r, 2500));
      const before = (await flusher.stats())!;
      // An observation window, not a synchronisation: nothing may be acknowledged in it.
      await new Promise((r) => setTimeout(r, 3000));
      const during = (await flusher.stats())!;
      t.diagnostic(`killed ${victims.join(', ')}; ${before.delivery.deliveredRecords} delivered before the stall, ${during.wal.pendingRecords} pending; failures ${JSON.stringify(during.delivery.failures)}`);
      assert.equal(during.delivery.deliveredRecords, before.delivery.deliveredRecords, 'nothing acknowledged without a quorum');
      assert.ok(during.wal.pendingRecords > 0, 'the WAL keeps the records');
      assert.equal(during.wal.pendingRecords, 2000 - during.delivery.deliveredRecords, 'pending = appended - acknowledged');
      assert.equal(during.delivery.deadLettered, 0, 'a missing quorum is never a reason to dead-letter');

      for (const v of victims) await cluster.node(v).start(false);
      await Promise.all(victims.map((v) => cluster.node(v).waitHealthy()));
      await waitFor('the WAL to drain after the quorum returned', async () => (await pending(flusher)) === 0, 90_000);
      await waitForStream(admin, 'C2', 3);
      const { messages, seqs: stored } = await streamContents(admin, 'C2');
      assert.equal(messages, 2000, 'one message per record: no loss, no duplicate');
      assertExactlyOnce(stored, seqs);
    } finally {
      await flusher.stop();
    }
  });
});
