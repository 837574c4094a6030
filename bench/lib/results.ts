/**
 * The JSON result files under `bench/results/`: every measurement beside what it was
 * measured on (machine, Node, LevelDB binding, the walship commit and whether `src/` had
 * uncommitted changes), so that numbers from different runs can be told apart.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { arch, cpus, freemem, hostname, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

export interface MachineInfo {
  readonly hostname: string;
  readonly platform: string;
  readonly release: string;
  readonly arch: string;
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemBytes: number;
  readonly freeMemBytes: number;
  readonly loadavg: readonly number[];
  readonly node: string;
  readonly v8: string;
  readonly uvThreadpoolSize: string;
  readonly classicLevel: string | undefined;
  readonly git: { readonly commit: string | undefined; readonly srcDirty: boolean | undefined };
}

/** The output of `git <args>` in `root`, or undefined when git fails. */
function git(root: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

const SRC_STATUS = ['status', '--porcelain', '--', 'src'];

/** `git status --porcelain -- src`, a line an entry: what src/ looked like when measured. */
export function srcStatus(root: string): string[] | undefined {
  return git(root, SRC_STATUS)
    ?.split('\n')
    .filter((l) => l !== '');
}

function packageVersion(root: string, name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string })
      .version;
  } catch {
    return undefined;
  }
}

export function machineInfo(root: string): MachineInfo {
  const cpu = cpus();
  const status = git(root, SRC_STATUS)?.trim();
  return {
    hostname: hostname(),
    platform: platform(),
    release: release(),
    arch: arch(),
    cpuModel: cpu[0]?.model ?? 'unknown',
    cpuCount: cpu.length,
    totalMemBytes: totalmem(),
    freeMemBytes: freemem(),
    loadavg: loadavg(),
    node: process.version,
    v8: process.versions.v8,
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    classicLevel: packageVersion(root, 'classic-level'),
    git: { commit: git(root, ['rev-parse', 'HEAD'])?.trim(), srcDirty: status === undefined ? undefined : status.length > 0 },
  };
}

/** Writes `data` as pretty JSON to `file` (creating its folder); returns the path. */
export async function writeResults(file: string, data: unknown): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
