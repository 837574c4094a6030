/**
 * # sinks/stdout: writing records to standard output
 *
 * iLogtail's `flusher_stdout`: a {@link StdoutClient} (delivery's `ProtocolClient`) writes each
 * log as one line to `process.stdout` (or `process.stderr`, or an injected Writable), as JSON
 * (`format: 'json'`, one object per line in the HTTP sink's `ndjson` shape) or as a
 * human-readable line (`'text'`, ./text-format.ts). For debugging a pipeline, for containers
 * whose runtime collects stdout, and for piping walship into another program.
 *
 * ## Invariants
 *
 * - **S1** (D1) A batch is acknowledged once the stream took it (the write callback) and, if
 *   the write filled the stream's buffer, once it drained: a slow reader holds records in the
 *   WAL, not in memory.
 * - **S2** A batch is written as one chunk of whole lines; batches never interleave.
 * - **S3** (D3) An undecodable record is permanent; a broken or closed stream is retryable
 *   (`EPIPE`, `stream_closed`), and its `'error'` event never crashes the process.
 * - **S4** At least once, no deduplication: lines acknowledged just before a crash whose ack
 *   did not reach the WAL are written again after the restart.
 */
export { createStdoutClient, StdoutClient } from './stdout-client.ts';
export { resolveStdoutSinkOptions, type ResolvedStdoutSinkOptions, type StdoutFormat, type StdoutSinkOptions } from './stdout-sink-options.ts';
export { formatTime, recordToTextLines } from './text-format.ts';
