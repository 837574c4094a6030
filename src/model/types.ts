/**
 * The LogGroup data model in idiomatic TypeScript: camelCase names for the fields of the SLS
 * `sls_logs` schema (see `sls_logs.proto`). Every property and array is `readonly`, so a
 * frozen object, an `as const` literal and a plain mutable object are all accepted; objects
 * returned by the decoders are fresh and owned by the caller.
 *
 * Canonical shape (what the decoders return, so `decode(encode(x))` deep-equals `x` when `x`
 * is in this shape): an absent optional field is *omitted* (never present as `undefined`),
 * and `logTags` is always an array, empty when there are no tags.
 */

/** One key/value pair of a log (`sls_logs.Log.Content`). */
export interface LogContent {
  /** `Key = 1`, required. */
  readonly key: string;
  /** `Value = 2`, required. */
  readonly value: string;
}

/** One log record (`sls_logs.Log`). */
export interface Log {
  /** `Time = 1`, required: seconds since the Unix epoch, a uint32 (0..4294967295). */
  readonly time: number;
  /** `Contents = 2`: the key/value pairs, in order; keys may repeat. */
  readonly contents: readonly LogContent[];
  /**
   * `Time_ns = 4` (fixed32), optional: by iLogtail's convention the nanoseconds within
   * `time` (0..999999999); walship only checks that it is a uint32.
   */
  readonly timeNs?: number;
}

/** One group-level tag (`sls_logs.LogTag`), e.g. iLogtail's `__pack_id__`. */
export interface LogTag {
  /** `Key = 1`, required. */
  readonly key: string;
  /** `Value = 2`, required. */
  readonly value: string;
}

/** A batch of logs that share a source and topic (`sls_logs.LogGroup`). */
export interface LogGroup {
  /** `Logs = 1`. */
  readonly logs: readonly Log[];
  /** `Category = 2`, optional. */
  readonly category?: string;
  /** `Topic = 3`, optional. */
  readonly topic?: string;
  /** `Source = 4`, optional. */
  readonly source?: string;
  /** `MachineUUID = 5`, optional. */
  readonly machineUUID?: string;
  /** `LogTags = 6`: always an array (empty when there are no tags). */
  readonly logTags: readonly LogTag[];
}
