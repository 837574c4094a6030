import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';

const EXAMPLES = new URL('../../data/examples/', import.meta.url).pathname;
const env = { WALSHIP_HTTP_TOKEN: 'token', WALSHIP_REDIS_PASSWORD: 'secret' };

describe('data/examples', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));

  it('has one example config per sink', () => {
    const types = new Set(files.flatMap((f) => (JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8')) as { flushers: Array<{ Type: string }> }).flushers.map((fl) => fl.Type)));
    assert.deepEqual([...types].sort(), ['flusher_file', 'flusher_http', 'flusher_nats', 'flusher_redis', 'flusher_stdout']);
  });

  for (const file of files) {
    it(`${file} is a valid config`, () => {
      const config = parseConfig(readFileSync(join(EXAMPLES, file), 'utf8'), { env, source: file });
      assert.ok(config.flushers.length > 0);
    });
  }
});
