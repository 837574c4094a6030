/**
 * # WAL benchmarks
 *
 * `npm run bench -- wal [--quick] [--only=append,open,drain] [--out=FILE]`
 *
 * Prints one aligned table per section and a final targets table, and writes every
 * measurement (with machine info, date and Node version) to `bench/results/wal.json`.
 * The machine is shared and noisy, so walship is always compared with raw classic-level as a
 * ratio measured side by side in the same run, runs are interleaved (walship, raw, walship,
 * raw, …) and the median of the repeats is reported.
 *
 * ## Sections
 *
 * 1. **append**: records of 1 KiB, 64 KiB and 1 MiB; 1, 16 and 64 concurrent appenders, each
 *    awaiting its append before the next; `sync: 'always'` and `'never'`. Beside each walship
 *    run, the same bytes go to a raw ClassicLevel opened with the LevelDB options walship
 *    uses (`resolveWalOptions().leveldb`), one `db.batch([put])` per record with the same
 *    sync flag. Each run starts from an empty store and stops at a byte volume or a time cap,
 *    whichever comes first. Payloads are slices of a random pool (snappy cannot shrink them).
 * 2. **open**: `WriteAheadLog.open()` with 0, 100 000 and 1 000 000 pending 100-byte records,
 *    after a clean `close()` and after a SIGKILL. A child process builds the WAL (appending
 *    arrays of many entries, `sync: 'never'`); after a clean close or once its last append
 *    resolved and it was killed, fresh child processes time just `open()` (and the first
 *    `nextBatch`). The first open after the build is the one the targets use: it replays
 *    LevelDB's log; later opens (the median column) find a short log.
 * 3. **disk** and 4. **drain** share one backlog of 16 384 × 64 KiB random records (1 GiB),
 *    built with `sync: 'never'` and reopened. It is drained with `nextBatch(64, 16 MiB)`,
 *    acking each batch before asking for the next; the store's size is sampled during the
 *    drain (peak), after every ack, after `compact()` and after `close()`. The same data is
 *    then written to a raw ClassicLevel and drained by one iterator with a delete batch per
 *    64 records, then `compactRange()` over everything.
 *
 * Child-process roles run through this same file (`--worker=build|open`).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { pino, type Logger } from 'pino';
import { GiB, KiB, MiB } from '../src/config/defaults.ts';
import { resolveWalOptions, type SyncPolicy, WriteAheadLog } from '../src/wal/index.ts';
import { flag } from './lib/args.ts';
import { forkTs, sendToParent } from './lib/child.ts';
import { machineInfo, writeResults } from './lib/results.ts';
import { Sections } from './lib/sections.ts';
import { startBenchSession } from './lib/session.ts';
import { type Cell, fixed, int, mb, printTable, sizeLabel } from './lib/table.ts';
import { printTargets, type Target, target } from './lib/targets.ts';
import { dirBytes, removeDir, type TempRoot } from './lib/temp.ts';
import { latencyPercentiles, median, now, sleep, summarize, timed } from './lib/timing.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..');

// ── Command line ──────────────────────────────────────────────────────────────────────

const QUICK = process.argv.includes('--quick');
const SECTIONS = ['append', 'open', 'drain'] as const;
type Section = (typeof SECTIONS)[number];
const ONLY = (flag('only')?.split(',') ?? [...SECTIONS]) as Section[];
const OUT = resolve(ROOT, flag('out') ?? 'bench/results/wal.json');

// ── Configuration ─────────────────────────────────────────────────────────────────────

const CONFIG = {
  quick: QUICK,
  append: {
    recordBytes: [1 * KiB, 64 * KiB, 1 * MiB],
    appenders: [1, 16, 64],
    syncs: ['always', 'never'] as SyncPolicy[],
    /** A run stops after this many payload bytes… */
    bytesPerRun: QUICK ? 2 * MiB : 64 * MiB,
    /** …but gives every appender at least this many appends (64 × 1 MiB needs more)… */
    minAppendsPerAppender: 2,
    /** …or stops issuing after this long, whichever comes first. */
    capMs: QUICK ? 250 : 1500,
    /** Runs of each of walship and raw per cell, interleaved. */
    repeats: QUICK ? 1 : 5,
    /**
     * The target cells again with runs long enough for LevelDB's compactions to take part
     * (a sink outage: appends pile up for minutes).
     */
    sustained: {
      cells: [
        { sync: 'never', recordBytes: 64 * KiB, appenders: 16 },
        { sync: 'always', recordBytes: 64 * KiB, appenders: 16 },
      ] as Array<{ sync: SyncPolicy; recordBytes: number; appenders: number }>,
      bytesPerRun: QUICK ? 16 * MiB : 256 * MiB,
      capMs: QUICK ? 1000 : 5000,
      repeats: QUICK ? 1 : 3,
    },
  },
  open: {
    pendingRecords: QUICK ? [0, 10_000, 50_000] : [0, 100_000, 1_000_000],
    payloadBytes: 100,
    /** Entries per `append()` call while building. */
    entriesPerAppend: 10_000,
    /** Independent builds per case; the first open after each is the figure the targets use. */
    builds: QUICK ? 1 : 2,
    /** Opens per build: the first replays LevelDB's log, the rest find a short one. */
    opens: QUICK ? 2 : 3,
  },
  drain: {
    records: QUICK ? 512 : 16_384,
    recordBytes: 64 * KiB,
    /** Building: concurrent appenders, each appending this many records per call. */
    buildAppenders: 4,
    buildEntriesPerAppend: 16,
    batchRecords: 64,
    batchBytes: 16 * MiB,
    /** The backlog is just over 1 GiB of logical bytes, above the default quota. */
    maxBytes: 4 * GiB,
    /** Disk size sampling interval during the drain (peak). */
    sampleMs: 250,
    raw: true,
  },
} as const;

/** The LevelDB options walship passes to classic-level (see src/wal/store.ts). */
const LEVELDB = resolveWalOptions({ dir: ROOT }).leveldb;
const RAW_OPEN_OPTIONS = {
  createIfMissing: true,
  errorIfExists: false,
  passive: false,
  writeBufferSize: LEVELDB.writeBufferSize,
  maxFileSize: LEVELDB.maxFileSize,
  cacheSize: LEVELDB.cacheSize,
  compression: LEVELDB.compression,
} as const;

// ── Shared pieces ─────────────────────────────────────────────────────────────────────

/**
 * What walship logs at warn or above goes here (and into the JSON), not between the tables;
 * a child process writes it to its stderr.
 */
const walshipWarnings: string[] = [];
const LOGGER: Logger =
  flag('worker') === undefined
    ? pino({ level: 'warn' }, { write: (line: string) => void walshipWarnings.push(line.trim()) })
    : pino({ level: 'warn' }, pino.destination(2));

let pool: Buffer | undefined;

/**
 * A payload of `size` random bytes: a slice of a random pool at a scattered offset, so that
 * neighbouring records in a LevelDB block share nothing snappy could use.
 */
function payloadAt(k: number, size: number): Buffer {
  pool ??= randomBytes(16 * MiB + 1 * MiB);
  const span = pool.length - size;
  const offset = (Math.imul(k + 1, 0x9e3779b1) >>> 0) % span;
  return pool.subarray(offset, offset + size);
}

function seqKey8(seq: number): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
  key.writeUInt32BE(seq >>> 0, 4);
  return key;
}

function openRaw(location: string): Promise<ClassicLevel<Buffer, Buffer>> {
  const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  return db.open(RAW_OPEN_OPTIONS).then(() => db);
}

const rate = (units: number, ms: number) => (ms > 0 ? units / (ms / 1000) : Number.NaN);

function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}

// ── 1. Append throughput ──────────────────────────────────────────────────────────────

interface AppendRun {
  readonly impl: 'walship' | 'raw';
  readonly bytes: number;
  readonly records: number;
  readonly ms: number;
  readonly mbps: number;
  readonly recordsPerSec: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly cappedByTime: boolean;
}

interface AppendCell {
  readonly sync: SyncPolicy;
  readonly recordBytes: number;
  readonly appenders: number;
  readonly runs: AppendRun[];
  walshipMbps: number;
  walshipRecordsPerSec: number;
  rawMbps: number;
  rawRecordsPerSec: number;
  /** median(walship MB/s) / median(raw MB/s). */
  ratio: number;
  /** walship/raw of each interleaved pair, to show the spread. */
  pairRatios: number[];
}

interface RunLimits {
  readonly bytesPerRun: number;
  readonly minAppendsPerAppender: number;
  readonly capMs: number;
}

async function appendRun(
  tmp: TempRoot,
  impl: 'walship' | 'raw',
  sync: SyncPolicy,
  recordBytes: number,
  appenders: number,
  limits: RunLimits,
): Promise<AppendRun> {
  const dir = await tmp.dir(`append-${impl}`);
  let write: (payload: Buffer) => Promise<unknown>;
  let close: () => Promise<void>;
  if (impl === 'walship') {
    const wal = await WriteAheadLog.open({ dir, sync, logger: LOGGER });
    write = (payload) => wal.append([{ payload }]);
    close = () => wal.close();
  } else {
    const db = await openRaw(join(dir, 'db'));
    const options = { sync: sync === 'always' };
    let seq = 0;
    write = (payload) => db.batch([{ type: 'put', key: seqKey8(++seq), value: payload }], options);
    close = () => db.close();
  }
  const { bytesPerRun, minAppendsPerAppender, capMs } = limits;
  const target = Math.max(bytesPerRun, appenders * recordBytes * minAppendsPerAppender);
  const latencies: number[] = [];
  let issued = 0;
  let done = 0;
  let cappedByTime = false;
  const started = now();
  const deadline = started + capMs;
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      while (issued < target) {
        if (now() > deadline) {
          cappedByTime = true;
          break;
        }
        const k = issued / recordBytes;
        issued += recordBytes;
        const t = now();
        await write(payloadAt(k, recordBytes));
        latencies.push(now() - t);
        done += recordBytes;
      }
    }),
  );
  const ms = now() - started;
  await close();
  await removeDir(dir);
  const records = done / recordBytes;
  return {
    impl,
    bytes: done,
    records,
    ms,
    mbps: rate(done / 1e6, ms),
    recordsPerSec: rate(records, ms),
    latencyMs: latencyPercentiles(latencies),
    cappedByTime,
  };
}

async function appendCell(
  tmp: TempRoot,
  sync: SyncPolicy,
  size: number,
  n: number,
  repeats: number,
  limits: RunLimits,
): Promise<AppendCell> {
  const runs: AppendRun[] = [];
  const pairRatios: number[] = [];
  for (let r = 0; r < repeats; r++) {
    // A B A B: walship and raw alternate so that drift on the machine hits both.
    const w = await appendRun(tmp, 'walship', sync, size, n, limits);
    const raw = await appendRun(tmp, 'raw', sync, size, n, limits);
    runs.push(w, raw);
    pairRatios.push(w.mbps / raw.mbps);
  }
  const of = (impl: string, f: (x: AppendRun) => number) => median(runs.filter((x) => x.impl === impl).map(f));
  const walshipMbps = of('walship', (x) => x.mbps);
  const rawMbps = of('raw', (x) => x.mbps);
  return {
    sync,
    recordBytes: size,
    appenders: n,
    runs,
    walshipMbps,
    walshipRecordsPerSec: of('walship', (x) => x.recordsPerSec),
    rawMbps,
    rawRecordsPerSec: of('raw', (x) => x.recordsPerSec),
    ratio: walshipMbps / rawMbps,
    pairRatios,
  };
}

interface AppendResults {
  readonly cells: AppendCell[];
  /** The target cells with long runs (LevelDB compactions included). */
  readonly sustained: AppendCell[];
}

async function benchAppend(tmp: TempRoot): Promise<AppendResults> {
  const { syncs, recordBytes, appenders, repeats, sustained } = CONFIG.append;
  const cells: AppendCell[] = [];
  const total = syncs.length * recordBytes.length * appenders.length;
  for (const sync of syncs) {
    for (const size of recordBytes) {
      for (const n of appenders) {
        progress(`append ${cells.length + 1}/${total}: sync ${sync}, ${sizeLabel(size)} × ${n} appenders`);
        cells.push(await appendCell(tmp, sync, size, n, repeats, CONFIG.append));
      }
    }
  }
  const long: AppendCell[] = [];
  for (const c of sustained.cells) {
    progress(`append sustained: sync ${c.sync}, ${sizeLabel(c.recordBytes)} × ${c.appenders} appenders, ${sizeLabel(sustained.bytesPerRun)}/run`);
    long.push(
      await appendCell(tmp, c.sync, c.recordBytes, c.appenders, sustained.repeats, {
        bytesPerRun: sustained.bytesPerRun,
        minAppendsPerAppender: CONFIG.append.minAppendsPerAppender,
        capMs: sustained.capMs,
      }),
    );
  }
  return { cells, sustained: long };
}

function printAppend(title: string, cells: readonly AppendCell[]): void {
  const rows: Cell[][] = cells.map((c) => {
    const med = (impl: string, f: (x: AppendRun) => number) => median(c.runs.filter((x) => x.impl === impl).map(f));
    const spread = summarize(c.pairRatios);
    return [
      c.sync,
      sizeLabel(c.recordBytes),
      c.appenders,
      fixed(c.walshipMbps, 1),
      int(c.walshipRecordsPerSec),
      fixed(c.rawMbps, 1),
      int(c.rawRecordsPerSec),
      fixed(c.ratio, 2),
      c.pairRatios.length > 1 ? `${fixed(spread.min, 2)}–${fixed(spread.max, 2)}` : '—',
      fixed(med('walship', (x) => x.latencyMs.p99), 2),
      fixed(med('raw', (x) => x.latencyMs.p99), 2),
      mb(med('walship', (x) => x.bytes), 1),
      fixed(med('walship', (x) => x.ms) / 1000, 2),
    ];
  });
  printTable(
    title,
    [
      'sync',
      'record',
      'appenders',
      'walship MB/s',
      'walship rec/s',
      'raw MB/s',
      'raw rec/s',
      'walship/raw',
      'pair range',
      'walship p99 ms',
      'raw p99 ms',
      'MB/run',
      's/run',
    ],
    rows,
  );
}

// ── 2. Open time ──────────────────────────────────────────────────────────────────────

interface OpenMeasurement {
  readonly openMs: number;
  readonly firstBatchMs: number | undefined;
  readonly pendingRecords: number;
  readonly diskBytes: number;
}

interface OpenBuild {
  readonly buildMs: number;
  /** In order: the first replays LevelDB's log, the later ones find a short one. */
  readonly opens: OpenMeasurement[];
}

interface OpenCase {
  readonly pendingRecords: number;
  readonly after: 'clean close' | 'kill -9';
  readonly builds: OpenBuild[];
  readonly buildMs: number;
  /** Median over the builds of the first open after each (what the targets use). */
  readonly firstOpenMs: number;
  readonly firstOpenMaxMs: number;
  /** Median of the later opens (after the same kind of shutdown, short log). */
  readonly reopenMedianMs: number | undefined;
  readonly firstBatchMs: number | undefined;
  readonly diskBytes: number;
  readonly pendingOk: boolean;
}

async function benchOpen(tmp: TempRoot): Promise<OpenCase[]> {
  const cases: OpenCase[] = [];
  for (const count of CONFIG.open.pendingRecords) {
    for (const after of ['clean close', 'kill -9'] as const) {
      const kill = after === 'kill -9';
      const builds: OpenBuild[] = [];
      for (let b = 0; b < CONFIG.open.builds; b++) {
        progress(`open: ${int(count)} pending, after ${after} (build ${b + 1}/${CONFIG.open.builds})`);
        const dir = await tmp.dir('open');
        const builder = forkTs(SELF, ['--worker=build', `--dir=${dir}`, `--records=${count}`, `--mode=${kill ? 'kill' : 'clean'}`], ROOT);
        const built = await builder.message('built');
        // The last append resolved (it said so after its await): now crash it, or let it exit.
        if (kill) await builder.killHard();
        else await builder.succeeded();
        const opens: OpenMeasurement[] = [];
        for (let i = 0; i < CONFIG.open.opens; i++) {
          const opener = forkTs(SELF, ['--worker=open', `--dir=${dir}`, `--then=${kill ? 'wait' : 'close'}`], ROOT);
          const m = await opener.message('opened');
          if (kill) await opener.killHard();
          else await opener.succeeded();
          opens.push({
            openMs: m.openMs as number,
            firstBatchMs: m.firstBatchMs as number | undefined,
            pendingRecords: m.pendingRecords as number,
            diskBytes: m.diskBytes as number,
          });
        }
        await removeDir(dir);
        builds.push({ buildMs: built.buildMs as number, opens });
      }
      const firsts = builds.map((b) => b.opens[0] as OpenMeasurement);
      const later = builds.flatMap((b) => b.opens.slice(1).map((o) => o.openMs));
      const batchMs = firsts.flatMap((o) => (o.firstBatchMs === undefined ? [] : [o.firstBatchMs]));
      cases.push({
        pendingRecords: count,
        after,
        builds,
        buildMs: median(builds.map((b) => b.buildMs)),
        firstOpenMs: median(firsts.map((o) => o.openMs)),
        firstOpenMaxMs: Math.max(...firsts.map((o) => o.openMs)),
        reopenMedianMs: later.length > 0 ? median(later) : undefined,
        firstBatchMs: batchMs.length > 0 ? median(batchMs) : undefined,
        diskBytes: median(firsts.map((o) => o.diskBytes)),
        pendingOk: builds.every((b) => b.opens.every((o) => o.pendingRecords === count)),
      });
    }
  }
  return cases;
}

function printOpen(cases: readonly OpenCase[]): void {
  printTable(
    `2. Open time (${CONFIG.open.payloadBytes} B payloads; ${CONFIG.open.builds} build(s) per row, each open in a fresh process, timing only WriteAheadLog.open())`,
    [
      'pending',
      'after',
      'build s',
      `first open ms (median of ${CONFIG.open.builds})`,
      'first open max ms',
      `reopen ms (median of ${CONFIG.open.builds * (CONFIG.open.opens - 1)})`,
      'first nextBatch ms',
      'disk MB',
      'pending ok',
    ],
    cases.map((c) => [
      int(c.pendingRecords),
      c.after,
      fixed(c.buildMs / 1000, 2),
      fixed(c.firstOpenMs, 1),
      fixed(c.firstOpenMaxMs, 1),
      fixed(c.reopenMedianMs, 1),
      fixed(c.firstBatchMs, 1),
      mb(c.diskBytes, 1),
      c.pendingOk ? 'yes' : 'NO',
    ]),
  );
}

async function workerBuild(): Promise<void> {
  const dir = flag('dir') as string;
  const records = Number(flag('records'));
  const mode = flag('mode');
  const wal = await WriteAheadLog.open({ dir, sync: 'never', maxBytes: 4 * GiB, logger: LOGGER });
  const { entriesPerAppend, payloadBytes } = CONFIG.open;
  const started = now();
  for (let done = 0; done < records; ) {
    const n = Math.min(entriesPerAppend, records - done);
    const entries = Array.from({ length: n }, (_, i) => ({ payload: payloadAt(done + i, payloadBytes) }));
    await wal.append(entries);
    done += n;
  }
  const buildMs = now() - started;
  if (mode === 'clean') {
    await wal.close();
    await sendToParent({ type: 'built', buildMs });
    process.exit(0);
  }
  // Every append resolved: say so and wait for the SIGKILL, never closing.
  await sendToParent({ type: 'built', buildMs });
  setInterval(() => {}, 60_000);
}

async function workerOpen(): Promise<void> {
  const dir = flag('dir') as string;
  const started = now();
  const wal = await WriteAheadLog.open({ dir, logger: LOGGER });
  const openMs = now() - started;
  const pendingRecords = (await wal.stats()).pendingRecords;
  let firstBatchMs: number | undefined;
  if (pendingRecords > 0) {
    const t = now();
    await wal.nextBatch(CONFIG.drain.batchRecords, CONFIG.drain.batchBytes);
    firstBatchMs = now() - t;
  }
  const diskBytes = await dirBytes(join(dir, 'db'));
  await sendToParent({ type: 'opened', openMs, firstBatchMs, pendingRecords, diskBytes });
  if (flag('then') === 'close') {
    await wal.close();
    process.exit(0);
  }
  setInterval(() => {}, 60_000);
}

// ── 3. Disk bytes and 4. drain ────────────────────────────────────────────────────────

interface DiskStages {
  readonly afterBuild: number;
  readonly peakDuringDrain: number;
  readonly peak: number;
  readonly afterAckAll: number;
  readonly afterCompact: number;
  readonly afterClose: number;
}

/** What LevelDB's background and manual compactions did, from its info log. */
interface CompactionLog {
  readonly compactions: number;
  /** Bytes written by compactions (a trivial move writes none). */
  readonly bytesWritten: number;
  readonly trivialMoves: number;
}

/**
 * Reads `<db>/LOG`, which LevelDB starts afresh (keeping one LOG.old) at every open, so it
 * covers the store's life since its last open.
 */
async function compactionLog(location: string): Promise<CompactionLog> {
  const log = await readFile(join(location, 'LOG'), 'utf8').catch(() => '');
  let compactions = 0;
  let bytesWritten = 0;
  for (const m of log.matchAll(/Compacted \d+@\d+ \+ \d+@\d+ files => (\d+) bytes/g)) {
    compactions++;
    bytesWritten += Number(m[1]);
  }
  return { compactions, bytesWritten, trivialMoves: log.match(/Moved #\d+ to level-\d+/g)?.length ?? 0 };
}

interface DrainResult {
  readonly impl: 'walship' | 'raw';
  readonly records: number;
  readonly payloadBytes: number;
  readonly buildMs: number;
  readonly reopenMs: number;
  readonly drainMs: number;
  readonly mbps: number;
  readonly recordsPerSec: number;
  readonly batches: number;
  readonly compactMs: number;
  readonly closeMs: number;
  readonly compactionsDuringDrain: number | undefined;
  /** LevelDB's compactions while building (open to close) and from reopen to the final close. */
  readonly leveldbBuild: CompactionLog;
  readonly leveldbDrain: CompactionLog;
  readonly disk: DiskStages;
}

/** Samples a directory's size in the background; `stop()` returns the largest sample. */
function diskSampler(dir: string): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await dirBytes(dir));
      await sleep(CONFIG.drain.sampleMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Math.max(peak, await dirBytes(dir));
    },
  };
}

/** Runs `loops` concurrent loops that together call `step(k)` for k = 0..count-1 in chunks. */
async function inChunks(count: number, loops: number, chunk: number, step: (first: number, n: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (next < count) {
        const first = next;
        const n = Math.min(chunk, count - first);
        next += n;
        await step(first, n);
      }
    }),
  );
}

async function drainWalship(tmp: TempRoot): Promise<DrainResult> {
  const { records, recordBytes, buildAppenders, buildEntriesPerAppend, batchRecords, batchBytes, maxBytes } = CONFIG.drain;
  const dir = await tmp.dir('drain-walship');
  const db = join(dir, 'db');
  const options = { dir, sync: 'never' as const, maxBytes, logger: LOGGER };

  progress(`drain: building ${int(records)} × ${sizeLabel(recordBytes)} in walship`);
  let wal = await WriteAheadLog.open(options);
  const build = await timed(() =>
    inChunks(records, buildAppenders, buildEntriesPerAppend, (first, n) =>
      wal.append(Array.from({ length: n }, (_, i) => ({ payload: payloadAt(first + i, recordBytes) }))),
    ),
  );
  await wal.close();
  const afterBuild = await dirBytes(db);
  const leveldbBuild = await compactionLog(db);

  const reopen = await timed(() => WriteAheadLog.open(options));
  wal = reopen.value;
  const compactionsBefore = (await wal.stats()).compactions;
  progress('drain: draining walship');
  const sampler = diskSampler(db);
  let acked = 0;
  let payloadBytes = 0;
  let batches = 0;
  const started = now();
  while (acked < records) {
    const batch = await wal.nextBatch(batchRecords, batchBytes);
    for (const r of batch) payloadBytes += r.payload.byteLength;
    // Acked before asking for more, as a delivery loop with one batch in flight would.
    await wal.ack(batch);
    acked += batch.length;
    batches++;
  }
  const drainMs = now() - started;
  const peakDuringDrain = await sampler.stop();
  const stats = await wal.stats();
  const afterAckAll = stats.diskBytes;
  const compact = await timed(() => wal.compact());
  const afterCompact = (await wal.stats()).diskBytes;
  const close = await timed(() => wal.close());
  const afterClose = await dirBytes(db);
  const leveldbDrain = await compactionLog(db);
  await removeDir(dir);
  return {
    impl: 'walship',
    records: acked,
    payloadBytes,
    buildMs: build.ms,
    reopenMs: reopen.ms,
    drainMs,
    mbps: rate(payloadBytes / 1e6, drainMs),
    recordsPerSec: rate(acked, drainMs),
    batches,
    compactMs: compact.ms,
    closeMs: close.ms,
    compactionsDuringDrain: stats.compactions - compactionsBefore,
    leveldbBuild,
    leveldbDrain,
    disk: {
      afterBuild,
      peakDuringDrain,
      peak: Math.max(afterBuild, peakDuringDrain),
      afterAckAll,
      afterCompact,
      afterClose,
    },
  };
}

async function drainRaw(tmp: TempRoot): Promise<DrainResult> {
  const { records, recordBytes, buildAppenders, buildEntriesPerAppend, batchRecords } = CONFIG.drain;
  const dir = await tmp.dir('drain-raw');
  const location = join(dir, 'db');
  progress(`drain: building ${int(records)} × ${sizeLabel(recordBytes)} in raw classic-level`);
  let db = await openRaw(location);
  const build = await timed(() =>
    inChunks(records, buildAppenders, buildEntriesPerAppend, (first, n) =>
      db.batch(
        Array.from({ length: n }, (_, i) => ({
          type: 'put' as const,
          key: seqKey8(first + i + 1),
          value: payloadAt(first + i, recordBytes),
        })),
        { sync: false },
      ),
    ),
  );
  await db.close();
  const afterBuild = await dirBytes(location);
  const leveldbBuild = await compactionLog(location);
  const reopen = await timed(() => openRaw(location));
  db = reopen.value;
  progress('drain: draining raw classic-level');
  const sampler = diskSampler(location);
  let deleted = 0;
  let payloadBytes = 0;
  let batches = 0;
  const started = now();
  const it = db.iterator();
  try {
    for (;;) {
      const entries = await it.nextv(batchRecords);
      if (entries.length === 0) break;
      for (const [, value] of entries) payloadBytes += value.byteLength;
      await db.batch(
        entries.map(([key]) => ({ type: 'del' as const, key })),
        { sync: false },
      );
      deleted += entries.length;
      batches++;
    }
  } finally {
    await it.close();
  }
  const drainMs = now() - started;
  const peakDuringDrain = await sampler.stop();
  const afterAckAll = await dirBytes(location);
  const compact = await timed(() => db.compactRange(seqKey8(0), seqKey8(records + 1)));
  const afterCompact = await dirBytes(location);
  const close = await timed(() => db.close());
  const afterClose = await dirBytes(location);
  const leveldbDrain = await compactionLog(location);
  await removeDir(dir);
  return {
    impl: 'raw',
    records: deleted,
    payloadBytes,
    buildMs: build.ms,
    reopenMs: reopen.ms,
    drainMs,
    mbps: rate(payloadBytes / 1e6, drainMs),
    recordsPerSec: rate(deleted, drainMs),
    batches,
    compactMs: compact.ms,
    closeMs: close.ms,
    compactionsDuringDrain: undefined,
    leveldbBuild,
    leveldbDrain,
    disk: {
      afterBuild,
      peakDuringDrain,
      peak: Math.max(afterBuild, peakDuringDrain),
      afterAckAll,
      afterCompact,
      afterClose,
    },
  };
}

async function benchDrain(tmp: TempRoot): Promise<DrainResult[]> {
  const results = [await drainWalship(tmp)];
  if (CONFIG.drain.raw) results.push(await drainRaw(tmp));
  return results;
}

function printDisk(results: readonly DrainResult[]): void {
  const stages: Array<[string, keyof DiskStages]> = [
    ['after build (closed)', 'afterBuild'],
    ['peak while draining', 'peakDuringDrain'],
    ['after ack-all', 'afterAckAll'],
    ['after compact()', 'afterCompact'],
    ['after close()', 'afterClose'],
  ];
  const headers = ['stage', ...results.flatMap((r) => [`${r.impl} MB`, `${r.impl} % of peak`])];
  printTable(
    `3. On-disk bytes (files in <dir>/db) of the ${int(CONFIG.drain.records)} × ${sizeLabel(CONFIG.drain.recordBytes)} backlog`,
    headers,
    stages.map(([label, key]) => [
      label,
      ...results.flatMap((r) => [mb(r.disk[key], 1), `${fixed((100 * r.disk[key]) / r.disk.peak, 2)}%`]),
    ]),
  );
}

function printDrain(results: readonly DrainResult[]): void {
  printTable(
    `4. Drain: read + ack ${int(CONFIG.drain.records)} × ${sizeLabel(CONFIG.drain.recordBytes)} random records (walship: nextBatch(${CONFIG.drain.batchRecords}, ${sizeLabel(CONFIG.drain.batchBytes)}) then ack; raw: one iterator, nextv(${CONFIG.drain.batchRecords}) then a del batch)`,
    ['impl', 'records', 'payload MB', 'drain s', 'MB/s', 'rec/s', 'batches', 'walship compactRanges', 'compact() ms', 'close ms', 'drain+compact MB/s'],
    results.map((r) => [
      r.impl,
      int(r.records),
      mb(r.payloadBytes, 0),
      fixed(r.drainMs / 1000, 2),
      fixed(r.mbps, 1),
      int(r.recordsPerSec),
      int(r.batches),
      r.compactionsDuringDrain ?? '—',
      fixed(r.compactMs, 0),
      fixed(r.closeMs, 0),
      fixed(rate(r.payloadBytes / 1e6, r.drainMs + r.compactMs), 1),
    ]),
  );
  // The backlog's build is a sustained append of its own (4 appenders × 16 records per call).
  printTable(
    `   Backlog build (${CONFIG.drain.buildAppenders} appenders × ${CONFIG.drain.buildEntriesPerAppend} records per call, sync never) and what LevelDB compacted`,
    ['impl', 'build s', 'build MB/s', 'vs raw', 'LevelDB compactions', 'compaction MB written', 'trivial moves', 'drain-phase compaction MB', 'reopen ms'],
    results.map((r) => {
      const raw = results.find((x) => x.impl === 'raw');
      const buildRate = rate(r.payloadBytes / 1e6, r.buildMs);
      return [
        r.impl,
        fixed(r.buildMs / 1000, 2),
        fixed(buildRate, 1),
        raw ? fixed(buildRate / rate(raw.payloadBytes / 1e6, raw.buildMs), 2) : '—',
        r.leveldbBuild.compactions,
        mb(r.leveldbBuild.bytesWritten, 0),
        r.leveldbBuild.trivialMoves,
        mb(r.leveldbDrain.bytesWritten, 0),
        fixed(r.reopenMs, 1),
      ];
    }),
  );
}

// ── Targets ───────────────────────────────────────────────────────────────────────────

function evaluateTargets(
  appendResults: AppendResults | undefined,
  open: readonly OpenCase[] | undefined,
  drain: readonly DrainResult[] | undefined,
): Target[] {
  const out: Target[] = [];
  if (appendResults !== undefined) {
    const append = appendResults.cells;
    const cell = (sync: string, size: number, n: number) =>
      append.find((c) => c.sync === sync && c.recordBytes === size && c.appenders === n);
    for (const sync of ['always', 'never']) {
      const c = cell(sync, 64 * KiB, 16);
      out.push(target(`append 64KiB × 16, sync ${sync}: walship/raw`, c?.ratio, '>=', 0.85, '×', c ? `walship ${fixed(c.walshipMbps)} vs raw ${fixed(c.rawMbps)} MB/s` : ''));
    }
    for (const c of appendResults.sustained) {
      out.push(
        target(
          `  same, sustained (${sizeLabel(CONFIG.append.sustained.bytesPerRun)}/run), sync ${c.sync}`,
          c.ratio,
          '>=',
          0.85,
          '×',
          `walship ${fixed(c.walshipMbps)} vs raw ${fixed(c.rawMbps)} MB/s`,
        ),
      );
    }
    for (const size of CONFIG.append.recordBytes) {
      const one = cell('always', size, 1);
      const sixteen = cell('always', size, 16);
      const scale = one && sixteen ? sixteen.walshipMbps / one.walshipMbps : undefined;
      const rawScale = one && sixteen ? sixteen.rawMbps / one.rawMbps : undefined;
      out.push(target(`sync always ${sizeLabel(size)}: 16 appenders / 1 appender`, scale, '>=', 4, '×', `raw scales ${fixed(rawScale, 2)}×`));
    }
  }
  if (open !== undefined) {
    const largest = Math.max(...open.map((c) => c.pendingRecords));
    for (const [after, goal] of [['clean close', 300], ['kill -9', 1000]] as const) {
      const c = open.find((x) => x.pendingRecords === largest && x.after === after);
      out.push(target(`open with ${int(largest)} pending after ${after} (first open)`, c?.firstOpenMs, '<=', goal, 'ms', c ? `max ${fixed(c.firstOpenMaxMs)} ms; reopens ${fixed(c.reopenMedianMs)} ms` : ''));
    }
  }
  if (drain !== undefined) {
    const w = drain.find((r) => r.impl === 'walship');
    const raw = drain.find((r) => r.impl === 'raw');
    if (w !== undefined) {
      const pct = (100 * w.disk.afterCompact) / w.disk.peak;
      out.push(target('disk after ack-all + compact() / peak', pct, '<=', 5, '%', `after close: ${fixed((100 * w.disk.afterClose) / w.disk.peak, 2)}%`));
      out.push(target(`drain ${sizeLabel(CONFIG.drain.recordBytes)} backlog (read + ack)`, w.mbps, '>=', 150, 'MB/s', raw ? `raw iterate+delete ${fixed(raw.mbps)} MB/s` : ''));
    }
  }
  return out;
}

// ── Main ──────────────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  const { tmp, machine, startedAt } = startBenchSession({
    name: 'WAL',
    tmpPrefix: 'walship-bench-',
    quick: QUICK,
    root: ROOT,
    build: 'classic-level',
  });
  console.log(`LevelDB options (as walship): ${JSON.stringify(LEVELDB)}`);

  let append: AppendResults | undefined;
  let open: OpenCase[] | undefined;
  let drain: DrainResult[] | undefined;
  const sections = new Sections(() => writeResults(OUT, snapshot(false)));
  const snapshot = (finished: boolean) => ({
    bench: 'wal',
    date: startedAt.toISOString(),
    finished: finished ? new Date().toISOString() : undefined,
    quick: QUICK,
    sections: ONLY,
    node: process.version,
    machine,
    loadavgAtEnd: finished ? machineInfo(ROOT).loadavg : undefined,
    config: { ...CONFIG, leveldb: LEVELDB },
    sectionSeconds: sections.seconds,
    append,
    open,
    drain,
    targets: evaluateTargets(append, open, drain),
    walshipWarnings,
    errors: sections.errors,
  });

  async function section(name: Section, run: () => Promise<void>): Promise<void> {
    if (ONLY.includes(name)) await sections.run(name, run);
  }

  await section('append', async () => {
    append = await benchAppend(tmp);
    printAppend(
      `1. Append throughput (median of ${CONFIG.append.repeats} interleaved runs each; MB = 10^6 bytes of payload)`,
      append.cells,
    );
    printAppend(
      `1b. Sustained append: the target cells with ${sizeLabel(CONFIG.append.sustained.bytesPerRun)} runs, LevelDB compactions included (median of ${CONFIG.append.sustained.repeats})`,
      append.sustained,
    );
  });
  await section('open', async () => {
    open = await benchOpen(tmp);
    printOpen(open);
  });
  await section('drain', async () => {
    drain = await benchDrain(tmp);
    printDisk(drain);
    printDrain(drain);
  });

  const result = snapshot(true);
  printTargets(result.targets);
  if (walshipWarnings.length > 0) {
    console.log(`\nwalship logged ${walshipWarnings.length} warning(s); first: ${walshipWarnings[0]}`);
  }
  console.log(`\nsections (s): ${Object.entries(sections.seconds).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
  console.log(`results: ${await writeResults(OUT, result)}`);
  return sections.errors.length > 0 ? 1 : 0;
}

const worker = flag('worker');
if (worker === 'build') await workerBuild();
else if (worker === 'open') await workerOpen();
else if (worker !== undefined) throw new Error(`unknown --worker=${worker}`);
else process.exitCode = await main();
