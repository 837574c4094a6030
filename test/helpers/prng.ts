/**
 * A small seeded PRNG (mulberry32) for tests that must be replayable from a printed seed.
 */

/** Returns a function giving uniform floats in [0, 1), fully determined by `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max], both included. */
export function randomInt(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

/** The seed to use: `WALSHIP_TEST_SEED` when set (to replay a failure), otherwise a fresh one. */
export function testSeed(): number {
  const fromEnv = process.env.WALSHIP_TEST_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`WALSHIP_TEST_SEED must be a non-negative integer, got ${fromEnv}`);
    return n >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}
