// The file sink on a real file system: NDJSON lines, datasync before the ack (FI1), whole lines
// across failures and torn files (FI2), rotation without loss or duplication (FI3), error
// classes (FI4; ENOSPC on a real 64 KiB tmpfs when mounting is allowed), and a flusher
// draining its WAL into a file. FI1–FI5: src/sinks/file/index.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DeliveryRecord } from '../../src/delivery/protocol-client.ts';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import { createFlusher } from '../../src/flusher/index.ts';
import { recordToJsonLogs } from '../../src/sinks/http/index.ts';
import '../../src/sinks/builtin.ts';
import { createFileClient, FileClient, fileError, resolveFileSinkOptions } from '../../src/sinks/file/index.ts';
import { planSink } from '../../src/sinks/registry.ts';
import { fileDestination, readNdjsonFiles } from '../conformance/destinations/file.ts';
import { deliveryBatch, deliveryRecord, makeGroup } from '../conformance/records.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { tempDir } from '../helpers/tmpdir.ts';
import { skipOrFail } from '../helpers/servers/binary.ts';
import { rejection } from '../helpers/rejection.ts';

const quiet = captureLogger('error').logger;

function seqsIn(path: string): string[] {
  return readNdjsonFiles(path).map((l) => l.contents.seq as string);
}

/** `count` single-record batches, `logs` logs each, seqs `${prefix}${i}-${j}`. */
function records(prefix: string, count: number, logs = 3, msgBytes = 64): DeliveryRecord[] {
  return Array.from({ length: count }, (_, i) => deliveryRecord(makeGroup(`${prefix}${i}`, logs, msgBytes), i + 1, { walId: prefix }));
}

describe('file sink options', () => {
  it('resolves a relative path, no rotation and 5 kept files by default', () => {
    const o = resolveFileSinkOptions({ path: 'out.ndjson', logger: quiet });
    assert.equal(o.path, join(process.cwd(), 'out.ndjson'));
    assert.deepEqual([o.maxBytes, o.maxFiles, o.mode], [0, 5, 0o640]);
    assert.equal(o.name, `file://${o.path}`);
  });

  it('rejects a bad option with a message naming it', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{}, /`path` to be a non-empty file path, got undefined/],
      [{ path: '' }, /`path` to be a non-empty file path, got ""/],
      [{ path: 'x', maxBytes: -1 }, /`maxBytes` to be an integer >= 0/],
      [{ path: 'x', maxFiles: 0 }, /`maxFiles` to be an integer from 1 to 1000, got 0/],
      [{ path: 'x', mode: 0o10000 }, /`mode` to be an integer from 0 to 4095/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => resolveFileSinkOptions({ ...options, logger: quiet } as never),
        (err: unknown) => err instanceof WalshipError && err.code === ErrorCodes.INVALID_OPTIONS && message.test(err.message),
        JSON.stringify(options),
      );
    }
  });

  it('is registered as file and flusher_file', async () => {
    const plan = planSink({ type: 'flusher_file', path: join(tempDir(), 'x.ndjson') }, quiet);
    assert.ok(plan.clients[0] instanceof FileClient);
    assert.equal(plan.defaultMode, 'single');
    await plan.clients[0]!.close();
  });
});

describe('file sink', () => {
  it('appends one JSON line per log, the HTTP ndjson shape, creating missing directories', async () => {
    const path = join(tempDir(), 'a', 'b', 'out.ndjson');
    const client = createFileClient({ path, logger: quiet });
    const rs = records('r', 2);
    await client.connect(1000);
    assert.equal(client.isConnected(), true);
    assert.deepEqual(await client.publishEvents(deliveryBatch(rs)), []);
    await client.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      rs.flatMap((r) => recordToJsonLogs(r)),
    );
    assert.equal(statSync(path).mode & 0o777, 0o640 & ~process.umask());

    const again = createFileClient({ path, logger: quiet });
    await again.publishEvents(deliveryBatch(records('s', 1)));
    await again.close();
    assert.deepEqual(seqsIn(path), ['r0-0', 'r0-1', 'r0-2', 'r1-0', 'r1-1', 'r1-2', 's0-0', 's0-1', 's0-2']);
  });

  it('is connected again once connect() succeeds after a write failed with ENOSPC (found by a code review)', async (t) => {
    const path = join(tempDir(), 'out.ndjson');
    const probe = await open(join(tempDir(), 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const realWrite = proto.write;
    let failNext = false;
    proto.write = function (this: FileHandle, ...args: unknown[]) {
      if (failNext) {
        failNext = false;
        return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      }
      return (realWrite as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof proto.write;
    t.after(() => {
      proto.write = realWrite;
    });
    const client = createFileClient({ path, logger: quiet });
    await client.connect(1000);
    failNext = true;
    await assert.rejects(client.publishEvents(deliveryBatch(records('a', 1))));
    assert.equal(client.isConnected(), false);
    await client.connect(1000);
    assert.equal(client.isConnected(), true);
    await client.publishEvents(deliveryBatch(records('b', 1)));
    await client.close();
    assert.deepEqual(seqsIn(path), ['b0-0', 'b0-1', 'b0-2']);
  });

  it('datasyncs the file after writing and before acknowledging, once per group of concurrent batches (FI1)', async (t) => {
    const path = join(tempDir(), 'out.ndjson');
    // A spy on the real FileHandle: records the order of writes, datasyncs and acks.
    const probe = await open(join(tempDir(), 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const events: string[] = [];
    const realWrite = proto.write;
    const realDatasync = proto.datasync;
    proto.write = function (this: FileHandle, ...args: unknown[]) {
      events.push('write');
      return (realWrite as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof proto.write;
    proto.datasync = async function (this: FileHandle) {
      await realDatasync.call(this);
      events.push('datasync');
    };
    t.after(() => {
      proto.write = realWrite;
      proto.datasync = realDatasync;
    });

    const client = createFileClient({ path, logger: quiet });
    await client.connect(1000);
    await client.publishEvents(deliveryBatch(records('one', 1)));
    events.push('ack');
    assert.deepEqual(events, ['write', 'datasync', 'ack']);

    events.length = 0;
    const batches = records('many', 10).map((r) => deliveryBatch([r]));
    await Promise.all(batches.map((b) => client.publishEvents(b).then(() => events.push('ack'))));
    await client.close();
    const syncs = events.filter((e) => e === 'datasync').length;
    assert.ok(syncs >= 1 && syncs < 10, `10 concurrent batches, ${syncs} datasyncs: grouped`);
    assert.ok(events.indexOf('datasync') < events.indexOf('ack'), 'no ack before the first datasync');
    assert.equal(events.lastIndexOf('datasync') < events.lastIndexOf('ack'), true);
    assert.equal(seqsIn(path).length, 3 + 30);
  });

  it('rotates between writes: every line is in exactly one file, in order, and no file passes maxBytes (FI3)', async () => {
    const path = join(tempDir(), 'out.ndjson');
    const maxBytes = 4096;
    const client = createFileClient({ path, maxBytes, maxFiles: 100, logger: quiet });
    const rs = records('rot', 60, 3, 100);
    // Sequential batches, then concurrent ones (grouped writes).
    for (const r of rs.slice(0, 30)) await client.publishEvents(deliveryBatch([r]));
    await Promise.all(rs.slice(30).map((r) => client.publishEvents(deliveryBatch([r]))));
    await client.close();
    const expected = rs.flatMap((r) => recordToJsonLogs(r).map((l) => l.contents.seq));
    assert.deepEqual(seqsIn(path), expected, 'oldest file first, every line once, in order');
    assert.ok(existsSync(`${path}.5`), 'several rotations happened');
    for (let n = 1; existsSync(`${path}.${n}`); n++) {
      const size = statSync(`${path}.${n}`).size;
      assert.ok(size <= maxBytes && size > 0, `${path}.${n} holds ${size} bytes`);
      assert.ok(readFileSync(`${path}.${n}`, 'utf8').endsWith('\n'));
    }
  });

  it('keeps maxFiles rotated files and drops the oldest', async () => {
    const path = join(tempDir(), 'out.ndjson');
    const client = createFileClient({ path, maxBytes: 1000, maxFiles: 2, logger: quiet });
    for (const r of records('keep', 10, 3, 200)) await client.publishEvents(deliveryBatch([r]));
    await client.close();
    assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`));
    assert.equal(existsSync(`${path}.3`), false);
    // The newest lines are in the kept files: the last batch is in `path`.
    assert.deepEqual(seqsIn(path).slice(-3), ['keep9-0', 'keep9-1', 'keep9-2']);
  });

  it('ends a torn last line before appending, so every new line parses (FI2)', async () => {
    const path = join(tempDir(), 'out.ndjson');
    writeFileSync(path, '{"time":1,"contents":{"seq":"old"}}\n{"time":2,"cont');
    const logs = captureLogger('warn');
    const client = createFileClient({ path, logger: logs.logger });
    await client.publishEvents(deliveryBatch(records('t', 1)));
    await client.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.equal(lines[1], '{"time":2,"cont');
    assert.deepEqual(lines.slice(2, 5).map((l) => JSON.parse(l).contents.seq), ['t0-0', 't0-1', 't0-2']);
    assert.ok(logs.lines.some((l) => String(l.msg).includes('torn line')));
  });

  it('refuses a path under a regular file (ENOTDIR) and a directory (EISDIR) for good, yet connects (FI4)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'regular'), 'x');
    mkdirSync(join(dir, 'a-directory'));
    for (const [path, reason] of [
      [join(dir, 'regular', 'out.ndjson'), 'enotdir'],
      [join(dir, 'a-directory'), 'eisdir'],
    ] as const) {
      const client = createFileClient({ path, logger: quiet });
      await client.connect(1000);
      assert.equal(client.isConnected(), true, 'connected, so that publishing reports the permanent error');
      const err = await rejection(client.publishEvents(deliveryBatch(records('p', 1))));
      assert.deepEqual([err.kind, err.reason, err.code], ['permanent', reason, ErrorCodes.DELIVERY_REJECTED]);
      await client.close();
    }
  });

  it('refuses an undecodable record for good and still writes the next batch', async () => {
    const path = join(tempDir(), 'out.ndjson');
    const client = createFileClient({ path, logger: quiet });
    const good = records('g', 1)[0]!;
    const err = await rejection(client.publishEvents(deliveryBatch([{ ...good, payload: Buffer.from([0x0a, 0xff]) }])));
    assert.deepEqual([err.kind, err.reason], ['permanent', 'invalid_payload']);
    await client.publishEvents(deliveryBatch([good]));
    await client.close();
    assert.deepEqual(seqsIn(path), ['g0-0', 'g0-1', 'g0-2']);
  });

  it('classifies errno codes: resources retryable, permissions retryable with auth, bad paths permanent (FI4)', () => {
    const table: Array<[string, string, boolean]> = [
      ['ENOTDIR', 'permanent', false],
      ['EISDIR', 'permanent', false],
      ['EINVAL', 'permanent', false],
      ['ENAMETOOLONG', 'permanent', false],
      ['ENOSPC', 'retryable', false],
      ['EIO', 'retryable', false],
      ['EMFILE', 'retryable', false],
      ['EACCES', 'retryable', true],
      ['EPERM', 'retryable', true],
      ['ENOENT', 'config', false],
      ['ESOMETHINGNEW', 'retryable', false],
    ];
    for (const [code, kind, auth] of table) {
      const err = fileError(Object.assign(new Error(code), { code }), 'write');
      assert.deepEqual([err.kind, err.auth, err.reason], [kind, auth, code.toLowerCase()], code);
    }
  });

  it('rejects every call after close() with a retryable closed error', async () => {
    const client = createFileClient({ path: join(tempDir(), 'x'), logger: quiet });
    await client.close();
    await client.close();
    const err = await rejection(client.publishEvents(deliveryBatch(records('c', 1))));
    assert.deepEqual([err.kind, err.reason], ['retryable', 'closed']);
  });

  it('reports a full disk as retryable, leaves no partial line, and writes the batch once space is back (FI2, FI4)', async (t) => {
    const mnt = mkdtempSync(join(tmpdir(), 'walship-file-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      rmSync(mnt, { recursive: true, force: true });
      return skipOrFail(t, 'cannot mount a small tmpfs here (needs root and mount rights)');
    }
    const path = join(mnt, 'out.ndjson');
    const client = createFileClient({ path, logger: quiet });
    t.after(async () => {
      // Closed first (also when an assertion failed), or the busy mount would stay.
      await client.close();
      try {
        execFileSync('umount', [mnt], { stdio: 'ignore' });
      } catch {
        execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
      }
      rmSync(mnt, { recursive: true, force: true });
    });
    await client.publishEvents(deliveryBatch(records('before', 1)));
    // Leave about 12 KiB free, then send a ~30 KiB batch: the write fails part way.
    writeFileSync(join(mnt, 'filler'), Buffer.alloc(48 * 1024));
    const big = deliveryBatch(records('big', 1, 30, 1000));
    const err = await rejection(client.publishEvents(big));
    assert.deepEqual([err.kind, err.reason], ['retryable', 'enospc']);
    assert.deepEqual(seqsIn(path), ['before0-0', 'before0-1', 'before0-2'], 'only whole lines: the partial write was cut away');
    rmSync(join(mnt, 'filler'));
    assert.deepEqual(await client.publishEvents(big), []);
    await client.close();
    const seqs = seqsIn(path);
    assert.equal(seqs.length, 3 + 30);
    assert.equal(new Set(seqs).size, 33, 'the retried batch is in the file once');
  });

  it('receives everything a flusher drains from its WAL, end to end (D1)', async () => {
    const path = join(tempDir(), 'out.ndjson');
    const flusher = await createFlusher({ dir: tempDir('walship-file-wal'), sink: { type: 'flusher_file', path, maxBytes: 16 * 1024 }, logger: quiet });
    const seqs: string[] = [];
    try {
      for (let g = 0; g < 60; g++) {
        const group = makeGroup(`f${g}`, 5);
        for (const log of group.logs) seqs.push(log.contents[0]!.value);
        await flusher.flush('proj', 'store', 'cfg', [group]);
      }
      const deadline = Date.now() + 20_000;
      while ((await flusher.stats())?.wal.pendingRecords !== 0) {
        if (Date.now() > deadline) throw new Error('the WAL did not drain');
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await flusher.stop();
    }
    const back = seqsIn(path);
    assert.equal(back.length, seqs.length);
    assert.deepEqual(new Set(back), new Set(seqs));
  });

  it('reads back and refuses through the conformance destination adapter', async () => {
    const dest = fileDestination();
    await dest.start();
    try {
      assert.equal(dest.restart, undefined);
      const { clients } = planSink(dest.sinkConfig(), quiet);
      const batch = deliveryBatch(records('ad', 2));
      await clients[0]!.connect(1000);
      await clients[0]!.publishEvents(batch);
      await clients[0]!.publishEvents(batch);
      await clients[0]!.close();
      assert.deepEqual(
        (await dest.readBack()).map((e) => e.seq),
        ['ad0-0', 'ad0-1', 'ad0-2', 'ad1-0', 'ad1-1', 'ad1-2', 'ad0-0', 'ad0-1', 'ad0-2', 'ad1-0', 'ad1-1', 'ad1-2'],
        'no deduplication: the redelivery is stored again',
      );
      for (const c of dest.permanentCases()) {
        const client = c.client();
        await client.connect(1000);
        const err = await rejection(client.publishEvents(deliveryBatch([c.record()])));
        assert.equal(err.kind, 'permanent', c.name);
        await client.close();
      }
    } finally {
      await dest.stop();
      await dest.stop();
    }
  });
});
