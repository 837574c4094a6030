/**
 * Self-describing test payloads: an ASCII header naming the record (run, appender, counter,
 * size) followed by filler bytes generated from that name. A reader can tell which record a
 * payload is and whether every byte of it is intact, without any side table.
 *
 *   wsp1 <run> <appender> <counter> <size>\n<filler ...>
 */

export interface PayloadId {
  readonly run: number;
  readonly appender: number;
  readonly counter: number;
}

const MAGIC = 'wsp1';
/** The smallest size a payload may have (the header must fit). */
export const MIN_PAYLOAD_BYTES = 64;

/** `run.appender.counter`: the identity printed by the crash child and compared by the test. */
export function idString(id: PayloadId): string {
  return `${id.run}.${id.appender}.${id.counter}`;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h || 1;
}

function fill(out: Buffer, from: number, seed: number): void {
  let x = seed >>> 0;
  for (let i = from; i < out.length; i++) {
    // xorshift32: cheap, and every byte depends on the record's identity.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
}

export function makePayload(id: PayloadId, size: number): Buffer {
  const header = Buffer.from(`${MAGIC} ${id.run} ${id.appender} ${id.counter} ${size}\n`, 'ascii');
  if (size < Math.max(MIN_PAYLOAD_BYTES, header.length)) throw new RangeError(`payload size ${size} is too small`);
  const out = Buffer.allocUnsafe(size);
  header.copy(out, 0);
  fill(out, header.length, fnv1a(header.toString('ascii')));
  return out;
}

/** Parses and verifies a payload: its identity, or a description of what is wrong with it. */
export function checkPayload(bytes: Uint8Array): { ok: true; id: PayloadId } | { ok: false; problem: string } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nl = buf.indexOf(0x0a);
  if (nl < 0 || nl > 80) return { ok: false, problem: 'no header line' };
  const parts = buf.toString('ascii', 0, nl).split(' ');
  if (parts.length !== 5 || parts[0] !== MAGIC) return { ok: false, problem: `bad header ${JSON.stringify(buf.toString('ascii', 0, nl))}` };
  const [run, appender, counter, size] = parts.slice(1).map(Number) as [number, number, number, number];
  if (![run, appender, counter, size].every(Number.isSafeInteger)) return { ok: false, problem: 'bad header numbers' };
  const id = { run, appender, counter };
  if (size !== buf.length) return { ok: false, problem: `${idString(id)}: size ${buf.length}, header says ${size}` };
  const expected = makePayload(id, size);
  if (!expected.equals(buf)) {
    let at = 0;
    while (at < buf.length && buf[at] === expected[at]) at++;
    return { ok: false, problem: `${idString(id)}: content differs at byte ${at}` };
  }
  return { ok: true, id };
}
