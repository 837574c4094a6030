/**
 * The end-of-test check of the delivery tests (D1, D2, D3): after a run,
 *
 * - the WAL holds no pending record;
 * - its dead-letter queue holds exactly the records the test expects to be rejected;
 * - every other record appended was received (union over the receivers, by its content
 *   `seq`), and no dead-lettered record was;
 * - every stored copy of a record carries one idempotency key (the same on every attempt,
 *   D2), and a receiver never stored one key twice (its deduplication);
 * - no record is sent again once acknowledged: from the clients' own log of attempts, each
 *   record is acknowledged by exactly one attempt and appears in no attempt after it (D1);
 * - duplicates are explained: for every idempotency key, the requests that receivers stored
 *   or deduplicated number at most one (the ack) plus the client's attempts of that key that
 *   ended without an HTTP answer (timeout, reset, outage: the client could not know the
 *   request had been stored).
 *
 * Returns the counts, for the test to assert more and to print.
 */
import assert from 'node:assert/strict';
import type { Receiver } from '../../src/receiver/index.ts';
import type { WriteAheadLog } from '../../src/wal/index.ts';
import type { ReceiverTap, TappedPost } from './receiver-tap.ts';
import type { ClientEvent } from './timed-client.ts';

export interface DeliveryReport {
  readonly appended: number;
  readonly received: number;
  readonly deadLettered: number[];
  /** Stored copies of records beyond the first, over all receivers (other hosts). */
  readonly crossReceiverCopies: number;
  /** Requests stored under a key another receiver had stored already. */
  readonly crossReceiverRequests: number;
  /** Requests the receivers deduplicated (answered 200, not stored again). */
  readonly duplicateRequests: number;
  readonly duplicateLogs: number;
  /** Stored or deduplicated requests beyond the one acknowledged, per key, summed. */
  readonly unansweredStored: number;
  /** Server-side view: stored or deduplicated requests whose answer the receiver never wrote. */
  readonly answerNeverWritten: number;
  /** POST requests per receiver label. */
  readonly requestsPerHost: Record<string, number>;
  /** Unique records stored per receiver label. */
  readonly recordsPerHost: Record<string, number>;
  /** Keys that were stored or deduplicated more than once, with the hosts involved. */
  readonly redelivered: Array<{ key: string; requests: number; hosts: string[] }>;
}

export async function checkDelivery(options: {
  readonly wal: WriteAheadLog;
  readonly seqs: readonly number[];
  readonly receivers: ReadonlyArray<{ readonly receiver: Receiver; readonly tap: ReceiverTap }>;
  readonly expectDead?: readonly number[];
  /** Every client attempt (test/helpers/timed-client.ts). */
  readonly events: readonly ClientEvent[];
  /** SLS: one request per record, keyed by the record; otherwise one per batch, keyed by the batch. */
  readonly perRecordRequests: boolean;
}): Promise<DeliveryReport> {
  const { wal, seqs } = options;
  const expectDead = [...(options.expectDead ?? [])].sort((a, b) => a - b);

  // The WAL: nothing pending, the expected dead letters and no others.
  assert.equal(wal.pendingRecords, 0, 'the WAL has no pending record');
  const stats = await wal.stats();
  assert.equal(stats.pendingRecords, 0, 'the stored counters have no pending record');
  const letters = await wal.listDeadLetters();
  const dead = letters.map((l) => l.seq).sort((a, b) => a - b);
  assert.deepEqual(dead, expectDead, 'the dead-letter queue holds exactly the rejected records');
  for (const l of letters) assert.equal(l.idempotencyKey, `${wal.walId}-${l.seq}`, 'a dead letter keeps its record key');

  // What the receivers stored, by record.
  const copies = new Map<number, Array<{ host: string; key: string | undefined }>>();
  const recordsPerHost: Record<string, number> = {};
  const requestsPerHost: Record<string, number> = {};
  let duplicateRequests = 0;
  let duplicateLogs = 0;
  for (const { receiver, tap } of options.receivers) {
    const s = receiver.stats();
    duplicateRequests += s.duplicateRequests;
    duplicateLogs += s.duplicateLogs;
    requestsPerHost[tap.label] = (requestsPerHost[tap.label] ?? 0) + s.requests;
    const seen = new Set<number>();
    for (const log of receiver.logs()) {
      const seq = Number(log.contents.seq);
      assert.ok(Number.isSafeInteger(seq), `a log without a seq reached ${tap.label}: ${JSON.stringify(log.contents)}`);
      assert.ok(!seen.has(seq), `${tap.label} stored record ${seq} twice (under keys it saw as different)`);
      seen.add(seq);
      const list = copies.get(seq) ?? [];
      list.push({ host: tap.label, key: log.idempotencyKey });
      copies.set(seq, list);
    }
    recordsPerHost[tap.label] = (recordsPerHost[tap.label] ?? 0) + seen.size;
  }
  const known = new Set(seqs);
  for (const seq of copies.keys()) assert.ok(known.has(seq), `record ${seq} was received but never appended`);
  const deadSet = new Set(expectDead);
  let received = 0;
  let crossReceiverCopies = 0;
  const missing: number[] = [];
  for (const seq of seqs) {
    const c = copies.get(seq) ?? [];
    if (deadSet.has(seq)) {
      assert.equal(c.length, 0, `dead-lettered record ${seq} was also stored by ${c.map((x) => x.host).join(', ')}`);
      continue;
    }
    if (c.length === 0) {
      missing.push(seq);
      continue;
    }
    received++;
    crossReceiverCopies += c.length - 1;
    const keys = new Set(c.map((x) => x.key));
    assert.equal(keys.size, 1, `record ${seq} was stored under several keys: ${[...keys].join(', ')} (D2)`);
  }
  assert.deepEqual(missing, [], `records neither received nor dead-lettered (D1): ${missing.slice(0, 20).join(', ')}`);

  // The clients' view: each record acknowledged once, never attempted after its ack (D1).
  // Per request key, the attempts that ended without an HTTP answer.
  const walId = wal.walId;
  const recordKey = (seq: number): string => `${walId}-${seq}`;
  const ackedAt = new Map<number, number>();
  const noAnswer = new Map<string, number>();
  const resent: string[] = [];
  const publishes = options.events.filter((e) => e.kind === 'publish').sort((a, b) => a.start - b.start);
  for (const e of publishes) {
    const seqs = e.seqs ?? [];
    for (const seq of seqs) {
      const at = ackedAt.get(seq);
      if (at !== undefined && e.start >= at) resent.push(`record ${seq} in ${e.key} on ${e.host} after its ack`);
    }
    const rest = e.rest ?? (e.ok ? [] : seqs);
    const published = seqs.slice(0, seqs.length - rest.length);
    for (const seq of published) {
      assert.ok(!ackedAt.has(seq), `record ${seq} acknowledged by two attempts`);
      ackedAt.set(seq, e.end);
    }
    const failed = e.ok ? undefined : options.perRecordRequests ? recordKey(rest[0] ?? seqs[0]!) : e.key!;
    // A failure with an HTTP answer (`http_…`) was not stored; a partial publish hides the
    // reason of its failed record, which then counts as unanswered.
    if (failed !== undefined && !(e.reason ?? '').startsWith('http_')) noAnswer.set(failed, (noAnswer.get(failed) ?? 0) + 1);
  }
  assert.deepEqual(resent.slice(0, 20), [], 'no record was sent again after its acknowledgement (D1)');
  for (const seq of seqs) {
    if (!deadSet.has(seq)) assert.ok(ackedAt.has(seq), `record ${seq} left the WAL without an ack the client saw`);
  }

  // The receivers' view: stored or deduplicated requests per key, each extra one explained.
  const byKey = new Map<string, TappedPost[]>();
  for (const { tap } of options.receivers) {
    for (const p of tap.posts()) {
      if (p.key === undefined) continue;
      if (p.outcome !== 'accepted' && p.outcome !== 'duplicate') continue;
      const list = byKey.get(p.key) ?? [];
      list.push(p);
      byKey.set(p.key, list);
    }
  }
  let unansweredStored = 0;
  let answerNeverWritten = 0;
  let crossReceiverRequests = 0;
  const redelivered: DeliveryReport['redelivered'] = [];
  const unexplained: string[] = [];
  for (const [key, posts] of byKey) {
    const extra = posts.length - 1;
    unansweredStored += extra;
    answerNeverWritten += posts.filter((p) => p.finishedAt === undefined).length;
    crossReceiverRequests += Math.max(0, posts.filter((p) => p.outcome === 'accepted').length - 1);
    if (extra > (noAnswer.get(key) ?? 0)) {
      unexplained.push(`${key}: stored or deduplicated ${posts.length} times, ${noAnswer.get(key) ?? 0} attempts without an answer`);
    }
    if (posts.length > 1) redelivered.push({ key, requests: posts.length, hosts: [...new Set(posts.map((p) => p.host))] });
  }
  assert.deepEqual(unexplained.slice(0, 20), [], 'every duplicate is an attempt whose answer the client never got');
  assert.equal(duplicateRequests + crossReceiverRequests, unansweredStored, 'duplicates are deduplicated requests plus copies on other hosts');
  return {
    appended: seqs.length,
    received,
    deadLettered: dead,
    crossReceiverCopies,
    crossReceiverRequests,
    duplicateRequests,
    duplicateLogs,
    unansweredStored,
    answerNeverWritten,
    requestsPerHost,
    recordsPerHost,
    redelivered,
  };
}
