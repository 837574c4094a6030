import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, parseDuration, parseSize } from '../../src/config/index.ts';

describe('units (config C2: sizes and durations accept units)', () => {
  it('parses binary and decimal sizes, and passes numbers through', () => {
    assert.equal(parseSize('1GiB'), 1024 ** 3);
    assert.equal(parseSize('500MB'), 500_000_000);
    assert.equal(parseSize('64 KiB'), 65_536);
    assert.equal(parseSize('1.5MiB'), 1_572_864);
    assert.equal(parseSize('2k'), 2048);
    assert.equal(parseSize('100'), 100);
    assert.equal(parseSize('7b'), 7);
    assert.equal(parseSize(4096), 4096);
  });

  it('refuses sizes it cannot read instead of guessing', () => {
    for (const bad of ['1GB!', 'GiB', '', '-1MB', '1 parsec', '1e3', null, true, {}, -5, Number.NaN]) {
      assert.equal(parseSize(bad), undefined, `${JSON.stringify(bad)} must not parse`);
    }
  });

  it('parses durations with units and compounds, numbers are milliseconds', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('1000'), 1000);
    assert.equal(parseDuration(42), 42);
  });

  it('refuses durations it cannot read', () => {
    for (const bad of ['30 sec', 's', '', '5 parsecs', '1h-2m', '-3s', false, [], -1]) {
      assert.equal(parseDuration(bad), undefined, `${JSON.stringify(bad)} must not parse`);
    }
  });

  it('formats bytes and durations for humans', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1024 ** 3), '1 GiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(93_000), '1m33s');
    assert.equal(formatDuration(3_600_000), '1h');
  });
});
