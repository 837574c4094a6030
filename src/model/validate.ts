/**
 * Checking a LogGroup before it is encoded, in one pass that also computes the size estimate
 * of `size.ts` and, for the encoder, builds the plain objects protobufjs encodes.
 *
 * Each field of the input is read exactly once and the value that was checked is the value
 * that is encoded: a getter or a concurrent mutation cannot slip an unchecked value past the
 * check. Properties the model does not know are ignored (not encoded).
 *
 * A failure is a `WalshipError` with code `WALSHIP_INVALID_LOG_GROUP`, a message of the form
 * `<field path>: expected <what>, got <what was found>` and `details.field` set to the path:
 * `logs[3].time`, `logs[0].contents[2].value`, `logTags[1].key`, `topic`. The group itself is
 * `logGroup` (and `logGroupList[2]`, `logGroupList[2].logs[0].time` inside a list). Passing an
 * option of the wrong type is a programmer's mistake and a plain `TypeError`.
 */
import { DEFAULT_MAX_LOG_GROUP_BYTES } from '../config/defaults.ts';
import { ErrorCodes, WalshipError } from '../errors.ts';
import type { WireContent, WireLog, WireLogGroup, WireLogTag } from './schema.ts';
import { FIELD_OVERHEAD_BYTES, LOG_OVERHEAD_BYTES } from './size.ts';
import type { LogGroup } from './types.ts';

/** Options of `validateLogGroup`, `encodeLogGroup` and `encodeLogGroupList`. */
export interface LogGroupValidationOptions {
  /**
   * The largest estimated size (`estimateLogGroupSize`) a group may have, in bytes; a
   * positive number (`Infinity` turns the check off).
   * @defaultValue {@link DEFAULT_MAX_LOG_GROUP_BYTES} (3 MiB, iLogtail's cap)
   */
  readonly maxBytes?: number;
}

/** The name of a single group in error messages and `details.field`. */
export const LOG_GROUP_FIELD = 'logGroup';
/** The name of a list of groups in error messages and `details.field`. */
export const LOG_GROUP_LIST_FIELD = 'logGroupList';

const UINT32 = 'a uint32 (0..4294967295)';
const byteLength = Buffer.byteLength;

/**
 * Throws a `WalshipError` (`WALSHIP_INVALID_LOG_GROUP`) unless `lg` is a valid LogGroup whose
 * estimated size is at most `maxBytes`. Safe on any input (`unknown`, parsed JSON, ...).
 */
export function validateLogGroup(
  lg: unknown,
  options?: LogGroupValidationOptions,
): asserts lg is LogGroup {
  checkLogGroup(lg, resolveMaxBytes(options), -1, false);
}

/** Validates `options` and returns the effective `maxBytes`. */
export function resolveMaxBytes(options: LogGroupValidationOptions | undefined): number {
  if (options === undefined) return DEFAULT_MAX_LOG_GROUP_BYTES;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`);
  }
  const maxBytes = options.maxBytes;
  if (maxBytes === undefined) return DEFAULT_MAX_LOG_GROUP_BYTES;
  if (typeof maxBytes !== 'number' || !(maxBytes > 0)) {
    throw new TypeError(
      `Expected \`maxBytes\` to be a positive number, got ${describeNumber(maxBytes)}`,
    );
  }
  return maxBytes;
}

/**
 * Validates `lg` and returns the protobufjs-shaped copy of it that `encodeLogGroup` encodes.
 * `listIndex` is the group's index in a LogGroupList, or -1 for a group on its own.
 * @internal
 */
export function toWireLogGroup(lg: unknown, maxBytes: number, listIndex: number): WireLogGroup {
  return checkLogGroup(lg, maxBytes, listIndex, true)!;
}

/** The error for an invalid group: `details.field` is the full path of the field at fault. */
export function invalidLogGroup(
  field: string,
  message: string,
  options: { readonly cause?: unknown; readonly details?: Readonly<Record<string, unknown>> } = {},
): WalshipError {
  return new WalshipError(ErrorCodes.INVALID_LOG_GROUP, `${field}: ${message}`, {
    cause: options.cause,
    details: { field, ...options.details },
  });
}

/** What was found, for "got …": a type name (`null` and `array` told apart from `object`). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Like `describe`, but shows a number's value and a short string's contents. */
function describeNumber(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') {
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  }
  return describe(value);
}

// ── the one pass ────────────────────────────────────────────────────────────────────────────
// Paths are built only when a check fails, so a valid group costs no string building.

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value >>> 0 === value` holds exactly for the integers 0..2^32-1 (and -0). */
function isUint32(value: unknown): value is number {
  return typeof value === 'number' && value >>> 0 === value;
}

function rootName(listIndex: number): string {
  return listIndex < 0 ? LOG_GROUP_FIELD : `${LOG_GROUP_LIST_FIELD}[${listIndex}]`;
}

function path(listIndex: number, field: string): string {
  return listIndex < 0 ? field : `${rootName(listIndex)}.${field}`;
}

function expected(listIndex: number, field: string, what: string, found: string): WalshipError {
  return invalidLogGroup(path(listIndex, field), `expected ${what}, got ${found}`);
}

function checkLogGroup(
  lg: unknown,
  maxBytes: number,
  listIndex: number,
  build: boolean,
): WireLogGroup | undefined {
  if (!isObject(lg)) {
    throw invalidLogGroup(rootName(listIndex), `expected a LogGroup object, got ${describe(lg)}`);
  }
  const logs = lg.logs;
  if (!Array.isArray(logs)) throw expected(listIndex, 'logs', 'an array', describe(logs));

  let size = 0;
  // Only the encoder needs the copies: plain validation allocates nothing.
  const wireLogs: WireLog[] | undefined = build ? [] : undefined;
  for (let i = 0; i < logs.length; i++) {
    const log: unknown = logs[i];
    if (!isObject(log)) {
      throw expected(listIndex, `logs[${i}]`, 'a Log object', describe(log));
    }
    const time = log.time;
    if (!isUint32(time)) {
      throw expected(listIndex, `logs[${i}].time`, UINT32, describeNumber(time));
    }
    const contents = log.contents;
    if (!Array.isArray(contents)) {
      throw expected(listIndex, `logs[${i}].contents`, 'an array', describe(contents));
    }
    let logSize = LOG_OVERHEAD_BYTES;
    const wireContents: WireContent[] | undefined = build ? [] : undefined;
    for (let j = 0; j < contents.length; j++) {
      const content: unknown = contents[j];
      if (!isObject(content)) {
        throw expected(listIndex, `logs[${i}].contents[${j}]`, 'a LogContent object', describe(content));
      }
      const key = content.key;
      if (typeof key !== 'string') {
        throw expected(listIndex, `logs[${i}].contents[${j}].key`, 'a string', describe(key));
      }
      const value = content.value;
      if (typeof value !== 'string') {
        throw expected(listIndex, `logs[${i}].contents[${j}].value`, 'a string', describe(value));
      }
      logSize += FIELD_OVERHEAD_BYTES + byteLength(key, 'utf8') + byteLength(value, 'utf8');
      if (wireContents !== undefined) {
        wireContents.push({ Key: toUtf8Safe(key), Value: toUtf8Safe(value) });
      }
    }
    const timeNs = log.timeNs;
    if (timeNs !== undefined && !isUint32(timeNs)) {
      throw expected(listIndex, `logs[${i}].timeNs`, `${UINT32} or undefined`, describeNumber(timeNs));
    }
    size += logSize;
    if (wireLogs !== undefined) {
      wireLogs.push({ Time: time, Contents: wireContents!, Time_ns: timeNs });
    }
  }

  const category = optionalString(lg.category, listIndex, 'category');
  if (category !== undefined) size += FIELD_OVERHEAD_BYTES + byteLength(category, 'utf8');
  const topic = optionalString(lg.topic, listIndex, 'topic');
  if (topic !== undefined) size += FIELD_OVERHEAD_BYTES + byteLength(topic, 'utf8');
  const source = optionalString(lg.source, listIndex, 'source');
  if (source !== undefined) size += FIELD_OVERHEAD_BYTES + byteLength(source, 'utf8');
  const machineUUID = optionalString(lg.machineUUID, listIndex, 'machineUUID');
  if (machineUUID !== undefined) size += FIELD_OVERHEAD_BYTES + byteLength(machineUUID, 'utf8');

  const logTags = lg.logTags;
  if (!Array.isArray(logTags)) {
    throw expected(listIndex, 'logTags', 'an array', describe(logTags));
  }
  const wireTags: WireLogTag[] | undefined = build ? [] : undefined;
  for (let i = 0; i < logTags.length; i++) {
    const tag: unknown = logTags[i];
    if (!isObject(tag)) throw expected(listIndex, `logTags[${i}]`, 'a LogTag object', describe(tag));
    const key = tag.key;
    if (typeof key !== 'string') {
      throw expected(listIndex, `logTags[${i}].key`, 'a string', describe(key));
    }
    const value = tag.value;
    if (typeof value !== 'string') {
      throw expected(listIndex, `logTags[${i}].value`, 'a string', describe(value));
    }
    size += FIELD_OVERHEAD_BYTES + byteLength(key, 'utf8') + byteLength(value, 'utf8');
    if (wireTags !== undefined) wireTags.push({ Key: toUtf8Safe(key), Value: toUtf8Safe(value) });
  }

  if (size > maxBytes) {
    throw invalidLogGroup(
      rootName(listIndex),
      `expected an estimated size of at most ${maxBytes} bytes (maxBytes), got ${size} bytes`,
      { details: { estimatedBytes: size, maxBytes } },
    );
  }
  if (wireLogs === undefined) return undefined;
  return {
    Logs: wireLogs,
    Category: category === undefined ? undefined : toUtf8Safe(category),
    Topic: topic === undefined ? undefined : toUtf8Safe(topic),
    Source: source === undefined ? undefined : toUtf8Safe(source),
    MachineUUID: machineUUID === undefined ? undefined : toUtf8Safe(machineUUID),
    LogTags: wireTags!,
  };
}

/** ES2024 string methods, present in Node.js 20; the project's `lib` is ES2023. */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * UTF-8 cannot carry a lone UTF-16 surrogate, and protobufjs would write one as an invalid
 * 3-byte sequence (in strings under 40 code units; longer ones get U+FFFD). Replace it with
 * U+FFFD first, as `TextEncoder` and `Buffer` do, so the wire always holds valid UTF-8. The
 * size estimate already counts such a surrogate as the 3 bytes of U+FFFD. The check is a few
 * nanoseconds for the usual string, which V8 stores as one byte per character.
 */
function toUtf8Safe(value: string): string {
  const s = value as unknown as WellFormedString;
  return s.isWellFormed() ? value : s.toWellFormed();
}

function optionalString(value: unknown, listIndex: number, field: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw expected(listIndex, field, 'a string or undefined', describe(value));
}
