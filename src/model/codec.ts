/**
 * Encoding and decoding LogGroups (and LogGroupLists) in the SLS protobuf wire format.
 *
 * Encoding validates first (`validate.ts`): the one checking pass copies the group into the
 * protobufjs field names, and only a group that passed, size included, reaches protobufjs's
 * generated encoder. Decoding uses protobufjs's generated decoder, which rejects a message
 * that lacks a required field, and maps the result to the canonical model shape (see
 * `types.ts`). Strings are UTF-8 on the wire: a lone UTF-16 surrogate is written as U+FFFD
 * (as `TextEncoder` does) and invalid UTF-8 is read as U+FFFD.
 */
import type { WireLog, WireLogGroup, WireLogGroupList } from './schema.ts';
import { LogGroupListType, LogGroupType } from './schema.ts';
import type { Log, LogContent, LogGroup, LogTag } from './types.ts';
import type { LogGroupValidationOptions } from './validate.ts';
import {
  describe,
  invalidLogGroup,
  LOG_GROUP_FIELD,
  LOG_GROUP_LIST_FIELD,
  resolveMaxBytes,
  toWireLogGroup,
} from './validate.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Validates `lg` (see `validateLogGroup`) and encodes it as an `sls_logs.LogGroup`.
 *
 * The result is a Node.js `Buffer`; a small one may be a view into a shared pool, so use its
 * `byteOffset`/`byteLength` if you reach for `.buffer`.
 */
export function encodeLogGroup(lg: LogGroup, options?: LogGroupValidationOptions): Uint8Array {
  const wire = toWireLogGroup(lg, resolveMaxBytes(options), -1);
  return LogGroupType.encode(wire).finish();
}

/**
 * Validates every group (each against `maxBytes` on its own) and encodes them as one
 * `sls_logs.LogGroupList`.
 */
export function encodeLogGroupList(
  lgs: readonly LogGroup[],
  options?: LogGroupValidationOptions,
): Uint8Array {
  const maxBytes = resolveMaxBytes(options);
  if (!Array.isArray(lgs)) {
    throw invalidLogGroup(LOG_GROUP_LIST_FIELD, `expected an array, got ${describe(lgs)}`);
  }
  const groups: WireLogGroup[] = [];
  for (let i = 0; i < lgs.length; i++) groups.push(toWireLogGroup(lgs[i], maxBytes, i));
  const wire: WireLogGroupList = { logGroupList: groups };
  return LogGroupListType.encode(wire).finish();
}

/**
 * Decodes an `sls_logs.LogGroup`. Bytes that do not decode, or decode to a message that lacks
 * a required field, throw `WALSHIP_INVALID_LOG_GROUP` with the protobufjs error as `cause`.
 * The size cap is not applied: it guards what is sent, not what is read back.
 */
export function decodeLogGroup(bytes: Uint8Array): LogGroup {
  const buffer = asBuffer(bytes);
  let wire: WireLogGroup;
  try {
    wire = LogGroupType.decode(buffer) as unknown as WireLogGroup;
  } catch (err) {
    throw undecodable(LOG_GROUP_FIELD, 'sls_logs.LogGroup', bytes, err);
  }
  return fromWireLogGroup(wire);
}

/** Decodes an `sls_logs.LogGroupList` into its groups; errors as for `decodeLogGroup`. */
export function decodeLogGroupList(bytes: Uint8Array): LogGroup[] {
  const buffer = asBuffer(bytes);
  let wire: WireLogGroupList;
  try {
    wire = LogGroupListType.decode(buffer) as unknown as WireLogGroupList;
  } catch (err) {
    throw undecodable(LOG_GROUP_LIST_FIELD, 'sls_logs.LogGroupList', bytes, err);
  }
  const wireGroups = wire.logGroupList;
  const groups: LogGroup[] = [];
  for (let i = 0; i < wireGroups.length; i++) groups.push(fromWireLogGroup(wireGroups[i]!));
  return groups;
}

/**
 * protobufjs reads a `Buffer` with Node's native UTF-8 decoder (fast; invalid UTF-8 becomes
 * U+FFFD) but a plain `Uint8Array` with its own JavaScript decoder, which differs on invalid
 * input. A `Buffer` view over the same memory (no copy) keeps one behaviour for both.
 */
function asBuffer(bytes: unknown): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError(`Expected \`bytes\` to be a Uint8Array, got ${describe(bytes)}`);
}

function undecodable(field: string, type: string, bytes: Uint8Array, cause: unknown) {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return invalidLogGroup(
    field,
    `expected the bytes of an ${type}, got ${bytes.byteLength} bytes that do not decode (${reason})`,
    { cause, details: { byteLength: bytes.byteLength } },
  );
}

/**
 * protobufjs's decoder sets a field as an own property only when it was on the wire (absent
 * ones read the prototype's defaults), and it has already thrown if a required field was
 * missing. Absent optionals are omitted from the result, never set to `undefined`.
 */
function fromWireLogGroup(wire: WireLogGroup): LogGroup {
  const wireLogs = wire.Logs;
  const logs: Log[] = [];
  for (let i = 0; i < wireLogs.length; i++) logs.push(fromWireLog(wireLogs[i]!));
  const wireTags = wire.LogTags;
  const logTags: LogTag[] = [];
  for (let i = 0; i < wireTags.length; i++) {
    const tag = wireTags[i]!;
    logTags.push({ key: tag.Key, value: tag.Value });
  }
  const lg: Mutable<LogGroup> = { logs, logTags };
  if (hasOwn.call(wire, 'Category')) lg.category = wire.Category;
  if (hasOwn.call(wire, 'Topic')) lg.topic = wire.Topic;
  if (hasOwn.call(wire, 'Source')) lg.source = wire.Source;
  if (hasOwn.call(wire, 'MachineUUID')) lg.machineUUID = wire.MachineUUID;
  return lg;
}

function fromWireLog(wire: WireLog): Log {
  const wireContents = wire.Contents;
  const contents: LogContent[] = [];
  for (let i = 0; i < wireContents.length; i++) {
    const content = wireContents[i]!;
    contents.push({ key: content.Key, value: content.Value });
  }
  const log: Mutable<Log> = { time: wire.Time, contents };
  if (hasOwn.call(wire, 'Time_ns')) log.timeNs = wire.Time_ns!;
  return log;
}
