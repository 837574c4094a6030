/**
 * The `sls_logs` schema, built in memory at import time so that nothing is read from disk at
 * runtime. The text below is the schema of `sls_logs.proto` (the human-readable reference,
 * which is never loaded); `test/model/log-group.test.ts` parses that file independently and
 * checks that both encode a sample group to identical bytes, and that each decodes the other.
 *
 * Field names are kept exactly as in the reference (`keepCase`): the `Wire*` shapes below are
 * what protobufjs's generated encoders read and its decoders produce. `codec.ts` maps them
 * to and from the camelCase model in `types.ts`.
 */
import protobuf from 'protobufjs';

/** The proto2 source of the schema; keep it identical to `sls_logs.proto`. */
export const SLS_LOGS_PROTO = `
syntax = "proto2";
package sls_logs;

message Log {
  message Content {
    required string Key = 1;
    required string Value = 2;
  }
  required uint32 Time = 1;
  repeated Content Contents = 2;
  optional fixed32 Time_ns = 4;
}

message LogTag {
  required string Key = 1;
  required string Value = 2;
}

message LogGroup {
  repeated Log Logs = 1;
  optional string Category = 2;
  optional string Topic = 3;
  optional string Source = 4;
  optional string MachineUUID = 5;
  repeated LogTag LogTags = 6;
}

message LogGroupList {
  repeated LogGroup logGroupList = 1;
}
`;

/** The resolved `sls_logs` root (types `sls_logs.Log`, `.LogTag`, `.LogGroup`, `.LogGroupList`). */
export const slsLogsRoot: protobuf.Root = protobuf.parse(SLS_LOGS_PROTO, new protobuf.Root(), {
  keepCase: true,
}).root;
// Resolve every type reference now: a mistake in the text above fails at import, not on the
// first encode.
slsLogsRoot.resolveAll();

export const LogGroupType: protobuf.Type = slsLogsRoot.lookupType('sls_logs.LogGroup');
export const LogGroupListType: protobuf.Type = slsLogsRoot.lookupType('sls_logs.LogGroupList');

// The shapes protobufjs reads when encoding. Optional fields may hold `undefined`: the
// generated encoder writes a field only when it is an own property that is not null or
// undefined, so objects can keep one hidden class whether or not the field is set.

export interface WireContent {
  Key: string;
  Value: string;
}

export interface WireLog {
  Time: number;
  Contents: WireContent[];
  Time_ns: number | undefined;
}

export interface WireLogTag {
  Key: string;
  Value: string;
}

export interface WireLogGroup {
  Logs: WireLog[];
  Category: string | undefined;
  Topic: string | undefined;
  Source: string | undefined;
  MachineUUID: string | undefined;
  LogTags: WireLogTag[];
}

export interface WireLogGroupList {
  logGroupList: WireLogGroup[];
}
