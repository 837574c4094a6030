/**
 * `input_file`: tails the files matching a path or a glob. See ./index.ts for the invariants
 * (I1–I6) and the rotation rules; this file is their implementation.
 *
 * One loop owns everything (no concurrent reads, no concurrent appends): a round reads at most
 * `readChunkBytes` from each open file, splits the bytes into records, packs the records into
 * LogGroups and appends them to the WAL **together with the input's checkpoint** (one
 * LevelDB batch). Only once that append is durable do the in-memory offsets move (I1).
 *
 * The checkpoint is one key per input, `input_file:<configName>:<absolute pattern>`, whose
 * value is JSON: `{"v":1,"files":[{"dev","ino","path","offset","fpLen","fpCrc"}]}`: every
 * open file by identity (dev+ino), the path it was last seen at, the offset up to which its
 * lines are in the WAL, and the fingerprint of its head.
 */
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_STOP_TIMEOUT_MS, DEFAULT_WHEN_FULL_POLL_MS } from '../config/defaults.ts';
import { ErrorCodes, isWalshipError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { giveBackGroupBuffer, type LogTag } from '../model/index.ts';
import type { Checkpoint } from '../wal/index.ts';
import { absolutePattern, baseDirectory, findFiles, watchHint } from './discovery.ts';
import {
  type FileIdentity,
  type Fingerprint,
  identityKey,
  identityOf,
  matchesFingerprint,
  sameIdentity,
  takeFingerprint,
} from './file-identity.ts';
import { type LineGroup, LineGroupBuilder } from './line-group-builder.ts';
import { isRetryable } from './input-stdin.ts';
import { LineSplitter } from './line-splitter.ts';
import {
  type FileInputConfig,
  type Input,
  type InputContext,
  type InputStats,
  resolveFileInputOptions,
  type ResolvedFileInputOptions,
} from './options.ts';

/** The checkpoint format version (the `v` field). */
export const FILE_CHECKPOINT_VERSION = 1;
/** The LogTag that names a log's file (iLogtail's `__tag__:__path__`). */
export const PATH_TAG_KEY = '__path__';
const RETRY_DELAY_MS = 500;

interface CheckpointEntry {
  readonly dev: number;
  readonly ino: number;
  readonly path: string;
  readonly offset: number;
  readonly fpLen: number;
  readonly fpCrc: number;
  /**
   * Birth time (ms), when the filesystem tells it: with dev+ino, which file this is even when
   * its inode was reused (another birth time) or its head rewritten (the same one).
   */
  readonly btime?: number;
}

interface TrackedFile {
  readonly id: FileIdentity;
  /** Birth time (ms), 0 when the filesystem does not tell. */
  readonly btime: number;
  readonly key: string;
  path: string;
  streamKey: string;
  /** The tags of its stream: the path. */
  tags: LogTag[];
  readonly fh: FileHandle;
  fp: Fingerprint;
  readonly splitter: LineSplitter;
  /** The offset in the durable checkpoint. */
  committed: number;
  /** The offset in the last append handed to the WAL (durable or in flight). */
  submitted: number;
  /** The offset this round's append will checkpoint. */
  next: number;
  /** The path no longer leads to this file (renamed away or deleted). */
  rotated: boolean;
  /** Since when reads found nothing new (undefined while data is coming). */
  atEofSince: number | undefined;
  lastDataAt: number;
  /** Finished: dropped from the checkpoint and closed once this round is durable. */
  closing: boolean;
  /** Its closing is in an append handed to the WAL: closed when that is durable. */
  closeSubmitted: boolean;
}

/** What an append checkpoints, taken when it is handed over (the next round reads on). */
interface CommitSnapshot {
  readonly offsets: ReadonlyArray<readonly [TrackedFile, number]>;
  readonly closing: readonly TrackedFile[];
}

/**
 * While an append is in flight, the input reads on up to this many read chunks (they go in
 * the next append): enough to hide a fsync behind reading, bounded in memory.
 */
const PENDING_ROUNDS_WHILE_APPENDING = 1;

/** Ends the loop: the flusher is closed, nothing more can be made durable. */
class FlusherGone extends Error {}

/** The checkpoint key of an input_file: one per config and pattern. */
export function fileCheckpointKey(configName: string, pattern: string): string {
  return `input_file:${configName}:${absolutePattern(pattern)}`;
}

/** Whether the file `stats` describes is still at `path` (then the next discovery opens it). */
async function exists(path: string, stats: Stats): Promise<boolean> {
  const now = await stat(path).catch(() => undefined);
  return now !== undefined && now.dev === stats.dev && now.ino === stats.ino;
}

/**
 * Whether `stats` (found by dev+ino outside the glob) is the checkpointed file: by birth time
 * when both sides have one ('no': the inode was reused by another file), else 'unsure'.
 */
function sameFileOutsideGlob(e: CheckpointEntry, stats: Stats): 'yes' | 'no' | 'unsure' {
  if (e.btime === undefined || !(stats.birthtimeMs > 0)) return 'unsure';
  return stats.birthtimeMs === e.btime ? 'yes' : 'no';
}

/** Opens of a checkpointed file that was renamed meanwhile, each after looking it up again. */
const RESTORE_OPEN_ATTEMPTS = 5;

function parseCheckpoint(raw: Buffer): CheckpointEntry[] {
  const v = JSON.parse(raw.toString('utf8')) as { v?: unknown; files?: unknown };
  if (v?.v !== FILE_CHECKPOINT_VERSION || !Array.isArray(v.files)) throw new Error(`unknown checkpoint format ${String(v?.v)}`);
  return (v.files as CheckpointEntry[]).filter(
    (e) =>
      Number.isSafeInteger(e?.dev) &&
      Number.isSafeInteger(e?.ino) &&
      Number.isSafeInteger(e?.offset) &&
      typeof e?.path === 'string' &&
      (e.btime === undefined || Number.isFinite(e.btime)),
  );
}

export class FileInput implements Input {
  readonly type = 'input_file' as const;
  readonly done: Promise<void>;
  readonly options: ResolvedFileInputOptions;
  readonly #ctx: InputContext;
  readonly #logger: Logger;
  readonly #key: string;
  readonly #builder: LineGroupBuilder;
  readonly #files = new Map<string, TrackedFile>();
  #stateDirty = false;
  #started: Promise<void> | undefined;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #resolveDone!: () => void;
  #wake: (() => void) | undefined;
  #discoverSoon = false;
  #watcher: { close(): void } | undefined;
  #paused = false;
  /** The time of this round's logs, and the lines a sink took in it. */
  #roundNow = 0;
  #roundRecords = 0;
  /**
   * The append of the last round while it is in flight: the next round is read and packed
   * meanwhile, and handed over once this one is durable (one in flight, in order).
   */
  #inFlight: Promise<void> | undefined;
  /** Renames seen (each gives the file a new stream). */
  #renames = 0;
  #inFlightSettled = true;
  /** Lines and bytes read since the last append was handed over (they go with the next one). */
  #unsubmittedRecords = 0;
  #unsubmittedBytes = 0;
  /** The read buffer, reused by every read (the splitter keeps no reference to it). */
  #readBuf: Buffer | undefined;
  #counters = { logs: 0, bytesRead: 0, appends: 0, pauses: 0, rotations: 0, truncations: 0, linesCut: 0 };

  constructor(config: FileInputConfig, ctx: InputContext) {
    this.options = resolveFileInputOptions(config);
    this.#ctx = ctx;
    this.#key = fileCheckpointKey(ctx.configName, this.options.path);
    this.#logger = ctx.logger.child({ component: 'input_file', path: this.options.path });
    this.#builder = new LineGroupBuilder(this.options.groups, ctx);
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /** Restores the checkpoint, opens the files and starts the loop. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      await this.#restore();
      this.#watcher = watchHint(baseDirectory(this.options.path), this.#onHint, this.#logger);
      this.#loop = this.#run()
        .catch((err: unknown) => {
          if (!(err instanceof FlusherGone)) this.#logger.error({ err }, 'input_file stopped on an error');
        })
        .finally(() => this.#closeAll());
    })();
    return this.#started;
  }

  /**
   * Stops the loop after its current round. Lines read but not yet durable are not lost:
   * they are past the checkpoint and read again at the next start (I2).
   */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      await this.#started?.catch(() => {});
      this.#wake?.();
      if (this.#loop !== undefined) {
        let timer: NodeJS.Timeout | undefined;
        const late = await Promise.race([
          this.#loop.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), DEFAULT_STOP_TIMEOUT_MS);
          }),
        ]);
        clearTimeout(timer);
        if (late) this.#logger.warn('input_file: an append is still waiting for the WAL; it ends when the flusher stops');
      } else {
        await this.#closeAll();
      }
    })();
    return this.#stopped;
  }

  stats(): InputStats {
    const { logs, bytesRead, appends, pauses, rotations, truncations } = this.#counters;
    let linesCut = this.#counters.linesCut;
    for (const f of this.#files.values()) linesCut += f.splitter.stats().cut;
    return { type: this.type, logs, bytesRead, appends, pauses, rotations, truncations, linesCut, paused: this.#paused, files: this.#files.size };
  }

  readonly #onHint = (kind: 'rename' | 'change'): void => {
    if (kind === 'rename') this.#discoverSoon = true;
    this.#wake?.();
  };

  // ── Start: restoring the checkpoint ──────────────────────────────────────────────────

  async #restore(): Promise<void> {
    let entries: CheckpointEntry[] = [];
    let firstStart = true;
    const raw = await this.#ctx.flusher.getCheckpoint(this.#key);
    if (raw !== undefined) {
      firstStart = false;
      try {
        entries = parseCheckpoint(raw);
      } catch (err) {
        // Not a first start: files are read from their head (duplicates rather than a loss).
        this.#logger.error({ err }, 'input_file: unreadable checkpoint; reading every file from its head');
      }
    }
    const seen = await this.#glob();
    for (const e of entries) {
      const key = identityKey(e);
      // Where the glob saw it, else found by dev+ino in its directory. A file renamed between
      // that look and the open (a rotation while starting: the path now leads to a new file)
      // is looked for again by dev+ino: dropping it would lose what it holds past its offset.
      // Found outside the glob, it must be the same file (sameFileOutsideGlob: its birth time,
      // else its checkpointed head): an inode reused by an unrelated file is not ours to ship.
      let file: TrackedFile | undefined;
      const inGlob = seen.get(key);
      let found = inGlob ?? (await this.#searchRenamed(e));
      let outside = inGlob === undefined;
      for (let attempt = 0; found !== undefined && file === undefined && attempt < RESTORE_OPEN_ATTEMPTS; attempt++) {
        const same = outside ? sameFileOutsideGlob(e, found.stats) : 'yes';
        if (same === 'no') break;
        // Unsure (no birth time): only the checkpointed head, if there was one, tells.
        file = await this.#open(found.path, found.stats, e.offset, { length: e.fpLen, crc: e.fpCrc }, same === 'unsure');
        if (file === undefined) {
          found = await this.#searchRenamed(e);
          outside = true;
        }
      }
      if (file === undefined) {
        this.#logger.warn({ file: e.path, offset: e.offset }, 'input_file: a checkpointed file is gone; what it held past its offset is lost');
        this.#stateDirty = true;
        continue;
      }
      // Outside the glob it is marked rotated by the next discovery (not here: renamed to a name
      // the glob matches, it must not be closed as rotated and then found again as new).
      file.rotated = !seen.has(key);
    }
    for (const [key, { path, stats }] of seen) {
      if (this.#files.has(key)) continue;
      await this.#open(path, stats, firstStart && !this.options.readFromHead ? stats.size : 0);
    }
    // The first checkpoint marks "started": a file that appears from now on is new and read
    // from its head, even across a crash (I5).
    if (firstStart || this.#stateDirty) await this.#commit([], true);
    this.#logger.info({ files: this.#files.size, firstStart }, 'input_file started');
  }

  /** A checkpointed file not at its path any more: looked up by dev+ino in its directory. */
  async #searchRenamed(e: Pick<CheckpointEntry, 'path' | 'dev' | 'ino'>): Promise<{ path: string; stats: Stats } | undefined> {
    let names: string[];
    try {
      names = await readdir(dirname(e.path));
    } catch {
      return undefined;
    }
    for (const name of names) {
      const path = join(dirname(e.path), name);
      const s = await stat(path).catch(() => undefined);
      if (s?.isFile() && s.dev === e.dev && s.ino === e.ino) return { path, stats: s };
    }
    return undefined;
  }

  /**
   * Opens a file and tracks it from `offset`. With `expected` (a checkpoint's fingerprint),
   * a file whose head differs was rewritten: read from 0; with `strict` too, it is not tracked
   * (found by inode alone, nothing else says it is the same file).
   */
  async #open(path: string, stats: Stats, offset: number, expected?: Fingerprint, strict = false): Promise<TrackedFile | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      this.#logger.debug({ err, file: path }, 'input_file: could not open a file; will retry');
      return undefined;
    }
    const s = await fh.stat();
    if (!sameIdentity(identityOf(s), identityOf(stats))) {
      // Replaced between the glob and the open: the next discovery sees the new one.
      await fh.close();
      return undefined;
    }
    let from = offset;
    if (strict && expected !== undefined && (expected.length === 0 || !(await matchesFingerprint(fh, expected)))) {
      // Found by inode outside its path, its birth time unknown: a different head (or none
      // recorded) cannot confirm it is the same file.
      this.#logger.warn({ file: path }, 'input_file: a file with a checkpointed inode has another head; not ours, left alone');
      await fh.close();
      return undefined;
    }
    if (expected !== undefined && !(await matchesFingerprint(fh, expected))) {
      this.#logger.warn({ file: path }, 'input_file: the file at a checkpointed inode has a different head (truncated or a new file); reading it from its start');
      this.#counters.truncations++;
      from = 0;
    } else if (s.size < from) {
      this.#logger.warn({ file: path, offset: from, size: s.size }, 'input_file: file shorter than its checkpoint (truncated); reading it from its start');
      this.#counters.truncations++;
      from = 0;
    }
    const fp = await takeFingerprint(fh, s.size, this.options.fingerprintBytes);
    const id = identityOf(s);
    const key = identityKey(id);
    const now = Date.now();
    const file: TrackedFile = {
      id,
      btime: s.birthtimeMs > 0 ? s.birthtimeMs : 0,
      key,
      path,
      streamKey: `${key}\u0000${path}`,
      tags: [{ key: PATH_TAG_KEY, value: path }],
      fh,
      fp,
      splitter: new LineSplitter({
        maxLineBytes: this.options.maxLineBytes,
        startPattern: this.options.startPattern,
        offset: from,
        // Plain lines (no multiline pattern) go straight from the read buffer into the group.
        lineSink: (buf, start, end) => {
          this.#builder.addUtf8Line(this.options.contentKey, buf, start, end, this.#roundNow, file.streamKey, file.tags);
          this.#roundRecords++;
        },
      }),
      committed: expected === undefined ? -1 : offset,
      submitted: expected === undefined ? -1 : offset,
      next: from,
      rotated: false,
      atEofSince: undefined,
      lastDataAt: now,
      closing: false,
      closeSubmitted: false,
    };
    this.#files.set(key, file);
    if (file.committed !== from) this.#stateDirty = true;
    this.#logger.debug({ file: path, offset: from }, 'input_file: tracking a file');
    return file;
  }

  /** The regular files matching the pattern now, by identity (the first path wins). */
  async #glob(): Promise<Map<string, { path: string; stats: Stats }>> {
    const seen = new Map<string, { path: string; stats: Stats }>();
    let paths: string[];
    try {
      paths = await findFiles(this.options.path);
    } catch (err) {
      this.#logger.warn({ err }, 'input_file: the glob failed; trying again at the next poll');
      return seen;
    }
    for (const path of paths) {
      const s = await stat(path).catch(() => undefined);
      if (s === undefined || !s.isFile()) continue;
      const key = identityKey(s);
      if (!seen.has(key)) seen.set(key, { path, stats: s });
    }
    return seen;
  }

  // ── The loop ─────────────────────────────────────────────────────────────────────────

  async #run(): Promise<void> {
    let nextDiscovery = Date.now() + this.options.pollMs;
    while (!this.#stopping) {
      // Backpressure (I4): no reading while the WAL is over its quota.
      if (!this.#ctx.flusher.isReady()) {
        if (!this.#paused) {
          this.#paused = true;
          this.#counters.pauses++;
          this.#logger.info('input_file: the WAL is over its quota; reading paused');
        }
        await this.#sleep(DEFAULT_WHEN_FULL_POLL_MS);
        continue;
      }
      if (this.#paused) {
        this.#paused = false;
        this.#logger.info('input_file: below the watermark again; reading resumed');
      }
      const now = Date.now();
      if (this.#discoverSoon || now >= nextDiscovery) {
        this.#discoverSoon = false;
        nextDiscovery = now + this.options.pollMs;
        await this.#discover();
      }
      const readSomething = await this.#round();
      if (!readSomething) await this.#sleep(Math.max(1, Math.min(nextDiscovery, this.#nextDeadline()) - Date.now()));
    }
    // What was read while the last append was in flight goes too; both are durable (or
    // failed) before the files close.
    if (this.#unsubmittedRecords > 0) await this.#submit();
    await this.#inFlight;
  }

  /** The soonest multiline flush or rotated-file close due. */
  #nextDeadline(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const f of this.#files.values()) {
      if (f.splitter.hasPending) at = Math.min(at, f.lastDataAt + this.options.multilineFlushMs);
      if (f.rotated) at = Math.min(at, (f.atEofSince ?? Date.now()) + this.options.rotatedCloseMs);
    }
    return at;
  }

  /** Re-runs the glob: new files are tracked from their head; missing ones are marked rotated (I3). */
  async #discover(): Promise<void> {
    const seen = await this.#glob();
    for (const f of this.#files.values()) {
      const match = seen.get(f.key);
      if (match !== undefined) {
        if (match.path !== f.path) {
          this.#builder.forget(f.streamKey);
          f.path = match.path;
          // A stream of its own (its own `__pack_id__` prefix), even when the file comes back to
          // a name it had before (A → B → A would otherwise repeat pack ids).
          f.streamKey = `${f.key}\u0000${f.path}\u0000${++this.#renames}`;
          f.tags = [{ key: PATH_TAG_KEY, value: f.path }];
          this.#stateDirty = true;
        }
        f.rotated = false;
      } else if (!f.rotated) {
        f.rotated = true;
        this.#counters.rotations++;
        this.#logger.info({ file: f.path }, 'input_file: file renamed away or deleted; reading it to its end');
      }
    }
    for (const [key, { path, stats }] of seen) {
      if (this.#files.has(key)) continue;
      if ((await this.#open(path, stats, 0)) !== undefined) continue;
      // Renamed away between the glob and the open (a quick rotation, maybe more than one):
      // read it where it went, if it is the same file: same inode *and* the same birth time (an
      // inode is reused at once by the next file created; without a birth time, it is left alone).
      let opened = false;
      for (let attempt = 0; !opened && stats.birthtimeMs > 0 && attempt < RESTORE_OPEN_ATTEMPTS; attempt++) {
        const moved = await this.#searchRenamed({ path, dev: stats.dev, ino: stats.ino });
        if (moved === undefined || moved.stats.birthtimeMs !== stats.birthtimeMs) break;
        opened = (await this.#open(moved.path, moved.stats, 0)) !== undefined;
      }
      if (!opened && !(await exists(path, stats))) {
        this.#logger.warn({ file: path }, 'input_file: a new file went away before it could be opened; it was not read');
      }
    }
  }

  /** One round: read, split, append with the checkpoint. Returns whether bytes were read. */
  async #round(): Promise<boolean> {
    let readSomething = false;
    const now = Date.now();
    this.#roundNow = now;
    this.#roundRecords = 0;
    let records = 0;
    for (const f of this.#files.values()) {
      if (f.closing) continue; // finished: closed once its last append is durable
      if (await this.#readFile(f, now)) readSomething = true;
      const s = f.splitter;
      if (s.hasPending && now - f.lastDataAt >= this.options.multilineFlushMs) s.flushPending();
      if (f.rotated && f.atEofSince !== undefined && now - f.atEofSince >= this.options.rotatedCloseMs) {
        // Finished: its last line goes even without a newline (no writer will complete it).
        s.end();
        f.closing = true;
      }
      const taken = s.take();
      if (taken.records.length > 0) {
        const key = this.options.contentKey;
        for (const r of taken.records) this.#builder.addLine(key, r.text, now, f.streamKey, f.tags);
        records += taken.records.length;
      }
      f.next = taken.safeOffset;
    }
    records += this.#roundRecords;
    this.#unsubmittedRecords += records;
    let changed = this.#stateDirty || this.#unsubmittedRecords > 0;
    for (const f of this.#files.values()) changed ||= f.closing ? !f.closeSubmitted : f.next !== f.submitted;
    if (changed) {
      // One append in flight, in order. While it is (its fsync), the next rounds are read and
      // packed, up to a bound; they go together in the next append once it is durable: the
      // input's own group commit, so a slow fsync means bigger appends, not a stalled input.
      const keepReading =
        !this.#inFlightSettled && readSomething && this.#unsubmittedBytes < this.options.readChunkBytes * PENDING_ROUNDS_WHILE_APPENDING;
      if (!keepReading) await this.#submit();
    }
    return readSomething;
  }

  /** Waits for the append in flight, then hands over everything read since (not awaited). */
  async #submit(): Promise<void> {
    await this.#inFlight;
    const groups = this.#builder.build();
    const snapshot = this.#snapshot();
    const append = this.#commit(groups, false, this.#unsubmittedRecords, snapshot);
    this.#unsubmittedRecords = 0;
    this.#unsubmittedBytes = 0;
    this.#inFlightSettled = false;
    append
      .finally(() => {
        if (this.#inFlight === append) this.#inFlightSettled = true;
      })
      .catch(() => {}); // awaited by the next round or at the end of the loop
    this.#inFlight = append;
  }

  /**
   * Reads the file's next chunk into its splitter, after checking for truncation: a size
   * below the read offset, or a head that no longer matches the fingerprint (I3).
   */
  async #readFile(f: TrackedFile, now: number): Promise<boolean> {
    let size: number;
    try {
      size = (await f.fh.stat()).size;
    } catch (err) {
      this.#logger.warn({ err, file: f.path }, 'input_file: stat failed on an open file');
      return false;
    }
    const at = f.splitter.offset;
    if (size < at || !(await matchesFingerprint(f.fh, f.fp))) {
      this.#counters.truncations++;
      this.#logger.warn({ file: f.path, offset: at, size }, 'input_file: file truncated (or rewritten); reading it again from its start');
      f.splitter.reset(0);
      f.fp = await takeFingerprint(f.fh, size, this.options.fingerprintBytes);
      f.atEofSince = undefined;
      return true;
    }
    if (size === at) {
      f.atEofSince ??= now;
      return false;
    }
    const want = Math.min(this.options.readChunkBytes, size - at);
    this.#readBuf ??= Buffer.allocUnsafe(this.options.readChunkBytes);
    const buf = this.#readBuf;
    const { bytesRead } = await f.fh.read(buf, 0, want, at);
    if (bytesRead === 0) {
      f.atEofSince ??= now;
      return false;
    }
    f.splitter.push(buf.subarray(0, bytesRead));
    this.#counters.bytesRead += bytesRead;
    this.#unsubmittedBytes += bytesRead;
    f.lastDataAt = now;
    f.atEofSince = undefined;
    if (f.fp.length < this.options.fingerprintBytes && size > f.fp.length) {
      f.fp = await takeFingerprint(f.fh, size, this.options.fingerprintBytes);
    }
    return true;
  }

  /**
   * Appends the groups and the checkpoint in one WAL batch (I1), then moves the offsets.
   * Retries what can pass later (disk full, I/O, quota with whenFull 'reject'); ends the loop
   * when the flusher is closed (what was read is re-read at the next start).
   */
  /** The offsets (and files to close) of the append about to be handed over; marks them handed over. */
  #snapshot(): CommitSnapshot {
    const offsets: Array<readonly [TrackedFile, number]> = [];
    const closing: TrackedFile[] = [];
    for (const f of this.#files.values()) {
      if (!f.closing) {
        offsets.push([f, f.next]);
        f.submitted = f.next;
      } else if (!f.closeSubmitted) {
        closing.push(f);
        f.closeSubmitted = true;
      }
    }
    this.#stateDirty = false;
    return { offsets, closing };
  }

  async #commit(groups: LineGroup[], restoring: boolean, records = 0, snapshot = this.#snapshot()): Promise<void> {
    const files: CheckpointEntry[] = [];
    for (const [f, offset] of snapshot.offsets) {
      files.push({ dev: f.id.dev, ino: f.id.ino, path: f.path, offset, fpLen: f.fp.length, fpCrc: f.fp.crc, ...(f.btime > 0 ? { btime: f.btime } : {}) });
    }
    const checkpoint: Checkpoint = { key: this.#key, value: JSON.stringify({ v: FILE_CHECKPOINT_VERSION, files }) };
    // Already encoded (LineGroupBuilder): the flusher stores the bytes as they are.
    const batch = groups;
    for (;;) {
      try {
        await this.#ctx.flusher.appendDurable(batch, [checkpoint]);
        break;
      } catch (err) {
        if (!isRetryable(err) || (this.#stopping && !restoring)) {
          if (isWalshipError(err, ErrorCodes.CLOSED) || isWalshipError(err, ErrorCodes.NOT_OPEN) || this.#stopping) {
            throw new FlusherGone();
          }
          throw err;
        }
        this.#logger.warn({ err }, 'input_file: append failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      }
    }
    // Every flusher has the groups (copied, or held by a record built in place): their buffers
    // may be reused once those records are acknowledged (../model/headroom.ts).
    for (const g of groups) giveBackGroupBuffer(g.payload);
    // Durable: only now do the offsets move (I1).
    this.#counters.appends++;
    this.#counters.logs += records;
    for (const [f, offset] of snapshot.offsets) f.committed = offset;
    for (const f of snapshot.closing) {
      f.committed = f.next;
      this.#files.delete(f.key);
      this.#builder.forget(f.streamKey);
      this.#counters.linesCut += f.splitter.stats().cut;
      await f.fh.close().catch(() => {});
      this.#logger.info({ file: f.path, offset: f.next }, 'input_file: finished a rotated file');
    }
  }

  /** Waits `ms`, or less when woken (a watch hint, stop). */
  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }

  async #closeAll(): Promise<void> {
    this.#watcher?.close();
    this.#watcher = undefined;
    const files = [...this.#files.values()];
    this.#files.clear();
    await Promise.all(files.map((f) => f.fh.close().catch(() => {})));
    this.#resolveDone();
  }
}
