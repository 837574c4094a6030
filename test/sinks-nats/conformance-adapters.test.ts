// The conformance suite's NATS destinations (test/conformance/destinations/nats.ts and
// nats-cluster.ts), each method exercised against its real servers: what the shared suite
// relies on must work before the suite can say anything about the sink.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryError, type DeliveryRecord, type ProtocolClient } from '../../src/delivery/index.ts';
import { planSink } from '../../src/sinks/registry.ts';
import '../../src/sinks/builtin.ts';
import type { Destination } from '../conformance/destination.ts';
import { natsDestination } from '../conformance/destinations/nats.ts';
import { natsClusterDestination } from '../conformance/destinations/nats-cluster.ts';
import { deliveryBatch, deliveryRecord, makeGroup } from '../conformance/records.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { skipUnless } from '../helpers/servers/binary.ts';

const quiet = captureLogger('error').logger;

async function publishThrough(dest: Destination, prefix: string, first: number): Promise<string[]> {
  const { clients } = planSink(dest.sinkConfig(), quiet);
  const client = clients[0]!;
  const records = [0, 1, 2].map((i) => deliveryRecord(makeGroup(`${prefix}.${i}`, 2), first + i, { walId: prefix }));
  try {
    await client.connect(10_000);
    assert.deepEqual(await client.publishEvents(deliveryBatch(records)), []);
    assert.deepEqual(await client.publishEvents(deliveryBatch(records)), [], 'a redelivery is acknowledged');
  } finally {
    await client.close();
  }
  return records.flatMap((_, i) => [`${prefix}.${i}-0`, `${prefix}.${i}-1`]);
}

async function refusal(c: { client(): ProtocolClient; record(): DeliveryRecord }): Promise<DeliveryError> {
  const client = c.client();
  try {
    await client.connect(10_000);
    await client.publishEvents(deliveryBatch([c.record()]));
  } catch (err) {
    assert.ok(err instanceof DeliveryError, `expected a DeliveryError, got ${String(err)}`);
    return err;
  } finally {
    await client.close();
  }
  assert.fail('expected the publish to be refused');
}

for (const make of [natsDestination, natsClusterDestination]) {
  const dest = make();
  describe(`conformance destination ${dest.name}`, { skip: skipUnless('nats-server'), timeout: 90_000 }, () => {
    it('starts, stores what the sink publishes once per key, reads it back with keys, survives a SIGKILL restart, refuses the permanent and config cases, and stops twice', async () => {
      assert.equal(dest.dedupes, true);
      await dest.start();
      try {
        assert.deepEqual(await dest.readBack(), [], 'a fresh destination is empty');
        const seqs = await publishThrough(dest, 'adapter', 1);
        const stored = await dest.readBack();
        assert.deepEqual(stored.map((s) => s.seq).sort(), [...seqs].sort(), 'each log once');
        assert.ok(stored.every((s) => s.key?.startsWith('adapter-')), 'keys are read back');

        for (const c of dest.permanentCases()) {
          const err = await refusal(c);
          assert.equal(err.kind, 'permanent', `${c.name}: ${err.message}`);
        }
        const configErr = await refusal(dest.configCase!());
        assert.equal(configErr.kind, 'config', configErr.message);

        await dest.restart!();
        assert.deepEqual((await dest.readBack()).map((s) => s.seq).sort(), [...seqs].sort(), 'the stream survived the SIGKILL');
        const more = await publishThrough(dest, 'after', 10);
        assert.equal((await dest.readBack()).length, seqs.length + more.length, 'it accepts work again');
      } finally {
        await dest.stop();
        await dest.stop();
      }
    });
  });
}
