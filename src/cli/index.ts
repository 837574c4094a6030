/**
 * # cli: the `walship` command
 *
 * The entry point is ./main.ts (its top comment lists the commands and the invariants X1–X3:
 * exit codes, stdout for results and stderr for logs, never opening a WAL another process
 * holds). One file per command: ./run-command.ts, ./validate-command.ts, ./receive-command.ts,
 * ./inspect-command.ts, ./dlq-command.ts, ./wal-command.ts, ./demo.ts (its output: ./demo-report.ts); ./wal-access.ts finds
 * WALs and their holder (the admin file written by `run`).
 */
export { CliError, ExitCodes } from './cli-error.ts';
export { fanOut, runCommand, type RunCommandOptions } from './run-command.ts';
export { inspectWals, type InspectedWal, renderInspect } from './inspect-command.ts';
export { findWals, type RunStatus, type WalLocation } from './wal-access.ts';
