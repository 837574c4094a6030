/**
 * # model: the LogGroup and its SLS wire format
 *
 * What walship carries end to end is iLogtail's LogGroup: logs (a uint32 time, ordered
 * key/value contents, optional nanoseconds) plus group-level category, topic, source,
 * machine UUID and tags. This module defines it in TypeScript (`types.ts`), encodes and
 * decodes it in the SLS protobuf format (`codec.ts`), checks it (`validate.ts`) and estimates
 * its size the way iLogtail does (`size.ts`).
 *
 * ## Wire format (frozen)
 *
 * proto2, package `sls_logs` (`sls_logs.proto` is the readable reference; `schema.ts` builds
 * the same schema in memory, so nothing is loaded from disk at runtime):
 *
 * ```
 * Log          { required uint32 Time = 1; repeated Content Contents = 2; optional fixed32 Time_ns = 4 }
 * Log.Content  { required string Key = 1; required string Value = 2 }
 * LogTag       { required string Key = 1; required string Value = 2 }
 * LogGroup     { repeated Log Logs = 1; optional string Category = 2; optional string Topic = 3;
 *                optional string Source = 4; optional string MachineUUID = 5; repeated LogTag LogTags = 6 }
 * LogGroupList { repeated LogGroup logGroupList = 1 }
 * ```
 *
 * Model ↔ wire names: `time`↔`Time`, `contents`↔`Contents`, `timeNs`↔`Time_ns`, `key`↔`Key`,
 * `value`↔`Value`, `logs`↔`Logs`, `category`↔`Category`, `topic`↔`Topic`, `source`↔`Source`,
 * `machineUUID`↔`MachineUUID`, `logTags`↔`LogTags`. Fields are written in field-number order,
 * as protobufjs and the reference C++/Go encoders do.
 *
 * ## Invariants
 *
 * - **M1** Bytes from `encodeLogGroup` decode with any protobuf decoder given
 *   `sls_logs.proto`, and bytes from any encoder of that schema decode with `decodeLogGroup`.
 * - **M2** `decodeLogGroup(encodeLogGroup(lg))` deep-equals `lg` for every valid `lg` in the
 *   canonical shape: absent optionals omitted, `logTags` an array. (Strings are UTF-8 on the
 *   wire, so a string holding a lone surrogate comes back with U+FFFD in its place.)
 * - **M3** Nothing is encoded before the whole group has been validated, size included; what
 *   was validated is what is encoded (each input field is read once).
 * - **M4** Every rejection is a `WalshipError` with code `WALSHIP_INVALID_LOG_GROUP`, a
 *   message `<path>: expected <what>, got <found>` and `details.field` = the path
 *   (`logs[3].time`); a decoding failure carries the protobufjs error as `cause`.
 * - **M5** The size cap is checked on iLogtail's estimate (`size.ts`), default 3 MiB; it is
 *   an estimate, not a bound on the encoded byte length.
 *
 * ## Performance
 *
 * On the hot path: one pass validates, estimates and copies the group into protobufjs's field
 * names; protobufjs's generated (codegen'd) encoder writes it. Decoding uses the generated
 * decoder and one mapping pass. Validation alone allocates nothing for a valid group, and
 * field paths are only built for a failure. `bench/model.ts` measures both directions.
 */
export type { Log, LogContent, LogGroup, LogTag } from './types.ts';
export type { LogGroupValidationOptions } from './validate.ts';
export { validateLogGroup } from './validate.ts';
export { estimateLogGroupSize, estimateLogSize } from './size.ts';
export { decodeLogGroup, decodeLogGroupList, encodeLogGroup, encodeLogGroupList } from './codec.ts';
export { SLS_LOGS_PROTO, slsLogsRoot } from './schema.ts';
export { type LogGroupHeader, LogGroupWriter, type LogGroupWriterOptions } from './log-group-writer.ts';
export { giveBackGroupBuffer, giveHeadroom, groupBufferCounts, holdGroupBuffer, takeGroupBuffer, takeHeadroom } from './headroom.ts';
