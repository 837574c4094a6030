/**
 * The targets a benchmark checks its figures against, and the table that ends its output:
 * each target is a measured figure, a comparison and a goal; it passes, misses, or is n/a
 * when the figure was not measured (or is not a number).
 */
import { fixed, int, printTable } from './table.ts';

export type TargetOp = '>=' | '<=' | '==';

export interface Target {
  readonly name: string;
  readonly measured: number | undefined;
  readonly unit: string;
  readonly op: TargetOp;
  readonly target: number;
  readonly context: string;
  readonly pass: boolean | undefined;
}

/** Whether `measured op goal` holds; undefined when nothing finite was measured. */
export function meets(measured: number | undefined, op: TargetOp, goal: number): boolean | undefined {
  if (measured === undefined || !Number.isFinite(measured)) return undefined;
  return op === '>=' ? measured >= goal : op === '<=' ? measured <= goal : measured === goal;
}

export function target(name: string, measured: number | undefined, op: TargetOp, goal: number, unit: string, context = ''): Target {
  return { name, measured, unit, op, target: goal, context, pass: meets(measured, op, goal) };
}

/** Counts print whole, times and rates with one decimal, ratios and the rest with two. */
function measuredText(t: Target): string {
  if (t.unit === 'logs' || t.unit === 'lines' || t.unit === 'rec/s') return `${int(t.measured)} ${t.unit}`;
  return `${fixed(t.measured, t.unit === 'ms' || t.unit === 'MB/s' ? 1 : 2)} ${t.unit}`;
}

export function printTargets(targets: readonly Target[]): void {
  printTable(
    'Targets',
    ['target', 'measured', 'goal', 'result', 'context'],
    targets.map((t) => [
      t.name,
      measuredText(t),
      `${t.op} ${t.target} ${t.unit}`,
      t.pass === undefined ? 'n/a' : t.pass ? 'PASS' : 'MISS',
      t.context,
    ]),
  );
}
