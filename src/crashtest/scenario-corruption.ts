/**
 * Corruption: with the receiver down, the whole input goes into the WAL; `walship run` is
 * stopped cleanly and bytes in the middle of the WAL's largest LevelDB table file are flipped.
 * Then it runs again with the receiver up, as a user would: if it refuses to start or its WAL
 * stops on `WALSHIP_WAL_CORRUPT`, the harness stops it, runs `walship wal repair` and starts
 * it again. The check is not "nothing lost" but "everything not lost to the damage is
 * delivered": every missing line must be inside a quarantined record (named by seq and
 * reason) or within the records the repair could not read back.
 */
import { readdirSync, statSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { checkWal } from './kill-loop.ts';
import { LINE_BYTES, seqsIn } from './seq-input.ts';
import { LOGS_PER_GROUP, Rig } from './rig.ts';
import type { RunChild } from './run-child.ts';
import { describeExit, type ScenarioOptions, type ScenarioReport, ScenarioLog, statusUntil } from './scenario-kit.ts';

/** Bytes XORed with 0xff in the middle of the table file. */
export const CORRUPT_BYTES = 256;
/** The input counts as done when it read nothing for this long (ms). */
const INPUT_IDLE_MS = 1000;
/** Stop / repair / start rounds before giving up. */
const MAX_ROUNDS = 3;

interface Damage {
  readonly file: string;
  readonly fileBytes: number;
  readonly offset: number;
  readonly length: number;
}

function largestTable(walDir: string): { file: string; size: number } | undefined {
  const db = join(walDir, 'db');
  return readdirSync(db)
    .filter((n) => n.endsWith('.ldb'))
    .map((n) => ({ file: join(db, n), size: statSync(join(db, n)).size }))
    .sort((a, b) => b.size - a.size)[0];
}

function flip(file: string, size: number): Damage {
  const offset = Math.floor(size / 2);
  const length = Math.min(CORRUPT_BYTES, size - offset);
  const fd = openSync(file, 'r+');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    for (let i = 0; i < length; i++) buf[i] = (buf[i] as number) ^ 0xff;
    writeSync(fd, buf, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return { file, fileBytes: size, offset, length };
}

/**
 * The quarantined records, read from the store (`quar!` keys, see src/wal/index.ts): seq,
 * reason, and the sequence numbers their bytes still show.
 */
async function quarantined(walDir: string): Promise<Array<{ seq: number; reason: string; lines: number[] }>> {
  const db = new ClassicLevel<Buffer, Buffer>(join(walDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false });
  await db.open();
  const out: Array<{ seq: number; reason: string; lines: number[] }> = [];
  try {
    for await (const [key, value] of db.iterator({ gte: Buffer.from('quar!'), lt: Buffer.from('quar"') })) {
      // u8 version | u64 movedAtMs | u16 len + reason | u16 len + key | original value
      const seq = key.length >= 13 ? Number(key.readBigUInt64BE(5)) : -1;
      const reasonLength = value.length >= 11 ? value.readUInt16BE(9) : 0;
      out.push({ seq, reason: value.toString('utf8', 11, 11 + reasonLength), lines: seqsIn(value) });
    }
  } finally {
    await db.close();
  }
  return out;
}

/** "pending N (was M), … quarantined (K now)" from `walship wal repair`'s output. */
function parseRepair(text: string): { pending: number; before: number | undefined; quarantinedNow: number } | undefined {
  const m = /(\d+) pending(?: \(was (\d+)\))?.*\((\d+) now\)/.exec(text);
  return m === null ? undefined : { pending: Number(m[1]), before: m[2] === undefined ? undefined : Number(m[2]), quarantinedNow: Number(m[3]) };
}

function ranges(seqs: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seqs.length; ) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === (seqs[j] as number) + 1) j++;
    out.push(i === j ? `${seqs[i]}` : `${seqs[i]}–${seqs[j]}`);
    i = j + 1;
  }
  return out.length > 8 ? `${out.slice(0, 8).join(', ')}, … (${out.length} ranges)` : out.join(', ');
}

export async function corruptionScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const log = new ScenarioLog('corruption', o.onProgress);
  const rig = await Rig.create({ dir: o.dir, command: o.command, records: o.records, receiver: { down: true, seed: o.seed } });
  const lives: RunChild[] = [];
  let lost = 0;
  try {
    rig.writeUpTo(o.records);
    const inputBytes = o.records * LINE_BYTES;
    // 1. Everything into the WAL, then a clean stop.
    const filling = rig.launch();
    lives.push(filling);
    const read = await statusUntil(rig, filling, (s) => s.inputs[0]?.bytesRead === inputBytes, o.timeoutMs);
    log.check('the whole input is in the WAL (receiver down)', read.ok, `pending ${read.status?.flushers[0]?.wal?.pendingRecords ?? '?'} records`);
    const stopped = await filling.stop(15_000);
    log.check('walship run stops cleanly', stopped.code === 0, describeExit(filling));
    let table = largestTable(rig.walDir);
    if (table === undefined || table.size < 16 * 1024) {
      // The records may still be in LevelDB's log: a compaction writes them into tables.
      const c = await rig.walship(['wal', 'compact', rig.walRoot]);
      log.note(`wal compact: exit ${c.code} ${c.stdout.trim()}`);
      table = largestTable(rig.walDir);
    }
    if (!log.check('the WAL holds a table file to damage', table !== undefined, table === undefined ? 'no .ldb file' : `${table.file} (${table.size} bytes)`) || table === undefined) {
      return log.report(rig);
    }
    // 2. The damage.
    const damage = flip(table.file, table.size);
    log.details.damage = damage;
    log.note(`flipped ${damage.length} bytes at ${damage.offset} of ${damage.file}`);

    // 3. Run again as a user would: repair when walship says the WAL is corrupt.
    await rig.receiver.up();
    const repairs: Array<{ exit: number | null; output: string; pending?: number; before?: number; quarantinedNow?: number }> = [];
    const seen = new Set<string>();
    const refusals: string[] = [];
    let done = false;
    for (let round = 1; round <= MAX_ROUNDS && !done; round++) {
      const life = rig.launch();
      lives.push(life);
      const corrupt = (): boolean => life.codes().has('WALSHIP_WAL_CORRUPT');
      // Drained: nothing pending and the input idle for a second (its bytesRead counts this
      // life only: after a restart it starts from the checkpoint, or from the head if the
      // checkpoint was lost to the damage).
      let lastRead = -1;
      let readSince = performance.now();
      const drained = await statusUntil(
        rig,
        life,
        (s) => {
          const bytes = s.inputs[0]?.bytesRead ?? -1;
          if (bytes !== lastRead) {
            lastRead = bytes;
            readSince = performance.now();
          }
          return corrupt() || (s.flushers[0]?.wal?.pendingRecords === 0 && performance.now() - readSince >= INPUT_IDLE_MS);
        },
        o.timeoutMs,
      );
      for (const c of life.codes()) seen.add(c);
      if (drained.ok && !corrupt()) {
        done = true;
        const exit = await life.stop(15_000);
        log.check('walship run delivers what is readable and stops gracefully (exit 0)', exit.code === 0, describeExit(life));
        break;
      }
      const said = life.lines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('walship: '))?.msg;
      const how = life.alive ? 'its WAL stopped with WALSHIP_WAL_CORRUPT' : `it refused to start (${describeExit(life)}${said === undefined ? '' : `: ${said}`})`;
      refusals.push(how);
      log.note(`round ${round}: ${how}; stopping it and running walship wal repair`);
      await life.stop(15_000);
      const rep = await rig.walship(['wal', 'repair', rig.walRoot]);
      const parsed = parseRepair(rep.stdout);
      repairs.push({ exit: rep.code, output: (rep.stdout + rep.stderr).trim(), ...(parsed === undefined ? {} : { pending: parsed.pending, quarantinedNow: parsed.quarantinedNow, ...(parsed.before === undefined ? {} : { before: parsed.before }) }) });
      log.note(`walship wal repair: exit ${rep.code}: ${(rep.stdout + rep.stderr).trim()}`);
    }
    log.check(`walship run reaches an empty WAL within ${MAX_ROUNDS} rounds`, done);
    log.details.codes = [...seen];
    log.details.repairs = repairs;
    log.details.refusals = refusals;

    // 4. What was lost, and why.
    const quar = await quarantined(rig.walDir);
    const dlq = await rig.walship(['dlq', 'list', '--quarantine', '--json', rig.walRoot]);
    log.details.dlqListExit = dlq.code;
    const missing = rig.receiver.missing();
    lost = missing.length;
    const inQuarantine = new Set(quar.flatMap((q) => q.lines));
    const lostToQuarantine = missing.filter((s) => inQuarantine.has(s));
    const unexplained = missing.filter((s) => !inQuarantine.has(s));
    const droppedByRepair = repairs.reduce((a, r) => a + Math.max(0, (r.before ?? r.pending ?? 0) - (r.pending ?? 0) - (r.quarantinedNow ?? 0)), 0);
    log.details.quarantined = quar.map((q) => ({ seq: q.seq, reason: q.reason, lines: q.lines.length === 0 ? 'none readable' : ranges(q.lines) }));
    log.details.lostToQuarantine = { lines: lostToQuarantine.length, seqs: ranges(lostToQuarantine) };
    log.details.lostToRepair = {
      records: droppedByRepair,
      lines: unexplained.length,
      seqs: ranges(unexplained),
      reason: 'LevelDB repair could not read these records back from the damaged table block',
    };
    const noticed = quar.length > 0 || seen.has('WALSHIP_WAL_CORRUPT') || repairs.length > 0;
    log.check('the damage was noticed (quarantine, WALSHIP_WAL_CORRUPT or a repair)', noticed, `${quar.length} quarantined, codes logged: ${[...seen].join(', ') || 'none'}, ${refusals.length} refusals to start${refusals[0] === undefined ? '' : ` (${refusals[0].slice(0, 160)})`}, ${repairs.length} repairs`);
    log.check(
      'every line not lost to the damage is delivered',
      unexplained.length === 0 || (droppedByRepair > 0 && unexplained.length <= droppedByRepair * LOGS_PER_GROUP),
      `${lost} lost: ${lostToQuarantine.length} inside quarantined records, ${unexplained.length} in ${droppedByRepair} records the repair dropped (at most ${LOGS_PER_GROUP} lines each)`,
    );
    const wal = await checkWal(rig.walDir);
    log.check('afterwards the WAL counters agree with a full scan', wal.consistent, JSON.stringify(wal));
  } finally {
    for (const l of lives) await l.kill();
    await rig.close();
  }
  return log.report(rig, { lost });
}
