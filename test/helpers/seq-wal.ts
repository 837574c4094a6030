/**
 * WALs of numbered records for the delivery tests: each record is one LogGroup with one log
 * whose contents carry `seq=<n>` (n = the record's WAL sequence number), so a receiver's logs
 * say which record they came from. Also a free loopback port and a polling `until`.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { encodeLogGroup } from '../../src/model/index.ts';
import { type AppendEntry, WriteAheadLog } from '../../src/wal/index.ts';

/** The LogGroup bytes of record `seq`: one log, contents `seq=<seq>` and a little filler. */
export function seqPayload(seq: number, extra: Readonly<Record<string, string>> = {}): Uint8Array {
  return encodeLogGroup({
    logs: [
      {
        time: 1_700_000_000 + (seq % 1000),
        contents: [
          { key: 'seq', value: String(seq) },
          { key: 'msg', value: `record ${seq} ${'x'.repeat(24)}` },
          ...Object.entries(extra).map(([key, value]) => ({ key, value })),
        ],
      },
    ],
    topic: 'walship-test',
    logTags: [{ key: '__pack_id__', value: `TEST-${seq.toString(16)}` }],
  });
}

/** `count` entries whose content `seq` values run from `firstSeq`. */
export function seqEntries(firstSeq: number, count: number, logstore = 'store'): AppendEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    payload: seqPayload(firstSeq + i),
    project: 'proj',
    logstore,
  }));
}

/** A fresh WAL in `dir` holding records 1..count (content seq = WAL seq). */
export async function seqWal(dir: string, count: number, logger: Logger): Promise<{ wal: WriteAheadLog; seqs: number[] }> {
  const wal = await WriteAheadLog.open({ dir, logger, sync: 'never' });
  const { firstSeq, lastSeq } = await wal.append(seqEntries(1, count));
  if (firstSeq !== 1 || lastSeq !== count) throw new Error(`expected seqs 1..${count}, got ${firstSeq}..${lastSeq}`);
  return { wal, seqs: Array.from({ length: count }, (_, i) => i + 1) };
}

/** A loopback port nothing listens on (at the time of the call). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `cond` every 5 ms; rejects (naming `what`) after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
