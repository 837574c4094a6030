/**
 * # inputs: where logs come from
 *
 * `createInput(config, ctx)` makes one of:
 *
 * - **`input_stdin`**: one log per line of standard input (`./input-stdin.ts`).
 * - **`input_file`**: tails the files matching a path or a glob, follows appends, survives
 *   rotation by rename and by truncation, joins multiline records, cuts over-long lines
 *   (`./input-file.ts`).
 *
 * (The library input is `flusher.flush(...)` / the pipeline runner; the pino transport is in
 * `src/pino`.) An input reads a chunk, splits it into records (`./line-splitter.ts`), packs
 * them into LogGroups itself (`./group-builder.ts`, aggregator_default's rules), and hands
 * groups **and its checkpoint** to `DurableFlusher.appendDurable`, which writes both in one
 * LevelDB batch:
 *
 * ```
 * file ──read chunk──► LineSplitter ──records──► GroupBuilder ──groups──┐
 *   ▲                                (safe offset)────────checkpoint────┤
 *   └──── offset moves only after ◄──── durable ◄── appendDurable(groups, [checkpoint]) (one batch)
 * ```
 *
 * ## Checkpoint (input_file)
 *
 * One WAL checkpoint key per input: `input_file:<configName>:<absolute pattern>`, value JSON
 * `{"v":1,"files":[{"dev","ino","path","offset","fpLen","fpCrc"}]}`: each open file by
 * identity (device + inode), the path it was last seen at, the offset up to which its lines
 * are in the WAL, and a CRC32C fingerprint of its first `fpLen` bytes (`./file-identity.ts`).
 *
 * ## Invariants
 *
 * - **I1** A checkpoint never runs ahead of the WAL records that carry its lines: the offset
 *   of a file is written in the same atomic LevelDB batch as the records of every line before
 *   it (not yet acknowledged ones included), and the in-memory offset moves only after that
 *   batch is durable. So after a `kill -9` at any instant, a restart neither loses nor re-reads
 *   a line of a file that is still there: each line is in the WAL exactly once.
 * - **I2** The checkpointed offset is the splitter's safe offset: the end of the last line
 *   shipped (or skipped, if empty). A partial last line and a multiline record still being
 *   assembled are past it and are read again after a restart.
 * - **I3** Files are tracked by identity, not by name. **Rename rotation**: the open file is
 *   read to its end through its open descriptor, even after the path leads to a new file
 *   (which is read from its head); it is closed once it has been at its end for
 *   `rotatedCloseMs`. After a restart, a checkpointed file no longer at its path is looked up
 *   by dev+ino in its directory and finished from its offset. **Truncation**: a size below the
 *   read offset, or a head that no longer matches the fingerprint, restarts the file from 0
 *   (logged, counted). A checkpointed inode whose head changed (truncated and rewritten, or
 *   reused by a new file) is read from 0.
 * - **I4** Backpressure: while `flusher.isReady()` is false (the WAL at its quota, until it
 *   drains below the low watermark) no input reads; input_stdin leaves its stream paused.
 *   Nothing is dropped.
 * - **I5** The first start of an input_file (no checkpoint) writes a checkpoint at once; from
 *   then on every file without a checkpoint entry is new and read from its head, so a file
 *   created while walship was down is read whole. `readFromHead: false` (the default) only
 *   decides where files already there at the very first start begin (their end).
 * - **I6** A line longer than `maxLineBytes` is shipped cut to it and counted; it never
 *   blocks the input or makes a group invalid.
 *
 * ## Limits (documented, not bugs)
 *
 * - copytruncate rotation: lines written between the input's last read and the truncation
 *   are in the copy, not in the original; unless the copy also matches the pattern, they are
 *   not read. Prefer rename rotation.
 * - A file truncated and rewritten with the same first bytes up to at least the old offset
 *   is not seen as truncated (the fingerprint covers the first `fingerprintBytes` only).
 * - A file deleted while walship was down is gone: what it held past its checkpoint is lost
 *   (logged). A file rotated away to another directory while walship was down is not found.
 * - input_stdin cannot re-read: lines read but not yet durable when the process dies are
 *   lost (at most one append's worth: reading pauses while an append is in flight).
 */
import { ErrorCodes, WalshipError } from '../errors.ts';
import { FileInput } from './input-file.ts';
import { StdinInput } from './input-stdin.ts';
import type { Input, InputConfig, InputContext } from './options.ts';

export { FileInput, fileCheckpointKey, FILE_CHECKPOINT_VERSION, PATH_TAG_KEY } from './input-file.ts';
export { StdinInput } from './input-stdin.ts';
export { LineSplitter, type LineSplitterOptions, type SplitRecord } from './line-splitter.ts';
export type {
  FileInputConfig,
  Input,
  InputConfig,
  InputContext,
  InputFlusher,
  InputGroupOptions,
  InputStats,
  MultilineOptions,
  StdinInputConfig,
} from './options.ts';
export { resolveFileInputOptions, resolveStdinInputOptions } from './options.ts';

/**
 * Makes an input from its config. Validates the config at once (`WALSHIP_INVALID_OPTIONS`);
 * nothing is read before `start()`.
 */
export function createInput(config: InputConfig, ctx: InputContext): Input {
  if (config === null || typeof config !== 'object') throw new TypeError('Expected the input config to be an object');
  if (ctx === null || typeof ctx !== 'object' || ctx.flusher === undefined) {
    throw new TypeError('Expected the input context to be an object with a `flusher`');
  }
  switch (config.type) {
    case 'input_stdin':
      return new StdinInput(config, ctx);
    case 'input_file':
      return new FileInput(config, ctx);
    default:
      throw new WalshipError(
        ErrorCodes.INVALID_OPTIONS,
        `Expected the input \`type\` to be 'input_stdin' or 'input_file', got ${JSON.stringify((config as { type?: unknown }).type)}`,
      );
  }
}
