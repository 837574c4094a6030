import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigProblem, substituteEnv } from '../../src/config/index.ts';

describe('${ENV} references (config C3)', () => {
  it('replaces references in every string, deep in arrays and objects, and leaves other values alone', () => {
    const problems: ConfigProblem[] = [];
    const out = substituteEnv(
      { a: 'Bearer ${TOKEN}', b: ['${HOST}:${PORT}', 7, true, null], c: { d: 'no refs', e: '$${LITERAL}' } },
      { TOKEN: 's3cret', HOST: 'h', PORT: '80' },
      problems,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(out, { a: 'Bearer s3cret', b: ['h:80', 7, true, null], c: { d: 'no refs', e: '${LITERAL}' } });
  });

  it('an unset variable is a problem naming the JSON path and the variable, never a value', () => {
    const problems: ConfigProblem[] = [];
    substituteEnv({ flushers: [{ Headers: { authorization: 'Bearer ${MISSING_TOKEN}' } }] }, {}, problems);
    assert.deepEqual(problems, [
      {
        path: 'flushers[0].Headers.authorization',
        expected: 'the environment variable MISSING_TOKEN to be set',
        got: '${MISSING_TOKEN} unset',
      },
    ]);
  });

  it('a malformed reference is a problem too', () => {
    const problems: ConfigProblem[] = [];
    substituteEnv({ x: 'a ${not valid} b' }, {}, problems);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.path, 'x');
  });
});
