/**
 * # crashtest: `walship crashtest`, the crash harness
 *
 * Proves on the user's own machine that `walship run` loses nothing when it is killed. It
 * writes an input file of numbered lines (./seq-input.ts: 200 bytes each, ending
 * `seq=NNNNNNNNNN`), ships it with `walship run` as a child process to a receiver inside the
 * harness (./seq-receiver.ts), SIGKILLs the child at random and restarts it, and at the end
 * counts which sequence numbers arrived.
 *
 * | file | what it holds |
 * |---|---|
 * | ./crashtest.ts | `runCrashtest()`: options, defaults, the kill loop then the scenarios, one report |
 * | ./kill-loop.ts | the kill loop: kill moments, receiver restarts and outages, per-life timings |
 * | ./rig.ts | a working directory: input file, receiver, the config `walship run` gets |
 * | ./run-child.ts | one life of `walship run`: its log file, its phase, stop and kill; `/status` |
 * | ./scenario-*.ts | quota full, disk full, corruption, a second process (./scenarios.ts lists them) |
 * | ./render.ts | the text report |
 *
 * ## The kill loop
 *
 * `kills + 1` lives. Before life *n* the input grows to (n − ½)/(kills + 1) of `records`; the
 * rest of its share is written once the life runs (or after it died), so every life has new
 * lines to read. Each life but the last ends one of four ways, drawn from the seeded PRNG
 * (./kill-loop.ts `KILL_KIND_SHARES`): `boot` (SIGKILL 0–600 ms after spawn: loading, config,
 * opening the WAL), `open` (0–20 ms after "flusher started": checkpoint restore, first reads
 * and appends), `run` (0–1.5 s after "walship running": reading, appending, delivering,
 * compacting — the WAL compacts every 1 MiB acknowledged), `stop` (SIGTERM, then SIGKILL 0–60 ms
 * later: urgent appends, last deliveries, the compaction on close). The phase each life was in
 * when it died is read back from its log (./run-child.ts) and reported. The receiver answers a
 * share `failRate` with 503, resets a quarter of that again after reading the body, delays
 * answers 0–20 ms, restarts after 20 % of lives (down 0–300 ms) and is down during 10 % of
 * lives. The last life runs until every sequence number arrived (or `timeoutMs`), stops with
 * SIGTERM, and the WAL is opened and checked against a full scan.
 *
 * ## Invariants
 *
 * - **C1** Replayable: every random choice (kill kinds and moments, receiver faults and
 *   restarts) comes from PRNGs seeded by `seed`, which the report prints. Timing still varies
 *   between machines, so a replay takes the same decisions, not the same instants.
 * - **C2** Lost is exact: the receiver keeps one counter per sequence number (1 … records),
 *   so `lost` is `records` minus the distinct numbers that arrived in a request answered 2xx;
 *   a request the receiver failed or reset counts for nothing.
 * - **C3** Duplicates are counted twice: before deduplication (every 2xx arrival beyond the
 *   first) and after it (only requests whose `x-walship-idempotency-key` was new), which
 *   shows what an idempotent receiver stores.
 * - **C4** Restart-to-first-delivery is measured from the spawn of a life to the first 2xx
 *   request after it (so it includes node's start-up), and from "walship running" too.
 * - **C5** Nothing is mocked: `walship run`, `walship wal repair`, `walship inspect` and
 *   `walship dlq list` run as child processes, exactly as a user runs them; the harness reads
 *   only their logs, their `/status` endpoint and, after they stopped, the WAL.
 * - **C6** The run passes only if the kill loop lost nothing, its WAL counters agree with a full
 *   scan, and every scenario asked for passed or was skipped with its reason (`walship
 *   crashtest` exits 1 otherwise, 2 on bad flags). A passing run's working directory is
 *   removed unless `dir` was given; a failing run's is kept (its logs: `run-<n>.log`).
 * - **C7** The corruption scenario never claims 0 lost unless 0 arrived missing: it passes when
 *   every missing line is inside a quarantined record (named by seq and reason) or among the
 *   records `walship wal repair` could not read back (at most {@link LOGS_PER_GROUP} lines each).
 */
export {
  type CrashtestOptions,
  type CrashtestReport,
  DEFAULT_CRASHTEST_FAIL_RATE,
  DEFAULT_CRASHTEST_KILLS,
  DEFAULT_CRASHTEST_RECORDS,
  DEFAULT_CRASHTEST_TIMEOUT_MS,
  resolveCrashtestOptions,
  runCrashtest,
} from './crashtest.ts';
export { KILL_KIND_SHARES, KILL_KINDS, type KillKind, type KillLoopReport, type LifeReport } from './kill-loop.ts';
export { crashtestConfig, LOGS_PER_GROUP } from './rig.ts';
export { renderReport } from './render.ts';
export { SCENARIOS, type ScenarioName, type ScenarioReport } from './scenarios.ts';
export { LINE_BYTES, seqLine, seqsIn, writeSeqInput } from './seq-input.ts';
export { SeqReceiver, type SeqReceiverOptions, type SeqReceiverStats, startSeqReceiver } from './seq-receiver.ts';
