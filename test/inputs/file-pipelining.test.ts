/**
 * input_file reads the next round while the last round's append is in flight (one in flight,
 * in order), and still moves each file's offset only with the append that carries its lines
 * (I1). Checked against a flusher whose appends resolve only when the test says so.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DurableGroup } from '../../src/flusher/index.ts';
import { createInput, type InputFlusher } from '../../src/inputs/index.ts';
import { decodeLogGroup } from '../../src/model/index.ts';
import type { Checkpoint } from '../../src/wal/index.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { lines, numbered, quiet, until } from './harness.ts';

interface Call {
  readonly lines: string[];
  readonly offset: number | undefined;
  resolve(): void;
  reject(err: Error): void;
}

/** A flusher that holds every append until the test settles it. */
function gatedFlusher(): { flusher: InputFlusher; calls: Call[]; pending(): number } {
  const calls: Call[] = [];
  let open = 0;
  const flusher: InputFlusher = {
    isReady: () => true,
    getCheckpoint: async () => undefined,
    appendDurable(groups: readonly DurableGroup[], checkpoints: readonly Checkpoint[] = []) {
      const got: string[] = [];
      for (const g of groups) for (const log of decodeLogGroup(g.payload as Uint8Array).logs) got.push(log.contents[0]!.value);
      const cp = checkpoints[0] === undefined ? undefined : (JSON.parse(String(checkpoints[0].value)) as { files: Array<{ offset: number }> });
      return new Promise<void>((resolve, reject) => {
        open++;
        const done = () => open--;
        calls.push({
          lines: got,
          offset: cp?.files[0]?.offset,
          resolve: () => {
            done();
            resolve();
          },
          reject: (err) => {
            done();
            reject(err);
          },
        });
      });
    },
  };
  return { flusher, calls, pending: () => open };
}

describe('input_file pipelining', () => {
  it('reads on while an append is in flight, hands over one at a time, in order, each offset with its lines (I1)', { timeout: 30_000 }, async () => {
    const root = tempDir('walship-pipe');
    const file = join(root, 'app.log');
    const all = numbered('line', 1, 3000);
    writeFileSync(file, lines(all));
    const { flusher, calls, pending } = gatedFlusher();
    const input = createInput(
      { type: 'input_file', path: file, readFromHead: true, pollMs: 20, readChunkBytes: 4096 },
      { flusher, project: 'p', logstore: 's', configName: 'c', logger: quiet },
    );
    const started = input.start();
    // The first append is the "started" checkpoint of a first start (no lines).
    await until(() => calls.length >= 1, 'the start checkpoint');
    calls[0]!.resolve();
    await started;
    const lineBytes = (n: number) => all.slice(0, n).reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
    let delivered = 0;
    for (let i = 1; delivered < all.length; i++) {
      await until(() => calls.length > i, `append ${i}`);
      // The next round has been read meanwhile, but is not handed over: one in flight.
      await new Promise((r) => setTimeout(r, i < 4 ? 60 : 0));
      assert.equal(pending(), 1, 'one append in flight at a time');
      assert.equal(calls.length, i + 1);
      const call = calls[i]!;
      assert.deepEqual(call.lines, all.slice(delivered, delivered + call.lines.length), 'in order, none twice');
      delivered += call.lines.length;
      assert.equal(call.offset, lineBytes(delivered), 'the checkpoint is the end of the lines it carries');
      if (i < 4) assert.ok(input.stats().bytesRead > lineBytes(delivered), 'the input read on while the append was in flight');
      call.resolve();
    }
    assert.ok(calls.length > 5, 'several rounds');
    await input.stop();
    assert.equal(input.stats().logs, all.length);
  });

  it('a file renamed within the glob while lines wait behind an append in flight: those lines still go out', { timeout: 30_000 }, async () => {
    // A busy logger writing through its descriptor while its file is renamed again and again
    // (each new name still matched by the glob), and every append takes 30 ms (a slow fsync):
    // discovery keeps finding the file under a new name while lines it read wait for the next
    // append. (The builder's side of this is checked directly in line-group-builder.test.ts.)
    const root = tempDir('walship-pipe');
    let path = join(root, 'app.log');
    const fd = openSync(path, 'a');
    const written: string[] = [];
    const write = (n: number) => {
      let text = '';
      for (let i = 0; i < n; i++) {
        const line = `line ${String(written.length).padStart(6, '0')}`;
        written.push(line);
        text += `${line}\n`;
      }
      writeSync(fd, text);
    };
    write(100);
    const shipped: string[] = [];
    let lastOffset: number | undefined;
    const flusher: InputFlusher = {
      isReady: () => true,
      getCheckpoint: async () => undefined,
      async appendDurable(groups: readonly DurableGroup[], checkpoints: readonly Checkpoint[] = []) {
        for (const g of groups) for (const log of decodeLogGroup(g.payload as Uint8Array).logs) shipped.push(log.contents[0]!.value);
        const cp = checkpoints[0] === undefined ? undefined : (JSON.parse(String(checkpoints[0].value)) as { files: Array<{ offset: number }> });
        lastOffset = cp?.files[0]?.offset ?? lastOffset;
        await new Promise((r) => setTimeout(r, 30));
      },
    };
    const input = createInput(
      { type: 'input_file', path: join(root, 'app.log*'), readFromHead: true, pollMs: 5 },
      { flusher, project: 'p', logstore: 's', configName: 'c', logger: quiet },
    );
    await input.start();
    const writer = setInterval(() => write(5), 1);
    for (let r = 1; r <= 8; r++) {
      await new Promise((resolve) => setTimeout(resolve, 40));
      const next = join(root, `app.log.${r}`);
      renameSync(path, next);
      path = next;
    }
    clearInterval(writer);
    closeSync(fd);
    const size = statSync(path).size;
    await until(() => lastOffset === size, 'the checkpoint at the end of the file');
    await until(() => input.stats().logs >= written.length, 'every line durable', 5000).catch(() => {});
    await input.stop();
    const got = new Set(shipped);
    const missing = written.filter((l) => !got.has(l));
    assert.equal(missing.length, 0, `lines behind the checkpoint that never went out, e.g. ${missing.slice(0, 3).join(', ')}`);
    assert.equal(shipped.length, written.length, 'none twice');
  });

  it('a file renamed away and back (A → B → A) gets new pack ids, never repeated ones', { timeout: 30_000 }, async () => {
    const root = tempDir('walship-pipe');
    const a = join(root, 'app.log');
    const b = join(root, 'app.log.1');
    const fd = openSync(a, 'a');
    const packIds: string[] = [];
    let logs = 0;
    const flusher: InputFlusher = {
      isReady: () => true,
      getCheckpoint: async () => undefined,
      async appendDurable(groups: readonly DurableGroup[]) {
        for (const g of groups) {
          const group = decodeLogGroup(g.payload as Uint8Array);
          logs += group.logs.length;
          packIds.push(group.logTags.find((t) => t.key === '__pack_id__')!.value);
        }
      },
    };
    const input = createInput(
      { type: 'input_file', path: join(root, 'app.log*'), readFromHead: true, pollMs: 10 },
      { flusher, project: 'p', logstore: 's', configName: 'c', logger: quiet },
    );
    await input.start();
    let written = 0;
    for (const next of [b, a, b, a]) {
      writeSync(fd, lines(numbered('line', written + 1, written + 20)));
      written += 20;
      await until(() => logs >= written, `${written} lines`);
      renameSync(next === b ? a : b, next);
      await new Promise((r) => setTimeout(r, 60)); // discovery sees the new name
    }
    writeSync(fd, lines(numbered('line', written + 1, written + 20)));
    written += 20;
    await until(() => logs >= written, `${written} lines`);
    await input.stop();
    closeSync(fd);
    assert.ok(packIds.length >= 5, `one group per round at least (${packIds.length})`);
    assert.equal(new Set(packIds).size, packIds.length, `pack ids repeat: ${packIds.join(' ')}`);
  });

  it('a failed append stops the loop before any later round is handed over', { timeout: 30_000 }, async () => {
    const root = tempDir('walship-pipe');
    const file = join(root, 'app.log');
    writeFileSync(file, lines(numbered('line', 1, 2000)));
    const { flusher, calls } = gatedFlusher();
    const input = createInput(
      { type: 'input_file', path: file, readFromHead: true, pollMs: 20, readChunkBytes: 4096 },
      { flusher, project: 'p', logstore: 's', configName: 'c', logger: quiet },
    );
    const started = input.start();
    await until(() => calls.length >= 1, 'the start checkpoint');
    calls[0]!.resolve();
    await started;
    await until(() => calls.length >= 2, 'the first round');
    await new Promise((r) => setTimeout(r, 50)); // the second round is read meanwhile
    calls[1]!.reject(new Error('boom: not retryable'));
    await input.stop();
    assert.equal(calls.length, 2, 'nothing handed over after the failure');
    assert.equal(input.stats().logs, 0, 'nothing counted as durable');
  });
});
