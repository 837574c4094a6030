// The LogGroup model: encode/decode, the canonical shape, validation messages, the size
// estimate, and interop with an independent protobufjs schema parsed from sls_logs.proto.
// Invariants M1–M5 are stated in src/model/index.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import protobuf from 'protobufjs';

import { DEFAULT_MAX_LOG_GROUP_BYTES, MiB } from '../../src/config/defaults.ts';
import { ErrorCodes, WalshipError } from '../../src/errors.ts';
import type { Log, LogGroup } from '../../src/model/index.ts';
import {
  decodeLogGroup,
  decodeLogGroupList,
  encodeLogGroup,
  encodeLogGroupList,
  estimateLogGroupSize,
  estimateLogSize,
  slsLogsRoot,
  SLS_LOGS_PROTO,
  validateLogGroup,
} from '../../src/model/index.ts';

// An independent schema: the reference .proto file, parsed by protobufjs into its own Root.
const protoText = readFileSync(new URL('../../src/model/sls_logs.proto', import.meta.url), 'utf8');
const referenceRoot = protobuf.parse(protoText, new protobuf.Root(), { keepCase: true }).root;
const ReferenceLogGroup = referenceRoot.lookupType('sls_logs.LogGroup');
const ReferenceLogGroupList = referenceRoot.lookupType('sls_logs.LogGroupList');

function sampleGroup(): LogGroup {
  return {
    logs: [
      {
        time: 1_700_000_000,
        contents: [
          { key: 'level', value: 'info' },
          { key: 'msg', value: 'hello world' },
        ],
        timeNs: 123_456_789,
      },
      { time: 1_700_000_001, contents: [{ key: 'msg', value: 'no nanoseconds' }] },
      { time: 0, contents: [] },
    ],
    category: 'app-logs',
    topic: 'payments',
    source: '10.0.0.7',
    machineUUID: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
    logTags: [
      { key: '__pack_id__', value: '5F3A9C2E1B7D4A60-1' },
      { key: '__hostname__', value: 'web-01' },
    ],
  };
}

/** The sample group with protobuf field names, as the reference schema reads and writes it. */
function sampleWireGroup(): Record<string, unknown> {
  return {
    Logs: [
      {
        Time: 1_700_000_000,
        Contents: [
          { Key: 'level', Value: 'info' },
          { Key: 'msg', Value: 'hello world' },
        ],
        Time_ns: 123_456_789,
      },
      { Time: 1_700_000_001, Contents: [{ Key: 'msg', Value: 'no nanoseconds' }] },
      { Time: 0 },
    ],
    Category: 'app-logs',
    Topic: 'payments',
    Source: '10.0.0.7',
    MachineUUID: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
    LogTags: [
      { Key: '__pack_id__', Value: '5F3A9C2E1B7D4A60-1' },
      { Key: '__hostname__', Value: 'web-01' },
    ],
  };
}

function referenceEncode(wire: Record<string, unknown>): Uint8Array {
  return ReferenceLogGroup.encode(ReferenceLogGroup.fromObject(wire)).finish();
}

function referenceDecode(bytes: Uint8Array): Record<string, unknown> {
  return ReferenceLogGroup.toObject(ReferenceLogGroup.decode(bytes), { arrays: true });
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Asserts that `fn` throws WALSHIP_INVALID_LOG_GROUP with exactly `message` and `field`. */
function assertInvalid(fn: () => unknown, message: string, field: string): WalshipError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof WalshipError, `expected a WalshipError, got ${String(caught)}`);
  assert.equal(caught.code, ErrorCodes.INVALID_LOG_GROUP);
  assert.equal(caught.code, 'WALSHIP_INVALID_LOG_GROUP');
  assert.equal(caught.message, message);
  assert.equal(caught.details.field, field);
  return caught;
}

describe('the sls_logs schema', () => {
  it('builds the same messages, fields, numbers, types and rules in memory as sls_logs.proto declares', () => {
    assert.deepEqual(slsLogsRoot.toJSON(), referenceRoot.toJSON());
  });

  it('encodes a sample group to the same bytes as a schema parsed from sls_logs.proto (M1)', () => {
    const inline = slsLogsRoot.lookupType('sls_logs.LogGroup');
    const wire = sampleWireGroup();
    const fromInline = inline.encode(inline.fromObject(wire)).finish();
    const fromFile = referenceEncode(wire);
    assert.equal(hex(fromInline), hex(fromFile));
    assert.equal(hex(encodeLogGroup(sampleGroup())), hex(fromFile));
  });

  it('keeps the inline proto text identical to the reference file apart from comments', () => {
    const strip = (text: string) =>
      text
        .split('\n')
        .map((line) => line.replace(/\/\/.*$/, '').trim())
        .filter((line) => line !== '')
        .join('\n');
    assert.equal(strip(SLS_LOGS_PROTO), strip(protoText));
  });
});

describe('encodeLogGroup and decodeLogGroup', () => {
  it('round-trip a group that uses every field (M2)', () => {
    const lg = sampleGroup();
    assert.deepStrictEqual(decodeLogGroup(encodeLogGroup(lg)), lg);
  });

  it('write the fields in field-number order, byte for byte as hand-encoded', () => {
    const lg: LogGroup = {
      logs: [{ time: 1, contents: [{ key: 'a', value: 'b' }], timeNs: 2 }],
      topic: 't',
      logTags: [{ key: 'k', value: 'v' }],
    };
    // Log{Time=1, Contents=[{a,b}], Time_ns=2} inside Logs (field 1), Topic (3), LogTags (6).
    const expected = [
      '0a0f', '0801', '1206', '0a0161', '120162', '2502000000',
      '1a0174',
      '3206', '0a016b', '120176',
    ].join('');
    assert.equal(hex(encodeLogGroup(lg)), expected);
  });

  it('encode an empty group to zero bytes and decode it back with an empty logTags array', () => {
    const bytes = encodeLogGroup({ logs: [], logTags: [] });
    assert.equal(bytes.byteLength, 0);
    assert.deepStrictEqual(decodeLogGroup(bytes), { logs: [], logTags: [] });
  });

  it('leave timeNs out of a decoded log that had none, and keep a timeNs of zero', () => {
    const lg: LogGroup = {
      logs: [
        { time: 5, contents: [] },
        { time: 6, contents: [], timeNs: 0 },
      ],
      logTags: [],
    };
    const decoded = decodeLogGroup(encodeLogGroup(lg));
    assert.equal(Object.hasOwn(decoded.logs[0]!, 'timeNs'), false);
    assert.equal(decoded.logs[1]!.timeNs, 0);
    assert.deepStrictEqual(decoded, lg);
  });

  it('omit optional fields that were given as undefined instead of returning them as undefined', () => {
    const lg: LogGroup = {
      logs: [{ time: 1, contents: [], timeNs: undefined }],
      category: undefined,
      topic: undefined,
      source: undefined,
      machineUUID: undefined,
      logTags: [],
    };
    const decoded = decodeLogGroup(encodeLogGroup(lg));
    assert.deepStrictEqual(decoded, { logs: [{ time: 1, contents: [] }], logTags: [] });
    assert.deepEqual(Object.keys(decoded), ['logs', 'logTags']);
  });

  it('keep empty strings in optional fields as present values', () => {
    const lg: LogGroup = {
      logs: [{ time: 1, contents: [{ key: '', value: '' }] }],
      category: '',
      topic: '',
      source: '',
      machineUUID: '',
      logTags: [{ key: '', value: '' }],
    };
    assert.deepStrictEqual(decodeLogGroup(encodeLogGroup(lg)), lg);
  });

  it('round-trip unicode keys and values: accents, CJK, emoji, combining marks, RTL and NUL', () => {
    const values = ['é', '日本語のログ', '😀👩‍👩‍👧‍👦', 'e\u0301', 'مرحبا', 'a\u0000b', '\u{10FFFF}', '\uFEFF'];
    const lg: LogGroup = {
      logs: [{ time: 1, contents: values.map((value, i) => ({ key: `${value}-${i}`, value })) }],
      topic: '主题',
      source: 'источник',
      logTags: [{ key: '🏷️', value: 'ταυτότητα' }],
    };
    const bytes = encodeLogGroup(lg);
    assert.deepStrictEqual(decodeLogGroup(bytes), lg);
    assert.ok(Buffer.from(bytes).includes(Buffer.from('日本語のログ', 'utf8')), 'strings are UTF-8 on the wire');
  });

  it('write a lone surrogate as U+FFFD, so the wire always holds valid UTF-8', () => {
    // Short and long strings: protobufjs writes them through different paths.
    for (const value of ['a\uD83Db', '\uDC00', `${'x'.repeat(50)}\uD800`]) {
      const lg: LogGroup = {
        logs: [{ time: 1, contents: [{ key: value, value }] }],
        topic: value,
        logTags: [{ key: value, value }],
      };
      const bytes = encodeLogGroup(lg);
      assert.equal(Buffer.from(bytes).includes(Buffer.from([0xed])), false, 'no encoded surrogate (0xED ...)');
      const expected = value.replace(/[\uD800-\uDFFF]/g, '\uFFFD');
      const decoded = decodeLogGroup(bytes);
      assert.equal(decoded.logs[0]!.contents[0]!.key, expected);
      assert.equal(decoded.logs[0]!.contents[0]!.value, expected);
      assert.equal(decoded.topic, expected);
      assert.equal(decoded.logTags[0]!.value, expected);
    }
  });

  it('accept the ends of the uint32 range for time and timeNs', () => {
    const lg: LogGroup = {
      logs: [
        { time: 0, contents: [], timeNs: 0 },
        { time: 4_294_967_295, contents: [], timeNs: 4_294_967_295 },
      ],
      logTags: [],
    };
    assert.deepStrictEqual(decodeLogGroup(encodeLogGroup(lg)), lg);
  });

  it('keep repeated keys and the order of contents, logs and tags', () => {
    const lg: LogGroup = {
      logs: [
        { time: 2, contents: [{ key: 'x', value: '1' }, { key: 'x', value: '2' }, { key: 'a', value: '3' }] },
        { time: 1, contents: [{ key: 'x', value: '0' }] },
      ],
      logTags: [{ key: 't', value: '2' }, { key: 't', value: '1' }],
    };
    assert.deepStrictEqual(decodeLogGroup(encodeLogGroup(lg)), lg);
  });

  it('accept deeply frozen groups', () => {
    const lg = deepFreeze(sampleGroup());
    assert.deepStrictEqual(decodeLogGroup(encodeLogGroup(lg)), sampleGroup());
  });

  it('ignore properties the model does not know', () => {
    const lg = {
      logs: [{ time: 1, contents: [{ key: 'k', value: 'v', extra: 1 }], level: 'info' }],
      logTags: [],
      extra: true,
    } as unknown as LogGroup;
    assert.deepStrictEqual(decodeLogGroup(encodeLogGroup(lg)), {
      logs: [{ time: 1, contents: [{ key: 'k', value: 'v' }] }],
      logTags: [],
    });
  });

  it('encode exactly the values that were validated, even when a getter changes its answer (M3)', () => {
    let reads = 0;
    const log = {
      get time() {
        reads++;
        return reads === 1 ? 7 : -1;
      },
      contents: [],
    };
    const decoded = decodeLogGroup(encodeLogGroup({ logs: [log], logTags: [] }));
    assert.equal(reads, 1);
    assert.equal(decoded.logs[0]!.time, 7);
  });

  it('return plain objects, not protobufjs message instances', () => {
    const decoded = decodeLogGroup(encodeLogGroup(sampleGroup()));
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.equal(Object.getPrototypeOf(decoded.logs[0]), Object.prototype);
    assert.equal(Object.getPrototypeOf(decoded.logs[0]!.contents[0]), Object.prototype);
    assert.equal(Object.getPrototypeOf(decoded.logTags[0]), Object.prototype);
  });
});

describe('encodeLogGroupList and decodeLogGroupList', () => {
  it('round-trip several groups, an empty one among them', () => {
    const groups: LogGroup[] = [sampleGroup(), { logs: [], logTags: [] }, { logs: [{ time: 9, contents: [] }], topic: 'x', logTags: [] }];
    assert.deepStrictEqual(decodeLogGroupList(encodeLogGroupList(groups)), groups);
  });

  it('round-trip an empty list', () => {
    assert.deepStrictEqual(decodeLogGroupList(encodeLogGroupList([])), []);
  });

  it('name the group at fault by its index in the list', () => {
    const bad = { logs: [{ time: -1, contents: [] }], logTags: [] } as LogGroup;
    assertInvalid(
      () => encodeLogGroupList([sampleGroup(), bad]),
      'logGroupList[1].logs[0].time: expected a uint32 (0..4294967295), got -1',
      'logGroupList[1].logs[0].time',
    );
    assertInvalid(
      () => encodeLogGroupList([sampleGroup(), null as unknown as LogGroup]),
      'logGroupList[1]: expected a LogGroup object, got null',
      'logGroupList[1]',
    );
    assertInvalid(
      () => encodeLogGroupList({} as unknown as LogGroup[]),
      'logGroupList: expected an array, got object',
      'logGroupList',
    );
  });

  it('apply maxBytes to each group of a list on its own', () => {
    const lg: LogGroup = { logs: [{ time: 1, contents: [{ key: 'k', value: 'v' }] }], logTags: [] }; // 13 bytes
    assert.doesNotThrow(() => encodeLogGroupList([lg, lg, lg], { maxBytes: 13 }));
    assertInvalid(
      () => encodeLogGroupList([lg, lg], { maxBytes: 12 }),
      'logGroupList[0]: expected an estimated size of at most 12 bytes (maxBytes), got 13 bytes',
      'logGroupList[0]',
    );
  });
});

describe('interop with a schema parsed from sls_logs.proto (M1)', () => {
  it('bytes from encodeLogGroup decode with the reference schema to the same fields', () => {
    assert.deepStrictEqual(referenceDecode(encodeLogGroup(sampleGroup())), {
      ...sampleWireGroup(),
      // toObject leaves absent repeated fields as empty arrays.
      Logs: (sampleWireGroup().Logs as Array<Record<string, unknown>>).map((log) => ({ Contents: [], ...log })),
    });
  });

  it('bytes from the reference schema decode with decodeLogGroup', () => {
    assert.deepStrictEqual(decodeLogGroup(referenceEncode(sampleWireGroup())), sampleGroup());
  });

  it('lists from each side decode on the other', () => {
    const wireList = { logGroupList: [sampleWireGroup(), {}] };
    const referenceBytes = ReferenceLogGroupList.encode(ReferenceLogGroupList.fromObject(wireList)).finish();
    assert.deepStrictEqual(decodeLogGroupList(referenceBytes), [sampleGroup(), { logs: [], logTags: [] }]);

    const ours = encodeLogGroupList([sampleGroup(), { logs: [], logTags: [] }]);
    assert.equal(hex(ours), hex(referenceBytes));
  });

  it('decodeLogGroup skips unknown fields and accepts fields out of order, as protobuf requires', () => {
    // Topic (3) before Logs (1); an unknown varint field 15 in the group; an unknown
    // length-delimited field 3 inside the Log; Time_ns before Time.
    const logBody = Buffer.from('2502000000' + '1a0178' + '0801' + '1206' + '0a0161120162', 'hex');
    const group = Buffer.concat([
      Buffer.from('1a0174' + '7801', 'hex'),
      Buffer.from([0x0a, logBody.length]),
      logBody,
    ]);
    assert.deepStrictEqual(decodeLogGroup(group), {
      logs: [{ time: 1, contents: [{ key: 'a', value: 'b' }], timeNs: 2 }],
      topic: 't',
      logTags: [],
    });
  });
});

describe('validateLogGroup', () => {
  const goodLog = (): Log => ({ time: 1, contents: [{ key: 'k', value: 'v' }] });
  const withLog = (log: unknown, index = 0): unknown => ({
    logs: [...Array.from({ length: index }, goodLog), log],
    logTags: [],
  });
  const withContent = (content: unknown, index = 0): unknown =>
    withLog({ time: 1, contents: [...Array.from({ length: index }, () => ({ key: 'k', value: 'v' })), content] });
  const withGroupField = (field: string, value: unknown): unknown => ({ logs: [goodLog()], logTags: [], [field]: value });

  // [what is wrong, input, exact message, details.field]
  const cases: Array<[string, unknown, string, string]> = [
    ['the group is null', null, 'logGroup: expected a LogGroup object, got null', 'logGroup'],
    ['the group is undefined', undefined, 'logGroup: expected a LogGroup object, got undefined', 'logGroup'],
    ['the group is a string', 'logs', 'logGroup: expected a LogGroup object, got string', 'logGroup'],
    ['the group is an array', [], 'logGroup: expected a LogGroup object, got array', 'logGroup'],
    ['logs is missing', { logTags: [] }, 'logs: expected an array, got undefined', 'logs'],
    ['logs is an object', { logs: {}, logTags: [] }, 'logs: expected an array, got object', 'logs'],
    ['a log is null', withLog(null), 'logs[0]: expected a Log object, got null', 'logs[0]'],
    ['a log is a number', withLog(5, 2), 'logs[2]: expected a Log object, got number', 'logs[2]'],
    ['time is negative', withLog({ time: -1, contents: [] }, 3), 'logs[3].time: expected a uint32 (0..4294967295), got -1', 'logs[3].time'],
    ['time is 2^32', withLog({ time: 4_294_967_296, contents: [] }), 'logs[0].time: expected a uint32 (0..4294967295), got 4294967296', 'logs[0].time'],
    ['time is fractional', withLog({ time: 1.5, contents: [] }), 'logs[0].time: expected a uint32 (0..4294967295), got 1.5', 'logs[0].time'],
    ['time is NaN', withLog({ time: Number.NaN, contents: [] }), 'logs[0].time: expected a uint32 (0..4294967295), got NaN', 'logs[0].time'],
    ['time is Infinity', withLog({ time: Number.POSITIVE_INFINITY, contents: [] }), 'logs[0].time: expected a uint32 (0..4294967295), got Infinity', 'logs[0].time'],
    ['time is a numeric string', withLog({ time: '1700000000', contents: [] }), 'logs[0].time: expected a uint32 (0..4294967295), got string "1700000000"', 'logs[0].time'],
    ['time is a bigint', withLog({ time: 10n, contents: [] }), 'logs[0].time: expected a uint32 (0..4294967295), got bigint', 'logs[0].time'],
    ['time is missing', withLog({ contents: [] }), 'logs[0].time: expected a uint32 (0..4294967295), got undefined', 'logs[0].time'],
    ['time is a Date', withLog({ time: new Date(0), contents: [] }), 'logs[0].time: expected a uint32 (0..4294967295), got object', 'logs[0].time'],
    ['contents is missing', withLog({ time: 1 }), 'logs[0].contents: expected an array, got undefined', 'logs[0].contents'],
    ['contents is an object', withLog({ time: 1, contents: { k: 'v' } }), 'logs[0].contents: expected an array, got object', 'logs[0].contents'],
    ['a content is a string', withContent('k=v', 2), 'logs[0].contents[2]: expected a LogContent object, got string', 'logs[0].contents[2]'],
    ['a content is null', withContent(null), 'logs[0].contents[0]: expected a LogContent object, got null', 'logs[0].contents[0]'],
    ['a key is null', withContent({ key: null, value: 'v' }), 'logs[0].contents[0].key: expected a string, got null', 'logs[0].contents[0].key'],
    ['a key is missing', withContent({ value: 'v' }, 1), 'logs[0].contents[1].key: expected a string, got undefined', 'logs[0].contents[1].key'],
    ['a value is a number', withContent({ key: 'k', value: 42 }, 2), 'logs[0].contents[2].value: expected a string, got number', 'logs[0].contents[2].value'],
    ['a value is an object', withContent({ key: 'k', value: { nested: true } }), 'logs[0].contents[0].value: expected a string, got object', 'logs[0].contents[0].value'],
    ['timeNs is negative', withLog({ time: 1, contents: [], timeNs: -1 }), 'logs[0].timeNs: expected a uint32 (0..4294967295) or undefined, got -1', 'logs[0].timeNs'],
    ['timeNs is null', withLog({ time: 1, contents: [], timeNs: null }), 'logs[0].timeNs: expected a uint32 (0..4294967295) or undefined, got null', 'logs[0].timeNs'],
    ['timeNs is a string', withLog({ time: 1, contents: [], timeNs: '5' }, 1), 'logs[1].timeNs: expected a uint32 (0..4294967295) or undefined, got string "5"', 'logs[1].timeNs'],
    ['category is a number', withGroupField('category', 1), 'category: expected a string or undefined, got number', 'category'],
    ['topic is a number', withGroupField('topic', 5), 'topic: expected a string or undefined, got number', 'topic'],
    ['source is null', withGroupField('source', null), 'source: expected a string or undefined, got null', 'source'],
    ['machineUUID is an array', withGroupField('machineUUID', []), 'machineUUID: expected a string or undefined, got array', 'machineUUID'],
    ['logTags is missing', { logs: [] }, 'logTags: expected an array, got undefined', 'logTags'],
    ['logTags is an object', { logs: [], logTags: { k: 'v' } }, 'logTags: expected an array, got object', 'logTags'],
    ['a tag is null', { logs: [], logTags: [null] }, 'logTags[0]: expected a LogTag object, got null', 'logTags[0]'],
    ['a tag key is a number', { logs: [], logTags: [{ key: 'a', value: 'b' }, { key: 1, value: 'b' }] }, 'logTags[1].key: expected a string, got number', 'logTags[1].key'],
    ['a tag value is missing', { logs: [], logTags: [{ key: 'a' }] }, 'logTags[0].value: expected a string, got undefined', 'logTags[0].value'],
  ];

  for (const [what, input, message, field] of cases) {
    it(`rejects a group when ${what}, naming ${field} (M4)`, () => {
      assertInvalid(() => validateLogGroup(input), message, field);
      // Encoding validates first, with the same message.
      assertInvalid(() => encodeLogGroup(input as LogGroup), message, field);
    });
  }

  it('reports the first fault in field order when there are several', () => {
    const input = { logs: [{ time: -1, contents: 'x' }], topic: 1, logTags: null };
    assertInvalid(() => validateLogGroup(input), 'logs[0].time: expected a uint32 (0..4294967295), got -1', 'logs[0].time');
  });

  it('accepts the sample group and narrows an unknown value to a LogGroup', () => {
    const input: unknown = JSON.parse(JSON.stringify(sampleGroup()));
    validateLogGroup(input);
    assert.equal(input.logs.length, 3);
  });

  it('rejects a group whose estimate exceeds maxBytes, with both numbers in the message (M5)', () => {
    const lg: LogGroup = { logs: [{ time: 1, contents: [{ key: 'k', value: 'vv' }] }], logTags: [] }; // 6 + 5 + 1 + 2 = 14
    assert.doesNotThrow(() => validateLogGroup(lg, { maxBytes: 14 }));
    const err = assertInvalid(
      () => validateLogGroup(lg, { maxBytes: 13 }),
      'logGroup: expected an estimated size of at most 13 bytes (maxBytes), got 14 bytes',
      'logGroup',
    );
    assert.deepEqual(err.details, { field: 'logGroup', estimatedBytes: 14, maxBytes: 13 });
    assertInvalid(
      () => encodeLogGroup(lg, { maxBytes: 13 }),
      'logGroup: expected an estimated size of at most 13 bytes (maxBytes), got 14 bytes',
      'logGroup',
    );
  });

  it('caps groups at 3 MiB of estimate by default: exactly 3 MiB passes, one byte more fails', () => {
    assert.equal(DEFAULT_MAX_LOG_GROUP_BYTES, 3 * MiB);
    // 6 (log) + 5 (content) + 1 (key) + value bytes = 3 MiB.
    const value = 'x'.repeat(3 * MiB - 12);
    const atCap: LogGroup = { logs: [{ time: 1, contents: [{ key: 'k', value }] }], logTags: [] };
    assert.equal(estimateLogGroupSize(atCap), 3 * MiB);
    assert.doesNotThrow(() => validateLogGroup(atCap));
    assert.equal(decodeLogGroup(encodeLogGroup(atCap)).logs[0]!.contents[0]!.value.length, value.length);

    const overCap: LogGroup = { ...atCap, topic: '' }; // + 5
    assertInvalid(
      () => encodeLogGroup(overCap),
      `logGroup: expected an estimated size of at most ${3 * MiB} bytes (maxBytes), got ${3 * MiB + 5} bytes`,
      'logGroup',
    );
    assert.doesNotThrow(() => validateLogGroup(overCap, { maxBytes: Number.POSITIVE_INFINITY }));
  });

  it('throws a TypeError for a maxBytes that is not a positive number', () => {
    const lg = sampleGroup();
    for (const maxBytes of [0, -1, Number.NaN, '100', null]) {
      assert.throws(() => validateLogGroup(lg, { maxBytes: maxBytes as number }), TypeError);
      assert.throws(() => encodeLogGroup(lg, { maxBytes: maxBytes as number }), TypeError);
    }
    assert.throws(() => validateLogGroup(lg, 5 as never), /Expected `options` to be an object, got number/);
  });
});

describe('decodeLogGroup on bad bytes', () => {
  it('rejects garbage with WALSHIP_INVALID_LOG_GROUP and the protobuf error as cause (M4)', () => {
    const bytes = Buffer.from('garbage garbage');
    const err = assertInvalid(
      () => decodeLogGroup(bytes),
      'logGroup: expected the bytes of an sls_logs.LogGroup, got 15 bytes that do not decode (invalid wire type 7 at offset 1)',
      'logGroup',
    );
    assert.ok(err.cause instanceof Error);
    assert.equal(err.cause.message, 'invalid wire type 7 at offset 1');
    assert.equal(err.details.byteLength, 15);
  });

  it('rejects a truncated group', () => {
    const bytes = encodeLogGroup(sampleGroup());
    const err = assertInvalid(
      () => decodeLogGroup(bytes.subarray(0, bytes.byteLength - 3)),
      `logGroup: expected the bytes of an sls_logs.LogGroup, got ${bytes.byteLength - 3} bytes that do not decode (index out of range)`,
      'logGroup',
    );
    assert.ok(err.cause instanceof RangeError);
  });

  // Messages that decode on the wire level but lack a required field.
  const missing: Array<[string, string, string]> = [
    ['a log without Time', '0a00', 'Time'],
    ['a content without Value', '0a07' + '0801' + '1203' + '0a0161', 'Value'],
    ['a content without Key', '0a07' + '0801' + '1203' + '120162', 'Key'],
    ['a tag without Key', '3203' + '120176', 'Key'],
    ['a tag without Value', '3203' + '0a016b', 'Value'],
  ];
  for (const [what, hexBytes, field] of missing) {
    it(`rejects ${what}, a required field`, () => {
      const bytes = Buffer.from(hexBytes, 'hex');
      const err = assertInvalid(
        () => decodeLogGroup(bytes),
        `logGroup: expected the bytes of an sls_logs.LogGroup, got ${bytes.length} bytes that do not decode (missing required '${field}')`,
        'logGroup',
      );
      assert.ok(err.cause instanceof Error);
    });
  }

  it('rejects a list that does not decode, naming logGroupList', () => {
    const err = assertInvalid(
      () => decodeLogGroupList(Buffer.from('0a020a00', 'hex')),
      "logGroupList: expected the bytes of an sls_logs.LogGroupList, got 4 bytes that do not decode (missing required 'Time')",
      'logGroupList',
    );
    assert.ok(err.cause instanceof Error);
  });

  it('reads invalid UTF-8 from another encoder as U+FFFD, from a Buffer and a plain Uint8Array alike', () => {
    // Log{Time=1, Contents=[{Key="k", Value=<ED A0 80> (an encoded surrogate) + "b"}]}
    const hexBytes = '0a0d' + '0801' + '1209' + '0a016b' + '1204' + 'eda08062';
    const expected = { logs: [{ time: 1, contents: [{ key: 'k', value: '\uFFFD\uFFFD\uFFFDb' }] }], logTags: [] };
    const buffer = Buffer.from(hexBytes, 'hex');
    assert.deepStrictEqual(decodeLogGroup(buffer), expected);
    assert.deepStrictEqual(decodeLogGroup(new Uint8Array(buffer)), expected);
    // A view into a larger ArrayBuffer decodes only its own bytes.
    const padded = new Uint8Array(buffer.length + 4);
    padded.set(buffer, 2);
    assert.deepStrictEqual(decodeLogGroup(padded.subarray(2, 2 + buffer.length)), expected);
  });

  it('decodes zero bytes as an empty group', () => {
    assert.deepStrictEqual(decodeLogGroup(new Uint8Array(0)), { logs: [], logTags: [] });
  });

  it('throws a TypeError when given something other than bytes', () => {
    assert.throws(() => decodeLogGroup('0a00' as unknown as Uint8Array), /Expected `bytes` to be a Uint8Array, got string/);
    assert.throws(() => decodeLogGroupList(null as unknown as Uint8Array), TypeError);
  });
});

describe('the size estimate', () => {
  it('counts 6 bytes for a log without contents', () => {
    assert.equal(estimateLogSize({ time: 1, contents: [] }), 6);
  });

  it('counts 5 + |key| + |value| for each content', () => {
    // 6 + (5 + 5 + 4) + (5 + 3 + 11) = 39
    assert.equal(
      estimateLogSize({ time: 1, contents: [{ key: 'level', value: 'info' }, { key: 'msg', value: 'hello world' }] }),
      39,
    );
  });

  it('counts UTF-8 bytes, not UTF-16 code units', () => {
    // 'é' = 2 bytes, '日本' = 6, '😀' = 4 (two code units), lone surrogate = 3 (as U+FFFD).
    // 6 + (5 + 2 + 6) + (5 + 4 + 3) = 31
    assert.equal(
      estimateLogSize({ time: 1, contents: [{ key: 'é', value: '日本' }, { key: '😀', value: '\uD800' }] }),
      31,
    );
  });

  it('adds tags at 5 + |key| + |value| and each present optional string at 5 + |value|', () => {
    const lg: LogGroup = {
      logs: [
        { time: 1, contents: [{ key: 'a', value: 'bc' }] }, // 6 + 5 + 1 + 2 = 14
        { time: 2, contents: [] }, // 6
      ],
      category: 'cat', // 5 + 3 = 8
      topic: 'topic', // 5 + 5 = 10
      source: '', // 5
      // machineUUID absent: 0
      logTags: [{ key: '__pack_id__', value: 'AB-1' }], // 5 + 11 + 4 = 20
    };
    assert.equal(estimateLogGroupSize(lg), 14 + 6 + 8 + 10 + 5 + 20);
  });

  it('estimates the sample group at its hand-computed size', () => {
    // logs: (6 + 5+5+4 + 5+3+11) + (6 + 5+3+14) + 6 = 39 + 28 + 6 = 73
    // category 5+8, topic 5+8, source 5+8, machineUUID 5+36 = 13 + 13 + 13 + 41 = 80
    // tags: (5 + 11 + 18) + (5 + 12 + 6) = 34 + 23 = 57
    assert.equal(estimateLogGroupSize(sampleGroup()), 73 + 80 + 57);
  });

  it('is the same number that validation compares with maxBytes', () => {
    const lg = sampleGroup();
    const estimate = estimateLogGroupSize(lg);
    assert.doesNotThrow(() => validateLogGroup(lg, { maxBytes: estimate }));
    const err = assertInvalid(
      () => validateLogGroup(lg, { maxBytes: estimate - 1 }),
      `logGroup: expected an estimated size of at most ${estimate - 1} bytes (maxBytes), got ${estimate} bytes`,
      'logGroup',
    );
    assert.equal(err.details.estimatedBytes, estimate);
  });
});
