/**
 * What Linux says about a process and the machine, from `/proc`: a process's resident memory
 * (`/proc/<pid>/status`: VmRSS, its peak VmHWM, and the anonymous / file-backed split) and
 * the machine's CPU time (`/proc/stat`). Sampling another process from the outside costs it
 * nothing; every reader returns undefined once the process is gone (or off Linux).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Resident memory of a process, in bytes. */
export interface ProcMemory {
  /** Resident set now. */
  readonly rss: number;
  /** Peak resident set since the process started (the kernel's high-water mark). */
  readonly hwm: number;
  /** Anonymous pages (heap, stacks, malloc): what the process really holds. */
  readonly rssAnon: number;
  /** File-backed pages mapped into the process (mmap'd files such as LevelDB tables). */
  readonly rssFile: number;
  readonly rssShmem: number;
}

function parseStatus(text: string): ProcMemory {
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m === null ? Number.NaN : Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile'), rssShmem: kb('RssShmem') };
}

/** `/proc/<pid>/status` memory lines, or undefined when the process is gone. */
export async function procMemory(pid: number | 'self'): Promise<ProcMemory | undefined> {
  try {
    return parseStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The same, synchronously (for a process reporting on itself just before it exits). */
export function procMemorySync(pid: number | 'self'): ProcMemory | undefined {
  try {
    return parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

export interface MemorySample {
  /** ms since the sampler started. */
  readonly t: number;
  readonly rss: number;
  readonly rssAnon: number;
  readonly rssFile: number;
}

export interface MemoryPeaks {
  readonly samples: number;
  readonly peakRss: number;
  readonly peakRssAnon: number;
  readonly peakRssFile: number;
  /** The last VmHWM read (the kernel's own peak, which sampling cannot miss). */
  readonly hwm: number;
  /** Every `keepEvery`-th sample, for the results file. */
  readonly timeline: MemorySample[];
}

/**
 * Samples another process's memory every `intervalMs` from this process (the sampled one
 * does no work for it). `stop()` returns the peaks.
 */
export class MemorySampler {
  private readonly pid: number;
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private readonly timeline: MemorySample[] = [];
  private busy = false;
  private count = 0;
  private peakRss = 0;
  private peakRssAnon = 0;
  private peakRssFile = 0;
  private hwm = 0;
  private readonly keepEvery: number;

  constructor(pid: number, intervalMs = 50, keepEvery = 20) {
    this.pid = pid;
    this.keepEvery = keepEvery;
    this.timer = setInterval(() => void this.sample(), intervalMs);
    void this.sample();
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const m = await procMemory(this.pid);
      if (m === undefined) return;
      this.take(m);
    } finally {
      this.busy = false;
    }
  }

  private take(m: ProcMemory): void {
    // An exiting process (a zombie) has a status file without the memory lines.
    if (!Number.isFinite(m.rss)) return;
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.peakRssAnon = Math.max(this.peakRssAnon, m.rssAnon);
    this.peakRssFile = Math.max(this.peakRssFile, m.rssFile);
    this.hwm = Math.max(this.hwm, m.hwm);
    if (this.count++ % this.keepEvery === 0) {
      this.timeline.push({ t: Math.round(performance.now() - this.started), rss: m.rss, rssAnon: m.rssAnon, rssFile: m.rssFile });
    }
  }

  /** Stops sampling (one last sample first, if the process is still there). */
  stop(): MemoryPeaks {
    clearInterval(this.timer);
    const last = procMemorySync(this.pid);
    if (last !== undefined) this.take(last);
    return {
      samples: this.count,
      peakRss: this.peakRss,
      peakRssAnon: this.peakRssAnon,
      peakRssFile: this.peakRssFile,
      hwm: this.hwm,
      timeline: this.timeline,
    };
  }
}

/** Cumulative CPU time of the whole machine, in clock ticks (`/proc/stat`, first line). */
export interface MachineCpu {
  readonly busy: number;
  readonly total: number;
}

export function machineCpu(): MachineCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Busy share of all cores between two readings (0..1), or undefined. */
export function machineBusy(from: MachineCpu | undefined, to: MachineCpu | undefined): number | undefined {
  if (from === undefined || to === undefined || to.total <= from.total) return undefined;
  return (to.busy - from.busy) / (to.total - from.total);
}

/**
 * CPU time (ms, user + system) of one thread of a process, from
 * `/proc/<pid>/task/<tid>/stat` (the main thread's tid is the pid). Resolution is one clock
 * tick (10 ms); undefined when unavailable.
 */
export function threadCpuMs(pid: number | 'self', tid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * CPU ms of a process's threads, summed by thread name (`comm`): the main thread is
 * `main`, the other threads keep their names (`libuv-worker`, `V8 DefaultWorke` for V8's
 * GC and compiler helpers, `node` for threads that never named themselves, such as
 * LevelDB's compaction thread). Threads that already exited are not counted.
 */
export function threadCpuByName(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let name: string;
    try {
      name = Number(tid) === pid ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const ms = threadCpuMs(pid, Number(tid));
    if (ms !== undefined) out[name] = (out[name] ?? 0) + ms;
  }
  return out;
}

/** USER_HZ: 100 on every mainstream Linux build. */
const CLOCK_TICKS = 100;
