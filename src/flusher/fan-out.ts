/**
 * One {@link InputFlusher} over several {@link DurableFlusher}s: `walship run` with more than one
 * flusher, each with its own WAL, every log appended to all of them.
 *
 * - **Order.** The first flusher's WAL holds the inputs' checkpoints and is appended to last,
 *   once every other flusher has stored the groups: a crash in between makes the input read the
 *   lines again (duplicates for the others), never skip them.
 * - **Retries.** An input retries a failed append with the same `groups` array. A flusher that
 *   stored that array already is not asked again, so one flusher refusing for a while (its
 *   quota with `whenFull: 'reject'`, a full disk) does not put a copy per retry into the others.
 *   An attempt settles only when every append it started has settled: none outlives it (a
 *   flusher waiting for room would otherwise copy the groups later, after the input gave their
 *   buffers back, ../model/headroom.ts).
 * - **Checkpoints** are read from the first flusher. When it has none for a key (a flusher added
 *   at the head of the list, or the first one renamed: a new, empty WAL), they come from the
 *   next flusher that has one, with a warning: the input then goes on from where that flusher
 *   is, instead of starting over as on a first start (which skips, for every flusher, what was
 *   written while walship was down).
 */
import type { Logger } from '../logging/logger.ts';
import type { InputFlusher } from '../inputs/index.ts';
import type { Checkpoint } from '../wal/index.ts';
import type { DurableFlusher, DurableGroup } from './durable-flusher.ts';

export interface FanOutOptions {
  /** Logs the fallback to another flusher's checkpoint. */
  readonly logger?: Logger;
  /** The flushers' names, for that log line. */
  readonly names?: readonly string[];
}

export function fanOut(flushers: readonly DurableFlusher[], options: FanOutOptions = {}): InputFlusher {
  const [first, ...rest] = flushers;
  if (first === undefined) throw new TypeError('Expected at least one flusher');
  /** Per batch of groups (the same array on every retry), the flushers that stored it. */
  const stored = new WeakMap<readonly DurableGroup[], Set<DurableFlusher>>();
  return {
    isReady: () => flushers.every((f) => f.isReady()),
    async appendDurable(groups: readonly DurableGroup[], checkpoints?: readonly Checkpoint[]) {
      if (rest.length > 0) {
        // A checkpoint-only append (no groups) goes to every flusher each time: it adds no record.
        let done = groups.length === 0 ? undefined : stored.get(groups);
        if (done === undefined && groups.length > 0) stored.set(groups, (done = new Set()));
        const appends = rest
          .filter((f) => !done?.has(f))
          .map(async (f) => {
            await f.appendDurable(groups, checkpoints);
            done?.add(f);
          });
        const results = await Promise.allSettled(appends);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      }
      await first.appendDurable(groups, checkpoints);
    },
    async getCheckpoint(key: string) {
      const own = await first.getCheckpoint(key);
      if (own !== undefined || rest.length === 0) return own;
      for (const [i, f] of rest.entries()) {
        const theirs = await f.getCheckpoint(key);
        if (theirs !== undefined) {
          options.logger?.warn(
            { checkpoint: key, from: options.names?.[i + 1], first: options.names?.[0] },
            'the first flusher has no checkpoint for this input (a new or renamed first flusher): going on from another flusher\'s',
          );
          return theirs;
        }
      }
      return undefined;
    },
  };
}
