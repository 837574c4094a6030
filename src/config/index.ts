/**
 * # config: defaults, units, and the JSON config loader
 *
 * `defaults.ts` holds every default walship uses. The rest turns a JSON file written in
 * iLogtail's plugin style into a typed, fully-resolved {@link WalshipConfig}:
 *
 * ```json
 * { "inputs": [{ "Type": "input_file", "Path": "/var/log/app/*.log" }],
 *   "aggregators": [{ "Type": "aggregator_default" }],
 *   "flushers": [{ "Type": "flusher_http", "RemoteURL": "https://logs.example/ingest",
 *                  "Encoding": "ndjson", "Headers": { "authorization": "Bearer ${LOG_TOKEN}" } }],
 *   "wal": { "Dir": "./data/wal", "MaxBytes": "1GiB", "Sync": "always" } }
 * ```
 *
 * Steps: JSON parse → `${VAR}` substitution in every string (./env.ts) → each section and
 * plugin checked against its field table (./plugins.ts, ./schema.ts) with sizes and
 * durations converted (./units.ts) → cross-field and sink-level checks (./validate.ts).
 *
 * ## Invariants
 *
 * - **C1** Nothing starts on a bad config: every problem is found before any WAL is opened
 *   or any input read, and all of them are reported at once in one `WALSHIP_INVALID_CONFIG`
 *   error whose `details.problems` lists `{path, expected, got}` (the CLI exits 2).
 * - **C2** A problem names the JSON path (`flushers[0].RemoteURL`), what was expected and
 *   what was found. Unknown types, unknown fields (case-sensitive), wrong types, out-of-range
 *   values, bad units and unset `${VAR}`s are all problems; nothing is silently ignored.
 * - **C3** Values of secret fields (passwords, tokens, headers, TLS keys) and of `${VAR}`
 *   references are never echoed in a problem.
 * - **C4** JSON field names map to library options by lowering the first letter
 *   (`Encoding` → `encoding`) unless the table names the option (`RemoteURL` → `url`); one
 *   table per plugin type lists the known fields, so adding a field is one row.
 * - **C5** Relative paths (`wal.Dir`, `input_file.Path`) resolve against the working
 *   directory. Each flusher gets its own WAL in `<wal.Dir>/<Name>`.
 */
export { type ConfigProblem, configError, configProblems, formatProblem } from './config-error.ts';
export type { AggregatorConfig, FlusherConfig, InputConfig, WalshipConfig } from './config-types.ts';
export { substituteEnv } from './env.ts';
export { loadConfig, type LoadConfigOptions, parseConfig } from './load-config.ts';
export {
  AGGREGATOR_TYPES,
  DEFAULT_CLI_LOG_LEVEL,
  FLUSHER_COMMON_FIELDS,
  FLUSHER_TYPES,
  INPUT_TYPES,
  LOG_LEVELS,
  type LogLevel,
} from './plugins.ts';
export { type FieldKind, type FieldSpec, type FieldTable } from './schema.ts';
export { formatBytes, formatDuration, parseDuration, parseSize } from './units.ts';
export { type ValidateOptions, validateConfig } from './validate.ts';
