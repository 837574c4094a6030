/**
 * The start of a benchmark's main process: a scratch root removed on exit (also after a
 * failure or Ctrl-C, killing the benchmark's children first), what it runs on, and the header
 * line that says so.
 */
import { GiB } from '../../src/config/defaults.ts';
import { killAllChildren } from './child.ts';
import { type MachineInfo, machineInfo } from './results.ts';
import { fixed } from './table.ts';
import { TempRoot } from './temp.ts';

export interface BenchSessionOptions {
  /** The header reads `walship <name> benchmark`. */
  readonly name: string;
  /** Prefix of the scratch root under the OS temporary folder. */
  readonly tmpPrefix: string;
  readonly quick: boolean;
  /** The repository (for the machine info: commit, state of src/, classic-level). */
  readonly root: string;
  /**
   * What the header says about the code measured: the walship commit (the default), or the
   * classic-level version (the WAL benchmark, which compares walship with raw LevelDB).
   */
  readonly build?: 'commit' | 'classic-level';
  /** Leaves the memory size and the scratch path out of the header (the end-to-end line). */
  readonly brief?: boolean;
}

export interface BenchSession {
  readonly tmp: TempRoot;
  readonly machine: MachineInfo;
  readonly startedAt: Date;
}

/** Creates the scratch root, installs its cleanup, and prints the header line. */
export function startBenchSession(options: BenchSessionOptions): BenchSession {
  const tmp = TempRoot.create(options.tmpPrefix);
  const cleanup = () => {
    killAllChildren();
    tmp.removeSync();
  };
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      process.exit(130);
    });
  }

  const startedAt = new Date();
  const machine = machineInfo(options.root);
  const { git } = machine;
  const fields = [
    `${machine.cpuCount} × ${machine.cpuModel}`,
    options.brief ? undefined : `${fixed(machine.totalMemBytes / GiB, 1)} GiB`,
    `node ${machine.node}`,
    options.build === 'classic-level'
      ? `classic-level ${machine.classicLevel}`
      : `commit ${git.commit?.slice(0, 10)}${git.srcDirty ? ' (src dirty)' : ''}`,
    `load ${machine.loadavg.map((l) => l.toFixed(2)).join(' ')}`,
    options.brief ? undefined : `tmp ${tmp.path}`,
  ];
  console.log(
    `walship ${options.name} benchmark${options.quick ? ' (--quick)' : ''}: ${fields.filter((f) => f !== undefined).join(', ')}`,
  );
  return { tmp, machine, startedAt };
}
