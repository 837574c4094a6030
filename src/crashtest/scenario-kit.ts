/**
 * What every scenario shares: its report (a list of named checks, each passed or not, with
 * what was seen), and waiting for the receiver to have everything.
 */
import type { RunChild } from './run-child.ts';
import { runStatus, sleep } from './run-child.ts';
import type { Rig } from './rig.ts';

export interface ScenarioCheck {
  readonly what: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface ScenarioReport {
  readonly name: string;
  /** Every check held (false when skipped). */
  readonly passed: boolean;
  /** Why the scenario could not run here (e.g. not root for a mount). */
  readonly skipped?: string;
  readonly durationMs: number;
  readonly records: number;
  /** Sequence numbers that never reached the receiver. */
  readonly lost: number;
  readonly lostSample: readonly number[];
  readonly duplicatesBeforeDedup: number;
  readonly duplicatesAfterDedup: number;
  readonly checks: readonly ScenarioCheck[];
  /** Scenario-specific findings (what was corrupted, which error codes were logged, …). */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface ScenarioOptions {
  readonly dir: string;
  readonly command: readonly string[];
  readonly records: number;
  readonly seed: number;
  readonly timeoutMs: number;
  readonly onProgress: (line: string) => void;
}

/** Collects checks and details, and turns them into a {@link ScenarioReport}. */
export class ScenarioLog {
  readonly checks: ScenarioCheck[] = [];
  readonly details: Record<string, unknown> = {};
  readonly #started = performance.now();
  constructor(
    readonly name: string,
    private readonly progress: (line: string) => void,
  ) {}

  check(what: string, ok: boolean, detail?: string): boolean {
    this.checks.push(detail === undefined ? { what, ok } : { what, ok, detail });
    this.progress(`${ok ? 'ok' : 'FAILED'}: ${what}${detail === undefined ? '' : ` (${detail})`}`);
    return ok;
  }

  note(line: string): void {
    this.progress(line);
  }

  report(rig: Rig | undefined, extra: { lost?: number; skipped?: string } = {}): ScenarioReport {
    const s = rig?.receiver.stats();
    const lost = extra.lost ?? (rig === undefined || s === undefined ? 0 : rig.records - s.unique);
    return {
      name: this.name,
      passed: extra.skipped === undefined && this.checks.length > 0 && this.checks.every((c) => c.ok),
      ...(extra.skipped === undefined ? {} : { skipped: extra.skipped }),
      durationMs: Math.round(performance.now() - this.#started),
      records: rig?.records ?? 0,
      lost,
      lostSample: rig?.receiver.missing(10) ?? [],
      duplicatesBeforeDedup: s?.duplicatesBeforeDedup ?? 0,
      duplicatesAfterDedup: s?.duplicatesAfterDedup ?? 0,
      checks: this.checks,
      details: this.details,
    };
  }
}

/** Waits until the receiver counted `count` distinct sequence numbers (or the life ended / time ran out). */
export function receivedAll(rig: Rig, life: RunChild, timeoutMs: number, count = rig.records): Promise<boolean> {
  return life.until(() => rig.receiver.stats().unique >= count, timeoutMs);
}

/**
 * Polls the running life's `/status` until `test` holds for it; resolves with the last status
 * seen and whether it held.
 */
export async function statusUntil(
  rig: Rig,
  life: RunChild,
  test: (s: NonNullable<Awaited<ReturnType<typeof runStatus>>>) => boolean,
  timeoutMs: number,
): Promise<{ ok: boolean; status: Awaited<ReturnType<typeof runStatus>> }> {
  const deadline = performance.now() + timeoutMs;
  let status: Awaited<ReturnType<typeof runStatus>>;
  for (;;) {
    status = life.alive ? await runStatus(rig.walRoot) : undefined;
    if (status !== undefined && status.pid === life.pid && test(status)) return { ok: true, status };
    if (!life.alive || performance.now() > deadline) return { ok: false, status };
    await sleep(50);
  }
}

export function describeExit(life: RunChild): string {
  const e = life.exit;
  return e === undefined ? 'still running' : e.signal !== null ? `killed by ${e.signal}` : `exit code ${e.code}`;
}
