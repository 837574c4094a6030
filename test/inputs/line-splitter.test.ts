/**
 * The line splitter (I2, I6): lines, multiline records, cuts at maxLineBytes, and the safe
 * offset a file input checkpoints.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
});
