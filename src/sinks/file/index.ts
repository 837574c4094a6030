/**
 * # sinks/file: appending records to a local NDJSON file
 *
 * One {@link FileClient} (delivery's `ProtocolClient`) appends every log as one line of JSON,
 * the HTTP sink's `ndjson` shape, to `path`, through one `fs.promises` FileHandle opened for
 * appending. Useful as a local archive, for a log shipper that tails files, and in tests.
 *
 * ## Format
 *
 * One line per log: `{"time":…,"timeNs":…,"contents":{…},"tags":{…},"source":…,"topic":…,
 * "category":…,"project":…,"logstore":…}\n` (optional fields only when set; a repeated content
 * key keeps its last value), written straight from the LogGroup bytes by
 * `src/sinks/http/json-transcode.ts`.
 *
 * ## Invariants
 *
 * - **FI1** (D1) A batch is acknowledged only after its lines were written and the file was
 *   `datasync`ed (fdatasync); a newly created file also fsyncs its directory. Concurrent
 *   batches share one write and one `datasync` (group commit).
 * - **FI2** Lines are whole: a failed write is truncated away; a torn last line left by a crash
 *   is ended with a newline before the next append (its records were not acknowledged and are
 *   written again, whole).
 * - **FI3** Rotation (`maxBytes` > 0) happens between writes: `path` → `path.1` → … →
 *   `path.<maxFiles>`, each step an atomic rename, the directory fsynced; no line is lost or
 *   written twice by rotating. Files past `maxFiles` are deleted by design (retention).
 * - **FI4** (D3) ENOTDIR, EISDIR, EINVAL, ENAMETOOLONG, ELOOP are permanent (the records are
 *   dead-lettered with the reason); ENOSPC, EIO, EMFILE and other resource errors retryable;
 *   EACCES and EPERM retryable with `auth: true`, so every attempt logs a warning (./file-errors.ts).
 * - **FI5** At least once, no deduplication: a batch whose write succeeded but whose ack was
 *   lost (a crash between `datasync` and the WAL delete) is written again.
 */
export { createFileClient, FileClient } from './file-client.ts';
export { fileError } from './file-errors.ts';
export { type FileSinkOptions, type ResolvedFileSinkOptions, resolveFileSinkOptions } from './file-sink-options.ts';
export { rotatedPath, rotateFiles } from './rotation.ts';
