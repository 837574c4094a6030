/**
 * Group buffers shared by several flushers (`walship run` with more than one flusher: fanOut).
 * The first WAL to append a group builds its record in place, in the group's buffer; the
 * others copy the payload, some of them later (the checkpointing flusher goes last, a blocked
 * or failed append is retried). A record acknowledged early must not let the buffer carry a
 * new group before every other flusher has copied it, or those flushers store another group's
 * bytes (with a valid checksum) while the checkpoint moves past the lines.
 *
 * The flushers here encode real envelopes (encodeEnvelope) and give acknowledged records back
 * as the delivery manager does (giveBackGroupBuffer); the input is the real input_file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fanOut } from '../../src/cli/run-command.ts';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import type { DurableFlusher, DurableGroup } from '../../src/flusher/index.ts';
import { createInput, type InputFlusher } from '../../src/inputs/index.ts';
import { decodeLogGroup, giveBackGroupBuffer, groupBufferCounts } from '../../src/model/index.ts';
import { decodeEnvelope, encodeEnvelope, isEnvelopeProblem, type RecordMeta } from '../../src/wal/envelope.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { quiet } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const meta = (g: DurableGroup): RecordMeta => ({
  project: g.project ?? '',
  logstore: g.logstore ?? '',
  configName: g.configName ?? '',
  logstoreKey: 0n,
  enqueuedAt: 1,
  idempotencyKey: undefined,
});

/** The lines of an envelope encoded now from `g` (what a WAL stores), or undefined when they do not decode. */
function storedLines(g: DurableGroup): string[] | undefined {
  const decoded = decodeEnvelope(encodeEnvelope(meta(g), g.payload as Uint8Array));
  if (isEnvelopeProblem(decoded)) return undefined;
  try {
    return decodeLogGroup(decoded.payload).logs.map((l) => l.contents[0]!.value);
  } catch {
    return undefined;
  }
}

interface Flushers {
  readonly flushers: InputFlusher[];
  /** Lines the checkpointing flusher stored, and groups it stored that do not decode. */
  readonly first: { lines: string[]; undecodable: number };
}

/**
 * `fast`: stores in place and acknowledges 5 ms later; `slow`: copies, then takes 80 ms;
 * `first` (the checkpoints) copies last, and fails every `failEvery`th append (retried by the input).
 */
function flushers(withSlow: boolean, failEvery: number): Flushers {
  const first = { lines: [] as string[], undecodable: 0 };
  const fast: InputFlusher = {
    isReady: () => true,
    getCheckpoint: async () => undefined,
    async appendDurable(groups) {
      const records = groups.map((g) => encodeEnvelope(meta(g), g.payload as Uint8Array));
      await sleep(1);
      setTimeout(() => {
        for (const r of records) giveBackGroupBuffer(r);
      }, 5);
    },
  };
  const slow: InputFlusher = {
    isReady: () => true,
    getCheckpoint: async () => undefined,
    async appendDurable(groups) {
      for (const g of groups) encodeEnvelope(meta(g), g.payload as Uint8Array);
      await sleep(80);
    },
  };
  let calls = 0;
  const checkpointing: InputFlusher = {
    isReady: () => true,
    getCheckpoint: async () => undefined,
    async appendDurable(groups) {
      if (groups.length > 0 && failEvery > 0 && ++calls % failEvery === 0) {
        throw new WalshipError(ErrorCodes.WAL_IO, 'an I/O error of the checkpointing WAL (test)');
      }
      for (const g of groups) {
        const got = storedLines(g);
        if (got === undefined) first.undecodable++;
        else first.lines.push(...got);
      }
    },
  };
  return { flushers: [checkpointing, fast, ...(withSlow ? [slow] : [])], first };
}

async function run(withSlow: boolean, failEvery: number): Promise<void> {
  const root = tempDir('walship-fanout');
  const { flushers: list, first } = flushers(withSlow, failEvery);
  const target = fanOut(list as unknown as DurableFlusher[]);
  const all: string[] = [];
  const inputs: Array<ReturnType<typeof createInput>> = [];
  for (let f = 0; f < 3; f++) {
    const file = join(root, `app${f}.log`);
    const mine = Array.from({ length: 30_000 }, (_, i) => `file ${f} line ${String(i).padStart(6, '0')} ${'x'.repeat(40)}`);
    all.push(...mine);
    writeFileSync(file, `${mine.join('\n')}\n`);
    inputs.push(
      createInput(
        { type: 'input_file', path: file, readFromHead: true, pollMs: 20 },
        { flusher: target, project: 'p', logstore: 's', configName: `c${f}`, logger: quiet },
      ),
    );
  }
  const reusedBefore = groupBufferCounts().reused;
  await Promise.all(inputs.map((i) => i.start()));
  const durable = () => inputs.reduce((n, i) => n + i.stats().logs, 0);
  for (let i = 0; i < 600 && durable() < all.length; i++) await sleep(50);
  await Promise.all(inputs.map((i) => i.stop()));
  assert.equal(durable(), all.length, 'every line durable');
  assert.ok(groupBufferCounts().reused > reusedBefore, 'group buffers were reused (the case this test is about)');
  assert.equal(first.undecodable, 0, 'the checkpointing flusher stored only groups that decode');
  const got = new Set(first.lines);
  const missing = all.filter((l) => !got.has(l));
  assert.equal(missing.length, 0, `lines missing in the checkpointing flusher, e.g. ${missing.slice(0, 2).join(' | ')}`);
  const known = new Set(all);
  assert.equal(first.lines.filter((l) => !known.has(l)).length, 0, 'no line that was never written');
}

describe('group buffers with several flushers', () => {
  it('three flushers, one acknowledging in place early, one slow: the last to copy gets every line', { timeout: 60_000 }, async () => {
    await run(true, 0);
  });

  it('two flushers, the checkpointing one failing now and then: the retries copy intact groups', { timeout: 60_000 }, async () => {
    await run(false, 5);
  });
});
