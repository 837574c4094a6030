/**
 * The line splitter (I2, I6): lines, multiline records, cuts at maxLineBytes, and the safe
 * offset a file input checkpoints.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LineSplitter } from '../../src/inputs/index.ts';

function feed(s: LineSplitter, ...chunks: string[]): void {
  for (const c of chunks) s.push(Buffer.from(c));
}

describe('LineSplitter', () => {
  it('splits lines across chunk boundaries, drops \\r and skips empty lines', () => {
    const s = new LineSplitter({ maxLineBytes: 100 });
    feed(s, 'alpha\r\nbe', 'ta\n\n', 'gam');
    const { records, safeOffset } = s.take();
    assert.deepEqual(records.map((r) => r.text), ['alpha', 'beta']);
    assert.deepEqual(records.map((r) => r.endOffset), [7, 12]);
    // The empty line was skipped, so the safe offset is past it; "gam" is not complete.
    assert.equal(safeOffset, 13);
    assert.equal(s.offset, 16);
    feed(s, 'ma\n');
    assert.deepEqual(s.take(), { records: [{ text: 'gamma', endOffset: 19, cut: false }], safeOffset: 19 });
  });

  it('I6: cuts a line longer than maxLineBytes, counts it, and keeps reading after its newline', () => {
    const s = new LineSplitter({ maxLineBytes: 8 });
    feed(s, 'short\n', '0123456789', 'abcdef', 'ghij\nnext\n');
    const { records, safeOffset } = s.take();
    assert.deepEqual(
      records.map((r) => [r.text, r.cut]),
      [
        ['short', false],
        ['01234567', true],
        ['next', false],
      ],
    );
    assert.equal(safeOffset, 6 + 21 + 5);
    assert.equal(s.stats().cut, 1);
  });

  it('I6: cuts at a UTF-8 character boundary, never inside a character', () => {
    const s = new LineSplitter({ maxLineBytes: 5 });
    // "aé€" = 1 + 2 + 3 bytes: 5 bytes would split the euro sign.
    feed(s, 'aé€b\n');
    const [r] = s.take().records;
    assert.equal(r?.text, 'aé');
    assert.equal(r?.cut, true);
  });

  it('joins multiline records by a first-line pattern, and keeps the record being assembled past the safe offset (I2)', () => {
    const s = new LineSplitter({ maxLineBytes: 1000, startPattern: '\\d{4}-\\d\\d-\\d\\d' });
    const text = 'orphan\n2024-01-01 first\n  at a\n  at b\n2024-01-02 second\n  at c\n';
    feed(s, text);
    const { records, safeOffset } = s.take();
    assert.deepEqual(
      records.map((r) => r.text),
      ['orphan', '2024-01-01 first\n  at a\n  at b'],
    );
    // The second record is not complete yet: a restart must read it again from its first line.
    assert.equal(safeOffset, text.indexOf('2024-01-02'));
    assert.equal(s.stats().unmatchedLines, 1);
    s.flushPending();
    const after = s.take();
    assert.deepEqual(after.records.map((r) => r.text), ['2024-01-02 second\n  at c']);
    assert.equal(after.safeOffset, text.length);
  });

  it('cuts a joined multiline record at maxLineBytes and counts it once', () => {
    const s = new LineSplitter({ maxLineBytes: 20, startPattern: 'START' });
    feed(s, 'START 1\n', 'continuation one\n', 'continuation two\n', 'START 2\n');
    const [r] = s.take().records;
    assert.equal(r?.cut, true);
    assert.ok(Buffer.byteLength(r?.text ?? '') <= 20, `record of ${Buffer.byteLength(r?.text ?? '')} bytes`);
    assert.ok(r?.text.startsWith('START 1\ncontinuatio'));
    assert.equal(s.stats().cut, 1);
  });

  it('ships the last line without its newline at the end of the input', () => {
    const s = new LineSplitter({ maxLineBytes: 100 });
    feed(s, 'one\ntwo');
    assert.deepEqual(s.take().records.map((r) => r.text), ['one']);
    s.end();
    assert.deepEqual(s.take(), { records: [{ text: 'two', endOffset: 7, cut: false }], safeOffset: 7 });
  });

  it('at the end of the input, a last line without its newline still continues the pending multiline record', () => {
    const s = new LineSplitter({ maxLineBytes: 100, startPattern: 'START' });
    feed(s, 'START a\n  more\n  tail');
    assert.deepEqual(s.take().records, []);
    s.end();
    assert.deepEqual(s.take(), { records: [{ text: 'START a\n  more\n  tail', endOffset: 21, cut: false }], safeOffset: 21 });
  });

  it('starts from a given offset and reset() forgets everything held', () => {
    const s = new LineSplitter({ maxLineBytes: 100, offset: 50 });
    feed(s, 'x\npartial');
    assert.equal(s.take().safeOffset, 52);
    s.reset(0);
    feed(s, 'y\n');
    assert.deepEqual(s.take(), { records: [{ text: 'y', endOffset: 2, cut: false }], safeOffset: 2 });
  });

  it('with a line sink: the same lines as bytes, valid UTF-8, the same cuts and safe offsets (property)', () => {
    // Bytes that make lines interesting: newlines, \r, multi-byte and broken UTF-8.
    const byte = fc.oneof(
      fc.constantFrom(0x0a, 0x0d, 0x61, 0x22, 0xc3, 0xa9, 0xe2, 0x9c, 0x93, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0x80),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }).chain((a) => fc.array(byte, { maxLength: 400 }).map((b) => Buffer.from([...a.slice(0, 50), ...b]))),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        (input, cuts, maxLineBytes, ended) => {
          const text = new LineSplitter({ maxLineBytes });
          const got: Array<{ text: string; cut: boolean; valid: boolean }> = [];
          const bytes = new LineSplitter({
            maxLineBytes,
            lineSink: (buf, start, end, cut) => {
              const view = buf.subarray(start, end);
              got.push({ text: view.toString('utf8'), cut, valid: Buffer.from(view.toString('utf8'), 'utf8').equals(view) });
            },
          });
          const offsets: Array<[number, number]> = [];
          const want: Array<{ text: string; cut: boolean }> = [];
          const takeText = () => {
            const t = text.take();
            want.push(...t.records);
            return t.safeOffset;
          };
          let at = 0;
          for (let i = 0; at < input.length; i++) {
            const n = cuts[i % cuts.length]!;
            // The sink's splitter gets a reused buffer, overwritten after each push.
            const reused = Buffer.alloc(64, 0x7a);
            input.copy(reused, 0, at, at + n);
            bytes.push(reused.subarray(0, Math.min(n, input.length - at)));
            reused.fill(0x7a);
            text.push(Buffer.from(input.subarray(at, at + n)));
            at += n;
            offsets.push([takeText(), bytes.take().safeOffset]);
          }
          if (ended) {
            text.end();
            bytes.end();
          }
          const safe = takeText();
          const tail = bytes.take();
          assert.deepEqual(tail.records, []);
          assert.equal(tail.safeOffset, safe);
          for (const [a, b] of offsets) assert.equal(b, a);
          assert.deepEqual(
            got.map((g) => [g.text, g.cut]),
            want.map((r) => [r.text, r.cut]),
          );
          assert.ok(got.every((g) => g.valid), 'every line the sink got is valid UTF-8');
          assert.deepEqual(bytes.stats(), text.stats());
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('LineSplitter cuts (found by a code review; each fails on the code before its fix)', () => {
  // "abcé" = 61 62 63 C3 A9; a cap of 4 falls inside é, at the chunk boundary.
  const parts = [Buffer.from([0x61, 0x62, 0x63, 0xc3]), Buffer.from([0xa9, 0x0a])];

  it('a line cut at maxLineBytes where a chunk ends inside a character ends at the character before (string mode)', () => {
    const s = new LineSplitter({ maxLineBytes: 4 });
    for (const p of parts) s.push(p);
    assert.deepEqual(
      s.take().records.map((r) => [r.text, r.cut]),
      [['abc', true]],
    );
  });

  it('the same as bytes (sink mode): no U+FFFD, not over the cap', () => {
    const got: Buffer[] = [];
    const s = new LineSplitter({ maxLineBytes: 4, lineSink: (b, start, end) => got.push(Buffer.from(b.subarray(start, end))) });
    for (const p of parts) s.push(p);
    assert.deepEqual(
      got.map((b) => b.toString()),
      ['abc'],
    );
  });

  it('a CRLF line whose text is exactly maxLineBytes is not cut, in one chunk or two, in both modes', () => {
    for (const chunks of [['abcde\r\n'], ['abc', 'de\r\n']]) {
      const s = new LineSplitter({ maxLineBytes: 5 });
      feed(s, ...chunks);
      assert.deepEqual(
        s.take().records.map((r) => [r.text, r.cut]),
        [['abcde', false]],
        JSON.stringify(chunks),
      );
      const cuts: boolean[] = [];
      const b = new LineSplitter({ maxLineBytes: 5, lineSink: (_b, _s, _e, cut) => cuts.push(cut) });
      feed(b, ...chunks);
      assert.deepEqual(cuts, [false], JSON.stringify(chunks));
      assert.equal(b.stats().cut, 0);
    }
  });
});

describe('LineSplitter gives the same lines however the input is chunked (a review of the CR fix)', () => {
  function run(chunks: Buffer[], max: number, sink: boolean): Array<[string, boolean]> {
    const got: Array<[string, boolean]> = [];
    const s = new LineSplitter({
      maxLineBytes: max,
      ...(sink ? { lineSink: (b: Buffer, start: number, end: number, cut: boolean) => got.push([b.toString('utf8', start, end), cut]) } : {}),
    });
    for (const c of chunks) s.push(c);
    s.end();
    if (!sink) got.push(...s.take().records.map((r): [string, boolean] => [r.text, r.cut]));
    return got;
  }

  it('"€\\r\\r\\n" split between the CRs keeps its content CR; "abcde\\r|\\n" at the cap is not cut', () => {
    for (const sink of [false, true]) {
      assert.deepEqual(run([Buffer.from('€\r'), Buffer.from('\r\n')], 8, sink), [['€\r', false]]);
      assert.deepEqual(run([Buffer.from('abcde\r'), Buffer.from('\n')], 5, sink), [['abcde', false]]);
    }
  });

  it('property: every split of a random input (CR, LF, multibyte) gives the lines of the unsplit input', () => {
    const alphabet = ['a', 'b', '\r', '\n', '\r\n', 'é', '€', '😀'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        (pieces, max, sizes, sink) => {
          const input = Buffer.from(pieces.join(''));
          const whole = run([input], max, sink);
          const chunks: Buffer[] = [];
          for (let at = 0, i = 0; at < input.length; i++) {
            const n = sizes[i % sizes.length] as number;
            chunks.push(input.subarray(at, at + n));
            at += n;
          }
          assert.deepEqual(run(chunks, max, sink), whole);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
