import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeLogGroup, encodeLogGroup, estimateLogGroupSize, type LogGroup } from '../../src/model/index.ts';
import { LogGroupWriter } from '../../src/model/log-group-writer.ts';

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const content = fc.record({ key: text, value: fc.oneof(text, fc.string({ minLength: 200, maxLength: 20_000 })) });
const log = fc.record(
  {
    time: fc.integer({ min: 0, max: 0xffffffff }),
    contents: fc.array(content, { maxLength: 4 }),
    timeNs: fc.integer({ min: 0, max: 0xffffffff }),
  },
  { requiredKeys: ['time', 'contents'] },
);
const group = fc.record(
  {
    logs: fc.array(log, { maxLength: 30 }),
    category: text,
    topic: text,
    source: text,
    machineUUID: text,
    logTags: fc.array(fc.record({ key: text, value: text }), { maxLength: 3 }),
  },
  { requiredKeys: ['logs', 'logTags'] },
);

function write(writer: LogGroupWriter, lg: LogGroup): Buffer {
  for (const l of lg.logs) {
    writer.beginLog(l.time);
    for (const c of l.contents) writer.addContent(c.key, Buffer.from(c.value, 'utf8'));
    writer.endLog(l.timeNs);
  }
  return writer.finish(lg);
}

describe('LogGroupWriter', () => {
  it('writes the very bytes encodeLogGroup writes, group after group with one writer (M1, M2)', () => {
    const writer = new LogGroupWriter();
    fc.assert(
      fc.property(group, (lg) => {
        const expected = Buffer.from(encodeLogGroup(lg));
        const logs = lg.logs.length;
        const got = write(writer, lg);
        assert.deepEqual(got, expected);
        assert.equal(writer.logs, 0, 'finish resets the writer');
        assert.equal(decodeLogGroup(got).logs.length, logs);
      }),
      { numRuns: 300 },
    );
  });

  it('writes a one-content log held as a string (addTextLog) as addLog writes its UTF-8 bytes', () => {
    const text = fc.string({ unit: 'binary', maxLength: 300 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), text, text, fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined })), { maxLength: 20 }), (logs) => {
        const a = new LogGroupWriter();
        const b = new LogGroupWriter();
        for (const [time, key, value, ns] of logs) {
          a.addTextLog(time, key, value, ns);
          b.addLog(time, key, Buffer.from(value, 'utf8'), ns);
        }
        assert.equal(a.estimatedBytes, b.estimatedBytes);
        assert.deepEqual(a.finish({ topic: 't' }), b.finish({ topic: 't' }));
      }),
      { numRuns: 300 },
    );
  });

  it('reports iLogtail’s size estimate of what it wrote (M5)', () => {
    fc.assert(
      fc.property(group, (lg) => {
        const writer = new LogGroupWriter();
        for (const l of lg.logs) {
          writer.beginLog(l.time);
          for (const c of l.contents) writer.addContent(c.key, Buffer.from(c.value, 'utf8'));
          writer.endLog(l.timeNs);
        }
        const logsOnly = estimateLogGroupSize({ logs: lg.logs, logTags: [] });
        assert.equal(writer.estimatedBytes, logsOnly);
      }),
      { numRuns: 200 },
    );
  });

  it('writes a value that is not UTF-8 the way decoding it to a string would (U+FFFD)', () => {
    const writer = new LogGroupWriter();
    const bad = Buffer.from([0x61, 0xff, 0x62, 0xc3]);
    writer.addLog(5, 'content', bad);
    const decoded = decodeLogGroup(writer.finish());
    assert.equal(decoded.logs[0]!.contents[0]!.value, bad.toString('utf8'));
    assert.equal(decoded.logs[0]!.contents[0]!.value, 'a\ufffdb\ufffd');
  });

  it('refuses a time that is not a uint32 with a coded error naming the log', () => {
    const writer = new LogGroupWriter();
    writer.addLog(1, 'k', Buffer.from('v'));
    assert.throws(() => writer.addLog(-1, 'k', Buffer.from('v')), { code: 'WALSHIP_INVALID_LOG_GROUP', message: /^logs\[1\]\.time: expected a uint32/ });
    assert.throws(() => writer.addLog(2 ** 32, 'k', Buffer.from('v')), { code: 'WALSHIP_INVALID_LOG_GROUP' });
  });

  it('grows past its first buffer for a group of many large logs', () => {
    const writer = new LogGroupWriter();
    const lg: LogGroup = { logs: Array.from({ length: 50 }, (_, i) => ({ time: i, contents: [{ key: 'content', value: 'y'.repeat(10_000 + i) }] })), logTags: [] };
    assert.deepEqual(write(writer, lg), Buffer.from(encodeLogGroup(lg)));
  });
});
