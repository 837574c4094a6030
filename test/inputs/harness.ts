/**
 * Shared pieces of the input tests: a real DurableFlusher delivering NDJSON to a real
 * receiver, an input bound to it, and readers of what arrived.
 */
import { after } from 'node:test';
import { pino } from 'pino';
import { createFlusher, type DurableFlusher, type DurableFlusherOptions } from '../../src/flusher/index.ts';
import { createInput, type Input, type InputConfig } from '../../src/inputs/index.ts';
import { decodeLogGroup } from '../../src/model/index.ts';
import { type Receiver, type ReceiverOptions, startReceiver } from '../../src/receiver/index.ts';
import { WriteAheadLog } from '../../src/wal/index.ts';

export const quiet = pino({ level: 'silent' });

export interface Rig {
  readonly receiver: Receiver;
  readonly flusher: DurableFlusher;
  /** Makes (not starts) an input on the rig's flusher. */
  input(config: InputConfig): Input;
}

/** A receiver and a flusher delivering to it (both stopped after the test file). */
export async function startRig(
  dir: string,
  extra: Partial<DurableFlusherOptions> = {},
  receiverOptions: ReceiverOptions = {},
): Promise<Rig> {
  const receiver = await startReceiver({ logger: quiet, ...receiverOptions });
  const flusher = await createFlusher({
    dir,
    sink: { type: 'http', url: receiver.url, encoding: 'ndjson', probe: false },
    delivery: { retryMinDelayMs: 5, retryMaxDelayMs: 50 },
    modeOptions: { waitRetryMs: 10, maxWaitRetryMs: 100 },
    logger: quiet,
    ...extra,
  });
  const inputs: Input[] = [];
  after(async () => {
    for (const i of inputs) await i.stop();
    await flusher.stop();
    await receiver.close();
  });
  return {
    receiver,
    flusher,
    input(config) {
      const input = createInput(config, { flusher, project: 'proj', logstore: 'store', configName: 'test', logger: quiet });
      inputs.push(input);
      return input;
    },
  };
}

/** The `content` values the receiver stored, in arrival order. */
export function received(receiver: Receiver): string[] {
  return receiver.logs().map((l) => l.contents.content ?? '');
}

/** Polls `cond` every 10 ms; rejects naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `prefix-<n>` for n in [from, to]. */
export function numbered(prefix: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push(`${prefix}-${n}`);
  return out;
}

export function lines(values: readonly string[]): string {
  return values.map((v) => `${v}\n`).join('');
}

/** Every log `content` pending in a (closed) WAL directory, in WAL order, with its `__path__` tag. */
export async function readWal(dir: string): Promise<{ content: string; path: string }[]> {
  const wal = await WriteAheadLog.open({ dir, logger: quiet, sync: 'never' });
  const out: { content: string; path: string }[] = [];
  try {
    let left = wal.pendingRecords;
    while (left > 0) {
      const batch = await wal.nextBatch(256, 64 * 1024 * 1024);
      for (const r of batch) {
        const lg = decodeLogGroup(r.payload);
        const path = lg.logTags.find((t) => t.key === '__path__')?.value ?? '';
        for (const log of lg.logs) out.push({ content: log.contents.find((c) => c.key === 'content')?.value ?? '', path });
      }
      left -= batch.length;
    }
  } finally {
    await wal.close();
  }
  return out;
}

/** Asserts that `got` holds each of `want` exactly once (and nothing else); says what differs. */
export function exactlyOnce(got: readonly string[], want: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const g of got) counts.set(g, (counts.get(g) ?? 0) + 1);
  const missing = want.filter((w) => !counts.has(w));
  const dup = [...counts].filter(([, n]) => n > 1).map(([k, n]) => `${k}×${n}`);
  const wanted = new Set(want);
  const extra = [...counts.keys()].filter((k) => !wanted.has(k));
  if (missing.length === 0 && dup.length === 0 && extra.length === 0) return undefined;
  return `missing ${missing.length} (${missing.slice(0, 5).join(', ')}), duplicated ${dup.length} (${dup.slice(0, 5).join(', ')}), unexpected ${extra.length} (${extra.slice(0, 5).join(', ')})`;
}
