/**
 * The process that test/wal/crash.test.ts kills with SIGKILL, again and again, on one WAL.
 *
 *   node --import tsx test/wal/crash-child.ts <dir> [run] [seed]
 *
 * Opens the WAL in <dir> with `sync: 'always'`, then runs 8 appenders appending continuously
 * (1–3 records per append, 100 B–20 KiB each, content from test/helpers/payload.ts) and one
 * reader that acknowledges what it reads out of order (shuffled, in small groups, some after a
 * random delay). It never stops by itself: the test kills it.
 *
 * stdout protocol, one line per event, written synchronously (stdout is a pipe, and pipes are
 * synchronous in Node on Linux, so a line printed is a line the parent gets even if we die
 * right after):
 *
 *   R <walId>                          the WAL is open
 *   A <firstSeq> <lastSeq> <id> ...    an append resolved (one id per record, in seq order)
 *   k <seq> ...                        an ack is about to be issued
 *   K <seq> ...                        that ack resolved (printed only after it did)
 *   O <prevSeq> <seq>                  the reader got records out of order (a failure)
 *   X <seq> <problem>                  the reader got a record whose content is wrong (a failure)
 */
import { WriteAheadLog, type WalRecord } from '../../src/wal/index.ts';
import { checkPayload, idString, makePayload } from '../helpers/payload.ts';
import { mulberry32, randomInt } from '../helpers/prng.ts';

const APPENDERS = 8;
const MIN_BYTES = 100;
const MAX_BYTES = 20 * 1024;

const [dir, runArg = '0', seedArg = '1'] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write('usage: crash-child.ts <dir> [run] [seed]\n');
  process.exit(64);
}
const run = Number(runArg);
const rand = mulberry32(Number(seedArg));

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function die(what: string, err: unknown): never {
  process.stderr.write(`crash-child: ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
}

/** Sizes spread log-uniformly over 100 B–20 KiB, so small and large records both show up. */
function payloadSize(): number {
  return Math.round(MIN_BYTES * (MAX_BYTES / MIN_BYTES) ** rand());
}

const wal = await WriteAheadLog.open({
  dir,
  sync: 'always',
  // Small enough that memtable flushes and compactions of the acknowledged range happen while
  // the test is killing us.
  compactAfterBytes: 2 * 1024 * 1024,
  leveldb: { writeBufferSize: 1024 * 1024 },
}).catch((err: unknown) => die('open', err));
out(`R ${wal.walId}`);

async function appender(a: number): Promise<never> {
  for (let counter = 0; ; ) {
    const count = randomInt(rand, 1, 3);
    const ids: string[] = [];
    const entries = [];
    for (let i = 0; i < count; i++, counter++) {
      const id = { run, appender: a, counter };
      ids.push(idString(id));
      entries.push({ payload: makePayload(id, payloadSize()), project: 'crash', logstore: `appender-${a}` });
    }
    const r = await wal.append(entries);
    out(`A ${r.firstSeq} ${r.lastSeq} ${ids.join(' ')}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function ackGroup(group: WalRecord[], delayMs: number): Promise<void> {
  if (delayMs > 0) await sleep(delayMs);
  const seqs = group.map((r) => r.seq).join(' ');
  out(`k ${seqs}`);
  await wal.ack(group);
  // Printed only once the ack resolved: the parent treats these as gone for good (W3).
  out(`K ${seqs}`);
}

async function reader(): Promise<never> {
  let prev = 0;
  const acks = new Set<Promise<void>>();
  for (;;) {
    const batch = await wal.nextBatch(32, 4 * 1024 * 1024);
    for (const r of batch) {
      if (r.seq <= prev) out(`O ${prev} ${r.seq}`);
      prev = r.seq;
      const check = checkPayload(r.payload);
      if (!check.ok) out(`X ${r.seq} ${check.problem}`);
    }
    // Acknowledge out of order: shuffle, cut into groups of 1–4, delay some of them.
    const shuffled = [...batch];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = randomInt(rand, 0, i);
      [shuffled[i], shuffled[j]] = [shuffled[j] as WalRecord, shuffled[i] as WalRecord];
    }
    while (shuffled.length > 0) {
      const group = shuffled.splice(0, randomInt(rand, 1, 4));
      const delay = rand() < 0.4 ? randomInt(rand, 1, 40) : 0;
      const p = ackGroup(group, delay).catch((err: unknown) => die('ack', err));
      acks.add(p);
      void p.finally(() => acks.delete(p));
    }
    // Bound the acks in flight so that a slow disk cannot pile up unbounded work.
    while (acks.size > 256) await Promise.race(acks);
  }
}

await Promise.all([
  ...Array.from({ length: APPENDERS }, (_, a) => appender(a).catch((err: unknown) => die(`appender ${a}`, err))),
  reader().catch((err: unknown) => die('reader', err)),
]);
