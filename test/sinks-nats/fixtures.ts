/** Shared pieces of the NATS sink tests. */
import assert from 'node:assert/strict';
import type { NatsConnection } from 'nats';
import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import type { DeliveryRecord } from '../../src/delivery/index.ts';
import type { DurableFlusher } from '../../src/flusher/index.ts';
import { deliveryRecord, makeGroup } from '../conformance/records.ts';
import { storedLogs } from '../conformance/destinations/nats.ts';
import { readStream } from '../helpers/servers/nats.ts';

/** `count` records of `logs` logs each; record `i` has seq `first + i` and logs `${prefix}.${i}-${j}`. */
export function records(prefix: string, count: number, first = 1, options: Parameters<typeof deliveryRecord>[2] = {}, logs = 2): DeliveryRecord[] {
  return Array.from({ length: count }, (_, i) => deliveryRecord(makeGroup(`${prefix}.${i}`, logs), first + i, { walId: prefix, ...options }));
}

export async function rejection(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, `expected a DeliveryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** Polls `condition` every 25 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function pending(flusher: DurableFlusher): Promise<number> {
  return (await flusher.stats())?.wal.pendingRecords ?? -1;
}

export async function delivered(flusher: DurableFlusher): Promise<number> {
  return (await flusher.stats())?.delivery.deliveredRecords ?? 0;
}

/** What a stream holds: messages, distinct Msg-Ids, and how many times each log `seq` is stored. */
export async function streamContents(nc: NatsConnection, stream: string): Promise<{ messages: number; keys: Set<string>; seqs: Map<string, number> }> {
  const messages = await readStream(nc, stream);
  const keys = new Set<string>();
  const seqs = new Map<string, number>();
  for (const m of messages) {
    for (const { seq, key } of storedLogs(m)) {
      if (key !== undefined) keys.add(key);
      seqs.set(seq, (seqs.get(seq) ?? 0) + 1);
    }
  }
  return { messages: messages.length, keys, seqs };
}

/** Asserts every seq of `expected` is stored exactly once and nothing else is. */
export function assertExactlyOnce(seqs: Map<string, number>, expected: readonly string[]): void {
  const missing = expected.filter((s) => !seqs.has(s));
  const twice = expected.filter((s) => (seqs.get(s) ?? 0) > 1);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${expected.length} logs are missing from the stream`);
  assert.deepEqual(twice.slice(0, 10), [], `${twice.length} logs are stored more than once`);
  assert.equal(seqs.size, expected.length, 'the stream holds nothing else');
}
