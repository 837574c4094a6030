// Property tests of the LogGroup model (invariants M1–M4 in src/model/index.ts).
//
// fast-check prints the seed and the shrunk counterexample when a property fails; rerun one
// with `FC_SEED=<seed> node --import tsx --test property-tests/model-roundtrip.test.ts`.
// WALSHIP_SOAK=1 (`npm run soak`) runs many more cases.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import fc from 'fast-check';
import protobuf from 'protobufjs';

import { ErrorCodes, WalshipError } from '../src/errors.ts';
import type { Log, LogGroup } from '../src/model/index.ts';
import {
  decodeLogGroup,
  decodeLogGroupList,
  encodeLogGroup,
  encodeLogGroupList,
  validateLogGroup,
} from '../src/model/index.ts';

const NUM_RUNS = process.env.WALSHIP_SOAK === '1' ? 20_000 : 300;
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const params = { numRuns: NUM_RUNS, ...(seed === undefined ? {} : { seed }) };

const UINT32_MAX = 0xffff_ffff;

// Well-formed Unicode only (a lone surrogate cannot survive UTF-8; see the unit tests):
// grapheme clusters (emoji sequences, combining marks), any code point, and plain ASCII.
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.string({ maxLength: 16 }),
);
const uint32 = fc.integer({ min: 0, max: UINT32_MAX });
const keyValue = fc.record({ key: text, value: text }, { noNullPrototype: true });

// The canonical shape: plain objects, absent optionals omitted, logTags always an array.
const log: fc.Arbitrary<Log> = fc.record(
  { time: uint32, contents: fc.array(keyValue, { maxLength: 8 }), timeNs: uint32 },
  { requiredKeys: ['time', 'contents'], noNullPrototype: true },
);
const logGroup: fc.Arbitrary<LogGroup> = fc.record(
  {
    logs: fc.array(log, { maxLength: 12 }),
    category: text,
    topic: text,
    source: text,
    machineUUID: text,
    logTags: fc.array(keyValue, { maxLength: 4 }),
  },
  { requiredKeys: ['logs', 'logTags'], noNullPrototype: true },
);

// The same groups in a looser shape: an optional field may also be present with the value
// `undefined`, and objects may have a null prototype (fast-check's default for records).
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const looseLogGroup = fc.record(
  {
    logs: fc.array(
      fc.record(
        {
          time: uint32,
          contents: fc.array(fc.record({ key: text, value: text }), { maxLength: 4 }),
          timeNs: maybe(uint32),
        },
        { requiredKeys: ['time', 'contents'] },
      ),
      { maxLength: 6 },
    ),
    category: maybe(text),
    topic: maybe(text),
    source: maybe(text),
    machineUUID: maybe(text),
    logTags: fc.array(fc.record({ key: text, value: text }), { maxLength: 3 }),
  },
  { requiredKeys: ['logs', 'logTags'] },
);

/**
 * The canonical form of a group: plain objects, properties whose value is `undefined`
 * dropped. A JSON round trip does exactly that for a valid group (strings and uint32s only).
 */
function canonical(lg: LogGroup): LogGroup {
  return JSON.parse(JSON.stringify(lg)) as LogGroup;
}

// An independent schema parsed from the reference .proto file.
const referenceRoot = protobuf.parse(
  readFileSync(new URL('../src/model/sls_logs.proto', import.meta.url), 'utf8'),
  new protobuf.Root(),
  { keepCase: true },
).root;
const ReferenceLogGroup = referenceRoot.lookupType('sls_logs.LogGroup');

function toReferenceObject(lg: LogGroup): Record<string, unknown> {
  const kv = (c: { key: string; value: string }) => ({ Key: c.key, Value: c.value });
  return {
    Logs: lg.logs.map((l) => ({
      Time: l.time,
      Contents: l.contents.map(kv),
      ...(l.timeNs === undefined ? {} : { Time_ns: l.timeNs }),
    })),
    ...(lg.category === undefined ? {} : { Category: lg.category }),
    ...(lg.topic === undefined ? {} : { Topic: lg.topic }),
    ...(lg.source === undefined ? {} : { Source: lg.source }),
    ...(lg.machineUUID === undefined ? {} : { MachineUUID: lg.machineUUID }),
    LogTags: lg.logTags.map(kv),
  };
}

function isInvalidLogGroup(err: unknown): err is WalshipError {
  return err instanceof WalshipError && err.code === ErrorCodes.INVALID_LOG_GROUP;
}

describe('LogGroup model properties', () => {
  it('any valid LogGroup survives encode then decode unchanged (M2)', () => {
    fc.assert(
      fc.property(logGroup, (lg) => {
        assert.deepStrictEqual(decodeLogGroup(encodeLogGroup(lg)), lg);
      }),
      params,
    );
  });

  it('a group with undefined optionals or null-prototype objects decodes to its canonical form (M2)', () => {
    fc.assert(
      fc.property(looseLogGroup, (lg) => {
        assert.deepStrictEqual(decodeLogGroup(encodeLogGroup(lg)), canonical(lg));
      }),
      params,
    );
  });

  it('any list of valid LogGroups survives encode then decode unchanged (M2)', () => {
    fc.assert(
      fc.property(fc.array(logGroup, { maxLength: 4 }), (lgs) => {
        assert.deepStrictEqual(decodeLogGroupList(encodeLogGroupList(lgs)), lgs);
      }),
      { ...params, numRuns: Math.max(200, Math.floor(NUM_RUNS / 2)) },
    );
  });

  it('encodes every valid LogGroup to the same bytes as a schema parsed from sls_logs.proto, and reads its bytes back (M1)', () => {
    fc.assert(
      fc.property(logGroup, (lg) => {
        const reference = ReferenceLogGroup.encode(ReferenceLogGroup.fromObject(toReferenceObject(lg))).finish();
        const ours = encodeLogGroup(lg);
        assert.equal(Buffer.from(ours).toString('hex'), Buffer.from(reference).toString('hex'));
        assert.deepStrictEqual(decodeLogGroup(reference), lg);
      }),
      params,
    );
  });

  it('names exactly the time that is wrong when one log of a valid group has a bad time (M4)', () => {
    const badTime = fc.oneof(
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
      fc.integer({ min: UINT32_MAX + 1, max: Number.MAX_SAFE_INTEGER }),
      fc.double({ noInteger: true }),
      fc.constantFrom(null, undefined, '1', 1n, Number.NaN),
    );
    fc.assert(
      fc.property(
        logGroup.filter((lg) => lg.logs.length > 0),
        fc.nat(),
        badTime,
        (lg, pick, time) => {
          const index = pick % lg.logs.length;
          const logs = lg.logs.map((l, i) => (i === index ? { ...l, time } : l));
          const bad = { ...lg, logs } as unknown as LogGroup;
          assert.throws(
            () => encodeLogGroup(bad),
            (err: unknown) =>
              isInvalidLogGroup(err) &&
              err.details.field === `logs[${index}].time` &&
              err.message.startsWith(`logs[${index}].time: expected a uint32 (0..4294967295), got `),
          );
        },
      ),
      params,
    );
  });

  it('validates any value without throwing anything but WALSHIP_INVALID_LOG_GROUP (M4)', () => {
    const almostGroup = fc.oneof(
      fc.anything(),
      fc.record({ logs: fc.array(fc.anything(), { maxLength: 3 }), logTags: fc.anything() }),
      fc.record({
        logs: fc.array(fc.record({ time: fc.anything(), contents: fc.array(fc.anything(), { maxLength: 3 }) }), { maxLength: 3 }),
        logTags: fc.array(fc.anything(), { maxLength: 2 }),
      }),
    );
    fc.assert(
      fc.property(almostGroup, (value) => {
        try {
          validateLogGroup(value);
        } catch (err) {
          assert.ok(isInvalidLogGroup(err), `unexpected ${String(err)}`);
          assert.equal(typeof err.details.field, 'string');
          assert.ok(err.message.startsWith(`${String(err.details.field)}: expected `), err.message);
        }
      }),
      params,
    );
  });

  it('decodes any bytes to a valid group or rejects them with WALSHIP_INVALID_LOG_GROUP (M4)', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // Valid encodings with one byte changed or the tail cut off.
      fc
        .tuple(logGroup, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
        .map(([lg, at, byte, truncate]) => {
          const encoded = Buffer.from(encodeLogGroup(lg));
          if (encoded.length === 0) return encoded;
          const i = at % encoded.length;
          if (truncate) return encoded.subarray(0, i);
          encoded[i] = byte;
          return encoded;
        }),
    );
    fc.assert(
      fc.property(bytes, (input) => {
        let decoded: LogGroup;
        try {
          decoded = decodeLogGroup(input);
        } catch (err) {
          assert.ok(isInvalidLogGroup(err), `unexpected ${String(err)}`);
          assert.ok(err.cause !== undefined);
          return;
        }
        validateLogGroup(decoded, { maxBytes: Number.POSITIVE_INFINITY });
      }),
      params,
    );
  });
});
