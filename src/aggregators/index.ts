/**
 * # aggregators: Logs into LogGroups
 *
 * An aggregator (iLogtail's `pipeline.Aggregator`) packs the logs an input produces into
 * LogGroups for the flusher. The runner calls `add` for every log, `flush` every interval
 * (`init` returns it; 0 = the runner's global default, 3000 ms) and on stop; it never calls
 * them concurrently. Groups that fill up between two flushes go to the
 * `LogGroupQueue` at once (a quick flush), so a burst does not wait for the interval.
 *
 * | name (JSON config) | class | groups by |
 * |---|---|---|
 * | `aggregator_default` | {@link DefaultAggregator} | nothing: one stream |
 * | `aggregator_context` | {@link ContextAggregator} | the log's source and topic |
 *
 * ## Limits (defaults in `src/config/defaults.ts`)
 *
 * A group holds at most `maxLogsPerGroup` logs (1024) and `maxBytesPerGroup` estimated bytes
 * (3 MiB); a stream buffers at most `maxGroups` groups (4), the partial current one included.
 * The context aggregator also caps what all sources hold together (`maxBufferedBytes`, 16 MiB).
 *
 * ## Invariants
 *
 * - **A1** No log is dropped or split. Every log `add` accepted comes out exactly once,
 *   through `queue.add` or `flush()`; within a stream, logs keep their order in and across
 *   groups, and a group leaves only after every older group of its stream (the queue gets
 *   the oldest). Only `reset()` drops (that is what it is for).
 * - **A2** A group has at most `maxLogsPerGroup` logs, and `estimateLogGroupSize(group)` is at
 *   most `maxBytesPerGroup`, tags and `__pack_id__` included, so a flusher that validates
 *   with the same cap accepts it. The one exception: a log whose own estimate passes the cap
 *   goes alone in its group (the cap then says "one log", not "this many bytes").
 * - **A3** A stream never buffers more than `maxGroups` groups: a new one first pushes the
 *   oldest through `queue.add`.
 * - **A4** When the queue refuses (`QueueFullError`, or `WALSHIP_CLOSED`), `add` throws that
 *   error and has not taken the log; the refused group stays buffered and `flush()` returns
 *   it. The caller keeps the log and retries once the queue has room (iLogtail's runner does
 *   the same), or calls `flush()` and hands the groups to the flusher itself. `add` never
 *   waits: it is synchronous, like everything here.
 * - **A5** With `packId` (the default) every group carries `__pack_id__` =
 *   `<prefix>-<seq>`, uppercase hex without padding (`%X-%X`). The default aggregator has one
 *   sequence; the context aggregator one per source. A sequence starts at 1 and advances
 *   only when a group is handed over, so one source's groups are numbered 1, 2, 3… in the
 *   order they were emitted, with no gap (a refused quick flush uses no number; `reset()`
 *   drops groups that had none).
 *
 * The `__pack_id__` prefix is the FNV-1a 64 hash of configName, hostname and start time (and,
 * for the context aggregator, the source), like iLogtail's `NewPackIDPrefix`: a restart gives
 * new prefixes, so a receiver never confuses a restarted sequence with the old one.
 */
export {
  type AggregatorOptions,
  DefaultAggregator,
  type DefaultAggregatorOptions,
  PACK_ID_TAG_KEY,
  packIdPrefix,
  resolveAggregatorOptions,
  type ResolvedAggregatorOptions,
} from './default-aggregator.ts';
export {
  ContextAggregator,
  type ContextAggregatorOptions,
  resolveContextAggregatorOptions,
  type ResolvedContextAggregatorOptions,
} from './context-aggregator.ts';
