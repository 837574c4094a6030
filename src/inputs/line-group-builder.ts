/**
 * {@link GroupBuilder}'s packing for inputs that ship text lines, written straight into
 * LogGroup protobuf bytes (`LogGroupWriter`) instead of `Log` objects that the flusher would
 * then validate and encode: the hot path of input_file. Same rules, same bytes: one stream
 * per source, at most `maxLogsPerGroup` logs and `maxBytesPerGroup` estimated bytes (iLogtail's
 * estimate, counted as GroupBuffer counts it: topic, tags and the `__pack_id__` reserve, then
 * each log), each group tagged with its source's tags then `__pack_id__`, whose sequence runs
 * on across rounds; a group is `encodeLogGroup` of the LogGroup GroupBuilder would have made.
 *
 * A finished group is a {@link LineGroup}: its bytes, its log count, and (for code that wants
 * the objects, such as a test's watching flusher) a `logGroup` decoded on demand.
 */
import { hostname } from 'node:os';
import { PackIdSequence, packIdPrefix, type ResolvedAggregatorOptions } from '../aggregators/default-aggregator.ts';
import { decodeLogGroup, type LogGroup, LogGroupWriter, type LogTag } from '../model/index.ts';
import { FIELD_OVERHEAD_BYTES, LOG_OVERHEAD_BYTES } from '../model/size.ts';
import { envelopePrefixBytes } from '../wal/envelope.ts';

/** One finished group: what `DurableFlusher.appendDurable` takes, already encoded. */
export class LineGroup {
  readonly project: string;
  readonly logstore: string;
  readonly configName: string;
  /** The LogGroup's protobuf bytes (appended to the WAL as they are). */
  readonly payload: Buffer;
  readonly logs: number;

  constructor(project: string, logstore: string, configName: string, payload: Buffer, logs: number) {
    this.project = project;
    this.logstore = logstore;
    this.configName = configName;
    this.payload = payload;
    this.logs = logs;
  }

  /** The group as objects, decoded from {@link payload} on each access (not on the hot path). */
  get logGroup(): LogGroup {
    return decodeLogGroup(this.payload);
  }
}

interface Stream {
  readonly writer: LogGroupWriter;
  readonly tags: readonly LogTag[];
  readonly pack: PackIdSequence | undefined;
  /** Estimated bytes of an empty group: topic, tags, the pack id's reserve. */
  readonly overhead: number;
}

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

export class LineGroupBuilder {
  readonly #limits: ResolvedAggregatorOptions;
  readonly #configName: string;
  readonly #startTime = Date.now();
  readonly #project: string;
  readonly #logstore: string;
  readonly #streams = new Map<string, Stream>();
  #out: LineGroup[] = [];
  readonly #keyBytes = new Map<string, number>();
  readonly #headroom: number;

  constructor(limits: ResolvedAggregatorOptions, ctx: { readonly configName: string; readonly project: string; readonly logstore: string }) {
    this.#limits = limits;
    this.#configName = ctx.configName;
    this.#project = ctx.project;
    this.#logstore = ctx.logstore;
    this.#headroom = envelopePrefixBytes(ctx.project, ctx.logstore, ctx.configName);
  }

  /**
   * Adds one line as a log of one content (`key` = `text`), `time` now (seconds, and the
   * milliseconds as `Time_ns` unless 0), to the stream `source` (created with `tags`).
   */
  addLine(key: string, text: string, nowMs: number, source = '', tags: readonly LogTag[] = []): void {
    const w = this.#makeRoom(key, byteLength(text), source, tags);
    const seconds = Math.floor(nowMs / 1000);
    const ns = (nowMs % 1000) * 1_000_000;
    w.addTextLog(seconds, key, text, ns === 0 ? undefined : ns);
  }

  /**
   * {@link addLine} for a line given as `buf[start, end)`, bytes that are valid UTF-8 (a
   * LineSplitter sink's): the same log, with no string between.
   */
  addUtf8Line(key: string, buf: Buffer, start: number, end: number, nowMs: number, source = '', tags: readonly LogTag[] = []): void {
    const w = this.#makeRoom(key, end - start, source, tags);
    const seconds = Math.floor(nowMs / 1000);
    const ns = (nowMs % 1000) * 1_000_000;
    w.addUtf8Log(seconds, key, buf, start, end, ns === 0 ? undefined : ns);
  }

  /** The writer of `source`'s stream, its group finished first when a log of this size would not fit. */
  #makeRoom(key: string, valueBytes: number, source: string, tags: readonly LogTag[]): LogGroupWriter {
    let stream = this.#streams.get(source);
    if (stream === undefined) {
      const pack = this.#limits.packId
        ? new PackIdSequence(packIdPrefix(this.#configName, this.#limits.hostname ?? hostname(), this.#startTime, source))
        : undefined;
      let overhead = (this.#limits.topic === undefined ? 0 : FIELD_OVERHEAD_BYTES + byteLength(this.#limits.topic)) + (pack?.reserveBytes ?? 0);
      for (const t of tags) overhead += FIELD_OVERHEAD_BYTES + byteLength(t.key) + byteLength(t.value);
      // Room for the WAL's envelope header in front of each group: appended without a copy.
      stream = { writer: new LogGroupWriter({ headroom: this.#headroom }), tags, pack, overhead };
      this.#streams.set(source, stream);
    }
    let keyBytes = this.#keyBytes.get(key);
    if (keyBytes === undefined) {
      keyBytes = byteLength(key);
      this.#keyBytes.set(key, keyBytes);
    }
    const size = LOG_OVERHEAD_BYTES + FIELD_OVERHEAD_BYTES + keyBytes + valueBytes;
    const w = stream.writer;
    // GroupBuffer.needsNewGroup: a full group (logs or estimated bytes) is finished first; an
    // empty group takes any log.
    if (w.logs > 0 && (w.logs >= this.#limits.maxLogsPerGroup || stream.overhead + w.estimatedBytes + size > this.#limits.maxBytesPerGroup)) {
      this.#finish(stream);
    }
    return w;
  }

  /** Every group of the round (full ones in the order they filled, then each stream's last); empties the builder. */
  build(): LineGroup[] {
    for (const stream of this.#streams.values()) if (stream.writer.logs > 0) this.#finish(stream);
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /**
   * Forgets a stream (a file closed, or seen under a new name); its pack-id sequence ends. Its
   * unfinished group is finished first and goes out with the next {@link build}: the lines in
   * it are already behind the file's read offset, so dropping them would lose them.
   */
  forget(source: string): void {
    const stream = this.#streams.get(source);
    if (stream === undefined) return;
    if (stream.writer.logs > 0) this.#finish(stream);
    this.#streams.delete(source);
  }

  #finish(stream: Stream): void {
    const logTags = stream.pack === undefined ? stream.tags : [...stream.tags, stream.pack.tag(stream.pack.next++)];
    const logs = stream.writer.logs;
    const header = this.#limits.topic === undefined ? { logTags } : { topic: this.#limits.topic, logTags };
    this.#out.push(new LineGroup(this.#project, this.#logstore, this.#configName, stream.writer.finish(header), logs));
  }
}
