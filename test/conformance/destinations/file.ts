/**
 * The file sink's destination: an NDJSON file in a temporary directory, read back line by
 * line (rotated files included). No server: nothing to restart; no deduplication.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileClient, rotatedPath } from '../../../src/sinks/file/index.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';
import type { Destination } from '../destination.ts';
import { deliveryRecord, makeGroup } from '../records.ts';

/** Every line of `path` and its rotated files `path.1` … (oldest first), parsed as JSON. */
export function readNdjsonFiles(path: string, maxFiles = 1000): Array<{ contents: Record<string, string> }> {
  const files: string[] = [];
  for (let n = maxFiles; n >= 1; n--) if (existsSync(rotatedPath(path, n))) files.push(rotatedPath(path, n));
  if (existsSync(path)) files.push(path);
  const out: Array<{ contents: Record<string, string> }> = [];
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line !== '') out.push(JSON.parse(line) as { contents: Record<string, string> });
    }
  }
  return out;
}

export function fileDestination(): Destination {
  let dir = '';
  const quiet = captureLogger('error').logger;
  const path = (): string => {
    if (dir === '') throw new Error('the file destination is not started');
    return join(dir, 'out.ndjson');
  };

  return {
    name: 'file',
    dedupes: false,
    async start() {
      dir = mkdtempSync(join(tmpdir(), 'walship-conformance-file-'));
      writeFileSync(join(dir, 'regular'), 'a regular file, not a directory\n');
    },
    async stop() {
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
      dir = '';
    },
    sinkConfig() {
      return { type: 'flusher_file', path: path() };
    },
    async readBack() {
      return readNdjsonFiles(path()).map((log) => ({ seq: log.contents.seq as string }));
    },
    permanentCases() {
      return [
        {
          name: 'a path under a regular file (ENOTDIR)',
          client: () => createFileClient({ path: join(dir, 'regular', 'out.ndjson'), logger: quiet }),
          record: () => deliveryRecord(makeGroup('enotdir', 2), 1),
        },
      ];
    },
  };
}
