/**
 * Where a `.cpuprofile` (V8's, from `node --cpu-prof`) spent its main thread's time: self
 * time per function and per area of the code, from the samples and their time deltas.
 * Only the main thread is sampled; LevelDB's threads, libuv's pool and V8's helpers are not
 * in it (the e2e bench reports the process's CPU by thread apart).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  /** Of the busy time (sampled, idle left out). */
  readonly share: number;
}

export interface ProfileSummary {
  readonly sampledMs: number;
  readonly idleMs: number;
  readonly functions: readonly SelfTime[];
  readonly areas: readonly SelfTime[];
}

/** The area a frame belongs to: a folder of src/, a dependency, node's internals, or V8's pseudo-frames. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep !== null) return dep[1] as string;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/(?:src|dist)\/([^/]+)\/(?:([^/]+)\/)?[^/]+$/.exec(url);
  if (own !== null) return own[1] === 'sinks' && own[2] !== undefined ? `sinks/${own[2]}` : (own[1] as string);
  return url.replace(/^.*\//, '');
}

function frameName(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\//, '');
  const fn = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return file === '' ? fn : `${fn} ${file}:${frame.lineNumber + 1}`;
}

function ranked(totals: Map<string, number>, busyMs: number, top: number): SelfTime[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }));
}

/** Self time of a profile's functions and areas, the `top` largest of each. */
export function summarizeCpuProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let sampledMs = 0;
  let idleMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number);
    // A sample's time is the delta to the next one; the last sample has none.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (node === undefined || ms <= 0) continue;
    sampledMs += ms;
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const name = frameName(node.callFrame);
    functions.set(name, (functions.get(name) ?? 0) + ms);
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + ms);
  }
  const busyMs = sampledMs - idleMs;
  return { sampledMs, idleMs, functions: ranked(functions, busyMs, top), areas: ranked(areas, busyMs, top) };
}

export function readCpuProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}
