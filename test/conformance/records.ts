/**
 * Test LogGroups and DeliveryRecords for the conformance suite and the sink tests: every log
 * carries a unique `seq` content, so what a destination stored can be read back and counted.
 */
import type { DeliveryBatch, DeliveryRecord } from '../../src/delivery/index.ts';
import { encodeLogGroup, type LogGroup } from '../../src/model/index.ts';

/** `count` logs with contents `seq` = `${prefix}-${i}` and a `msg` of about `msgBytes`. */
export function makeGroup(prefix: string, count: number, msgBytes = 64): LogGroup {
  const msg = 'x'.repeat(msgBytes);
  return {
    topic: 'conformance',
    source: '127.0.0.1',
    logTags: [{ key: '__hostname__', value: 'conformance' }],
    logs: Array.from({ length: count }, (_, i) => ({
      time: 1_700_000_000 + i,
      contents: [
        { key: 'seq', value: `${prefix}-${i}` },
        { key: 'msg', value: msg },
      ],
    })),
  };
}

/** A DeliveryRecord as delivery hands it to a client, for publishing directly. */
export function deliveryRecord(group: LogGroup, seq: number, options: { walId?: string; project?: string; logstore?: string } = {}): DeliveryRecord {
  const payload = Buffer.from(encodeLogGroup(group));
  return {
    seq,
    idempotencyKey: `${options.walId ?? 'conformance'}-${seq}`,
    meta: {
      project: options.project ?? 'proj',
      logstore: options.logstore ?? 'store',
      configName: 'conformance',
      logstoreKey: 0n,
      enqueuedAt: Date.now(),
    },
    payload,
    bytes: payload.length,
  };
}

/** A batch of records under a fixed key (the same key on a redelivery: D2). */
export function deliveryBatch(records: readonly DeliveryRecord[], key?: string): DeliveryBatch {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined) throw new TypeError('Expected a non-empty batch');
  return { key: key ?? (records.length === 1 ? first.idempotencyKey : `conformance-${first.seq}-${last.seq}`), records };
}
