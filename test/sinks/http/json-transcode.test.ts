// The json/ndjson bodies written straight from the protobuf bytes (src/sinks/http/json-transcode.ts)
// against the reference: JSON.stringify of the objects recordToJsonLogs builds
// (encodeJsonBodyFromObjects). Byte for byte, on tricky strings, tricky objects, hand-made wire
// bytes (invalid UTF-8, unknown fields, odd field order, wrong wire types, missing required
// fields) and random groups.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import type { DeliveryRecord } from '../../../src/delivery/protocol-client.ts';
import { ErrorCodes, WalshipError } from '../../../src/errors.ts';
import { encodeLogGroup, type LogGroup } from '../../../src/model/index.ts';
import { encodeJsonBody, encodeJsonBodyFromObjects } from '../../../src/sinks/http/encode.ts';
import { pooledJsonBodySizes, releaseJsonBody, transcodeJsonBodyPooled } from '../../../src/sinks/http/json-transcode.ts';
import { makeRecord, sampleGroup } from './fixtures.ts';

type Outcome = Buffer | string;

/** The body, or the error code it throws. */
function outcome(fn: () => Buffer): Outcome {
  try {
    return fn();
  } catch (err) {
    assert.ok(err instanceof WalshipError, String(err));
    return err.code;
  }
}

/** Both encodings, both ways: the bodies are identical (or both throw the same code). */
function assertSame(records: readonly DeliveryRecord[], what = ''): void {
  for (const encoding of ['json', 'ndjson'] as const) {
    const fast = outcome(() => encodeJsonBody(records, encoding));
    const reference = outcome(() => encodeJsonBodyFromObjects(records, encoding));
    if (Buffer.isBuffer(fast) && Buffer.isBuffer(reference)) {
      assert.equal(fast.toString('latin1'), reference.toString('latin1'), `${what} (${encoding})`);
    } else {
      assert.deepEqual(fast, reference, `${what} (${encoding})`);
    }
  }
}

function recordOf(payload: Uint8Array, seq = 1, meta: Partial<DeliveryRecord['meta']> = {}): DeliveryRecord {
  const base = makeRecord(seq, { logs: [], logTags: [] }, meta);
  return { ...base, payload: Buffer.from(payload), bytes: payload.length };
}

// ── Hand-made protobuf ──────────────────────────────────────────────────────────────────

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}
const tag = (field: number, wireType: number): number[] => varint(field * 8 + wireType);
const bytesField = (field: number, body: Uint8Array | number[] | string): number[] => {
  const b = typeof body === 'string' ? [...Buffer.from(body, 'utf8')] : [...body];
  return [...tag(field, 2), ...varint(b.length), ...b];
};
const varintField = (field: number, n: number): number[] => [...tag(field, 0), ...varint(n)];
const fixed32Field = (field: number, n: number): number[] => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return [...tag(field, 5), ...b];
};
const pair = (key: Uint8Array | number[] | string, value: Uint8Array | number[] | string): number[] => [...bytesField(1, key), ...bytesField(2, value)];
const log = (...fields: number[][]): number[] => bytesField(1, fields.flat());
const content = (key: Uint8Array | number[] | string, value: Uint8Array | number[] | string): number[] => bytesField(2, pair(key, value));
const group = (...fields: number[][]): Buffer => Buffer.from(fields.flat());

describe('json/ndjson bodies straight from the protobuf bytes', () => {
  it('escape strings exactly as JSON.stringify: quotes, backslashes, control characters, unicode, lone surrogates', () => {
    const controls = Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c)).join('');
    const strings = [
      '',
      'plain',
      'say "hi"',
      'back\\slash \\" \\\\',
      controls,
      `a${controls}b`,
      '\u007f DEL and \u0080 \u009f C1',
      'é ü ß — “quotes” ‘single’',
      '中文 日本語 한국어',
      '😀 🚀 astral 𝄞',
      '\u2028 line separator \u2029 paragraph separator',
      '\ufeff BOM \ufffd replacement',
      'lone high \ud800 here',
      'lone low \udc00 here',
      'reversed \udc00\ud800 pair',
      'trailing high \udbff',
      '</script><!-- -->',
      '{"json":"inside"}\n',
      'x'.repeat(5000),
    ];
    const records = strings.map((s, i) =>
      makeRecord(i + 1, {
        logs: [
          { time: 1_700_000_000, timeNs: 0, contents: [{ key: s, value: s }, { key: `k${i}`, value: `${s}|${s}` }] },
          { time: 0, contents: [{ key: 'v', value: s }] },
        ],
        logTags: [{ key: `t${s}`, value: s }],
        source: s,
        topic: s,
        category: s,
      }),
    );
    for (let i = 0; i < records.length; i++) assertSame([records[i]!], JSON.stringify(strings[i]));
    assertSame(records, 'all at once');
    // The lone surrogates became U+FFFD in the model's encoder (as TextEncoder does).
    const body = encodeJsonBody([records[12]!], 'ndjson').toString('utf8');
    assert.equal(JSON.parse(body.split('\n')[0]!).contents.v, undefined);
    assert.equal(JSON.parse(body.split('\n')[1]!).contents.v, 'lone high \ufffd here');
  });

  it('keep the objects: repeated keys, array-index keys, __proto__, absent optional fields, extreme numbers', () => {
    const cases: Array<[string, LogGroup]> = [
      ['repeated key', { logs: [{ time: 5, contents: [{ key: 'k', value: '1' }, { key: 'j', value: 'x' }, { key: 'k', value: '2' }] }], logTags: [] }],
      ['repeated tag', { logs: [{ time: 5, contents: [] }], logTags: [{ key: 't', value: '1' }, { key: 't', value: '2' }] }],
      ...['0', '7', '10', '4294967294', '4294967295', '01', '-1', '1.5', '1e3', ' 1', '9'.repeat(11)].map(
        (k): [string, LogGroup] => [`key ${JSON.stringify(k)}`, { logs: [{ time: 5, contents: [{ key: 'a', value: '1' }, { key: k, value: '2' }] }], logTags: [{ key: 'b', value: '3' }, { key: k, value: '4' }] }],
      ),
      ['__proto__', { logs: [{ time: 5, contents: [{ key: '__proto__', value: 'x' }, { key: 'constructor', value: 'y' }] }], logTags: [{ key: '__proto__', value: 'z' }] }],
      ['no contents, no tags, no optionals', { logs: [{ time: 1, contents: [] }], logTags: [] }],
      ['no logs', { logs: [], logTags: [{ key: 't', value: '1' }], source: 's' }],
      ['extreme numbers', { logs: [{ time: 4294967295, timeNs: 4294967295, contents: [] }, { time: 0, timeNs: 0, contents: [] }, { time: 2147483648, timeNs: 2147483647, contents: [] }], logTags: [] }],
      ['many keys', { logs: [{ time: 1, contents: Array.from({ length: 100 }, (_, i) => ({ key: `key${i}`, value: `${i}` })) }], logTags: [] }],
      ['many keys, one repeated', { logs: [{ time: 1, contents: Array.from({ length: 100 }, (_, i) => ({ key: `key${i % 99}`, value: `${i}` })) }], logTags: [] }],
      ['machineUUID', { logs: [{ time: 1, contents: [] }], logTags: [], machineUUID: 'm' }],
      ['empty source', { logs: [{ time: 1, contents: [] }], logTags: [], source: '', topic: '' }],
    ];
    for (const [what, g] of cases) assertSame([makeRecord(1, g)], what);
    // Project and logstore come from the record's metadata, escaped as any string.
    assertSame([makeRecord(1, sampleGroup('a', 3), { project: 'p "1"\n', logstore: 'ü\\' })], 'metadata');
    // A batch: records of different shapes, one of which takes the slow way.
    assertSame(
      [
        makeRecord(1, sampleGroup('a', 3)),
        makeRecord(2, { logs: [], logTags: [] }),
        makeRecord(3, cases[0]![1]),
        makeRecord(4, sampleGroup('b', 2), { project: 'p2' }),
      ],
      'mixed batch',
    );
    assertSame([makeRecord(1, { logs: [], logTags: [] }), makeRecord(2, sampleGroup('a', 2))], 'an empty record first');
  });

  it('read invalid UTF-8 as the decoder does (U+FFFD), in values, keys and group strings', () => {
    const bad: number[][] = [
      [0xff],
      [0x61, 0x80, 0x62],
      [0xc0, 0x80], // overlong NUL
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // a surrogate
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
      [0xf0, 0x9f, 0x98], // truncated emoji
      [0xe2, 0x82], // truncated
      [0x22, 0xc3, 0x28, 0x5c], // quote, bad pair, backslash
      [0xc3, 0xa9, 0x0a, 0xf0, 0x9f, 0x98, 0x80], // valid: é, newline, 😀
    ];
    for (const b of bad) {
      const what = `bytes ${Buffer.from(b).toString('hex')}`;
      assertSame([recordOf(group(log(varintField(1, 7), content('k', b)), bytesField(6, pair('t', b))))], `${what} as values`);
      assertSame([recordOf(group(log(varintField(1, 7), content(b, 'v'), content('k', 'v'))))], `${what} as a key`);
      assertSame([recordOf(group(log(varintField(1, 7)), bytesField(6, pair(b, 'v'))))], `${what} as a tag key`);
      assertSame([recordOf(group(log(varintField(1, 7)), bytesField(2, b), bytesField(3, b), bytesField(4, b), bytesField(5, b)))], `${what} as group strings`);
    }
  });

  it('read the wire format as the decoder does: field order, repeats, unknown fields, and what it refuses', () => {
    const t = varintField(1, 1_700_000_000);
    const cases: Array<[string, Buffer]> = [
      ['plain', group(log(t, content('a', '1'), fixed32Field(4, 9)), bytesField(6, pair('t', 'v')), bytesField(4, 'src'))],
      ['tags and strings before the logs', group(bytesField(3, 'topic'), bytesField(6, pair('t', 'v')), log(t, content('a', '1')), log(t))],
      ['Time_ns first, Time last', group(log(fixed32Field(4, 5), content('a', '1'), t))],
      ['Time twice, Time_ns twice: the last', group(log(t, varintField(1, 3), fixed32Field(4, 5), fixed32Field(4, 6)))],
      ['strings twice: the last', group(log(t), bytesField(4, 'first'), bytesField(4, 'second'), bytesField(2, 'c'), bytesField(2, ''))],
      ['Key and Value twice: the last', group(log(t, bytesField(2, [...pair('a', '1'), ...pair('b', '2')])))],
      ['Value before Key', group(log(t, bytesField(2, [...bytesField(2, 'v'), ...bytesField(1, 'k')])))],
      ['unknown fields everywhere', group(varintField(9, 1), log(t, varintField(7, 300), bytesField(8, 'x'), fixed32Field(9, 1), [...tag(10, 1), 1, 2, 3, 4, 5, 6, 7, 8], bytesField(2, [...pair('a', '1'), ...varintField(3, 1)])), bytesField(100, 'zz'), bytesField(6, [...pair('t', 'v'), ...bytesField(3, 'x')]))],
      ['a non-minimal varint', group(log([0x08, 0x81, 0x80, 0x80, 0x80, 0x00]))],
      ['a 10-byte varint for Time', group(log([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))],
      ['Time with a high 5th byte', group(log([0x08, 0xff, 0xff, 0xff, 0xff, 0x7f]))],
      ['Time of a wrong wire type', group(log(fixed32Field(1, 5)))],
      ['Contents of a wrong wire type', group(log(t, varintField(2, 1)))],
      ['Time_ns of a wrong wire type', group(log(t, varintField(4, 1)))],
      ['Logs of a wrong wire type', group(varintField(1, 1), log(t))],
      ['Source of a wrong wire type', group(log(t), varintField(4, 1))],
      ['a tag of a wrong wire type', group(log(t), varintField(6, 1))],
      ['Key of a wrong wire type', group(log(t, bytesField(2, [...varintField(1, 1), ...bytesField(2, 'v')])))],
      ['missing Time', group(log(content('a', '1')))],
      ['missing Key', group(log(t, bytesField(2, bytesField(2, 'v'))))],
      ['missing Value', group(log(t, bytesField(2, bytesField(1, 'k'))))],
      ['a tag missing its Value, no logs', group(bytesField(6, bytesField(1, 'k')))],
      ['a group (wire type 3)', group(log(t, [...tag(9, 3), ...varintField(1, 1), ...tag(9, 4)]))],
      ['field number 0', group(log(t), [0x02, 0x00])],
      ['truncated', group(log(t, content('a', '12345'))).subarray(0, 12)],
      ['a length past the end', group([0x0a, 0x7f, 0x08, 0x01])],
      ['garbage', Buffer.from([0xff, 0xff, 0xff])],
      ['empty', Buffer.alloc(0)],
    ];
    for (const [what, payload] of cases) assertSame([recordOf(payload)], what);
    // The refused ones are refused as the decoder refuses them.
    const refused = outcome(() => encodeJsonBody([recordOf(group(log(content('a', '1'))))], 'json'));
    assert.equal(refused, ErrorCodes.INVALID_LOG_GROUP);
  });

  it('matches the reference on random groups', () => {
    const str = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
      fc.constantFrom('', '0', '1', '42', 'k', '"', '\\', '\n', '__proto__', '\ud800', 'é'),
      // Longer strings, where plain runs go four bytes at a time and the character that needs
      // care falls at every place in a word.
      fc
        .array(fc.oneof(fc.constantFrom('abcd', 'xyz', 'q', '"', '\\', '\t', '\u0001', 'é', '✓', '😀', '\u007f'), fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 24 })
        .map((parts) => parts.join('')),
    );
    const pairArb = fc.record({ key: str, value: str });
    const groupArb = fc.record(
      {
        logs: fc.array(
          fc.record(
            {
              // Repeated values too: the digits of the last Time / Time_ns are reused.
              time: fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 9, 10, 1_763_000_000, 0xffffffff)),
              contents: fc.array(pairArb, { maxLength: 6 }),
              timeNs: fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 5, 123_000_000, 999_999_999)),
            },
            { requiredKeys: ['time', 'contents'] },
          ),
          { maxLength: 4 },
        ),
        logTags: fc.array(pairArb, { maxLength: 3 }),
        source: str,
        topic: str,
        category: str,
        machineUUID: str,
      },
      { requiredKeys: ['logs', 'logTags'] },
    );
    fc.assert(
      fc.property(fc.array(groupArb, { minLength: 1, maxLength: 3 }), (groups) => {
        assertSame(groups.map((g, i) => recordOf(encodeLogGroup(g), i + 1)));
      }),
      { numRuns: 300 },
    );
  });

  it('pooled bodies: the same bytes; a body given back is reused, once; other buffers are ignored', () => {
    const records = [makeRecord(1, sampleGroup('a', 40)), makeRecord(2, sampleGroup('b', 40))];
    for (const encoding of ['json', 'ndjson'] as const) {
      const want = encodeJsonBody(records, encoding);
      const first = transcodeJsonBodyPooled(records, encoding);
      assert.deepEqual(first, want);
      const second = transcodeJsonBodyPooled(records, encoding);
      assert.notEqual(second.buffer, first.buffer, 'a body still lent is not reused');
      releaseJsonBody(first);
      releaseJsonBody(first); // given back twice: the second is ignored
      releaseJsonBody(Buffer.from(want)); // not from the pool: ignored
      const third = transcodeJsonBodyPooled(records, encoding);
      assert.equal(third.buffer, first.buffer, 'the buffer given back is reused');
      assert.deepEqual(third, want);
      const fourth = transcodeJsonBodyPooled(records, encoding);
      assert.notEqual(fourth.buffer, first.buffer, 'given back twice, lent once');
      for (const b of [second, third, fourth]) releaseJsonBody(b);
    }
  });

  it('pooled bodies: a pooled buffer is the size of the largest body and an eighth, not the next power of two', () => {
    // ≈ 1.1 MiB of body: doubling from 64 KiB made a 2 MiB buffer of it.
    const records = [makeRecord(1, sampleGroup('big', 6000))];
    const body = transcodeJsonBodyPooled(records, 'ndjson');
    assert.ok(body.length > 1024 * 1024 && body.length < 1.5 * 1024 * 1024, `body of ${body.length} bytes`);
    releaseJsonBody(body);
    const again = transcodeJsonBodyPooled(records, 'ndjson');
    assert.equal(again.buffer.byteLength, body.buffer.byteLength, 'the pooled buffer fits the next body');
    releaseJsonBody(again);
    const most = body.length * 1.125 + 64 * 1024;
    assert.ok(body.buffer.byteLength <= most, `a buffer of ${body.buffer.byteLength} bytes for a body of ${body.length} (at most ${most})`);
    assert.ok(pooledJsonBodySizes().includes(body.buffer.byteLength), 'given back to the pool');
    // A new pooled buffer (none free) starts at that size too.
    const lent = pooledJsonBodySizes().map(() => transcodeJsonBodyPooled(records, 'ndjson'));
    const fresh = transcodeJsonBodyPooled(records, 'ndjson');
    assert.ok(fresh.buffer.byteLength >= fresh.length && fresh.buffer.byteLength <= most, `a new pooled buffer of ${fresh.buffer.byteLength} bytes`);
    for (const b of [...lent, fresh]) releaseJsonBody(b);
  });
});
