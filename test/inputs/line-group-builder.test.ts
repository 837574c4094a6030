/**
 * LineGroupBuilder, input_file's packing straight into protobuf bytes: every group it makes is
 * byte for byte `encodeLogGroup` of the LogGroup GroupBuilder makes from the same lines (same
 * group boundaries by logs and by estimated bytes, same tags and `__pack_id__` sequence per
 * stream, across rounds), so switching the hot path to it changes nothing a sink or a reader
 * can see.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveAggregatorOptions } from '../../src/aggregators/default-aggregator.ts';
import { GroupBuilder, lineLog } from '../../src/inputs/group-builder.ts';
import { LineGroupBuilder } from '../../src/inputs/line-group-builder.ts';
import { encodeLogGroup, type LogTag } from '../../src/model/index.ts';

const ctx = { configName: 'cfg', project: 'p', logstore: 's' };

function lines(n: number, seed: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = (i * 37 + seed) % 300;
    let s = `line ${i} `;
    if (i % 7 === 0) s += 'héllo wörld ✓ 😀 ';
    if (i % 11 === 0) s += '"quoted" \\ tab\t';
    out.push(s + 'x'.repeat(len));
  }
  return out;
}

describe('LineGroupBuilder', () => {
  for (const limits of [{}, { maxLogsPerGroup: 7 }, { maxBytesPerGroup: 2000, topic: 'access' }, { packId: false, maxLogsPerGroup: 3 }]) {
    it(`writes the bytes encodeLogGroup writes for GroupBuilder's groups (${JSON.stringify(limits)})`, () => {
      const options = resolveAggregatorOptions({ ...limits, hostname: 'h' });
      // The pack-id prefix holds the builder's start time: both are made in the same millisecond.
      let old: GroupBuilder;
      let neu: LineGroupBuilder;
      let t: number;
      do {
        t = Date.now();
        old = new GroupBuilder(options, ctx.configName);
        neu = new LineGroupBuilder(options, ctx);
      } while (Date.now() !== t);
      const tagsA: LogTag[] = [{ key: '__path__', value: '/var/log/a.log' }];
      const tagsB: LogTag[] = [{ key: '__path__', value: '/var/log/b.log' }];
      for (let round = 0; round < 3; round++) {
        const now = 1_763_000_000_123 + round * 1000 + (round === 1 ? -123 : 0); // one round without milliseconds
        for (const [i, text] of lines(40, round).entries()) {
          const [source, tags] = i % 3 === 0 ? ['b', tagsB] : ['a', tagsA];
          old.add(lineLog('content', text, now), source, tags);
          // Half the lines as bytes (input_file's path), half as text: the same logs either way.
        if (i % 2 === 0) neu.addLine('content', text, now, source, tags);
        else {
          const framed = Buffer.from(`>>${text}<<`, 'utf8');
          neu.addUtf8Line('content', framed, 2, framed.length - 2, now, source, tags);
        }
        }
        const want = old.build().map((g) => Buffer.from(encodeLogGroup(g)));
        const got = neu.build();
        // Same groups per stream, in order (the order across streams may differ).
        const key = (b: Buffer) => b.toString('hex');
        assert.deepEqual(got.map((g) => key(g.payload)).sort(), want.map(key).sort());
        for (const g of got) {
          assert.equal(g.logs, g.logGroup.logs.length);
          assert.equal(g.project, 'p');
        }
      }
    });
  }

  it('forgetting a stream keeps its unfinished group: it goes out with the next build', () => {
    const b = new LineGroupBuilder(resolveAggregatorOptions({ hostname: 'h' }), ctx);
    b.addLine('content', 'a1', 1_000, 'a');
    b.addLine('content', 'b1', 1_000, 'b');
    b.addLine('content', 'a2', 1_000, 'a');
    b.forget('a'); // the file was renamed (or closed) with these lines read, not yet appended
    b.forget('never-seen');
    const groups = b.build();
    const values = groups.map((g) => g.logGroup.logs.map((l) => l.contents[0]!.value));
    assert.deepEqual(values, [['a1', 'a2'], ['b1']]);
    b.addLine('content', 'a3', 2_000, 'a');
    assert.deepEqual(b.build().map((g) => g.logGroup.logs.map((l) => l.contents[0]!.value)), [['a3']], 'a forgotten stream starts anew');
  });
});
