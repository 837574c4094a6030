/** The scenarios beyond kills, by name (each a `walship crashtest` flag). */
import { corruptionScenario } from './scenario-corruption.ts';
import { diskFullScenario } from './scenario-disk-full.ts';
import { fanOutScenario } from './scenario-fan-out.ts';
import type { ScenarioOptions, ScenarioReport } from './scenario-kit.ts';
import { quotaFullScenario } from './scenario-quota-full.ts';
import { secondProcessScenario } from './scenario-second-process.ts';

export type { ScenarioCheck, ScenarioOptions, ScenarioReport } from './scenario-kit.ts';

export const SCENARIOS = ['quota-full', 'disk-full', 'corruption', 'second-process', 'fan-out'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const RUNNERS: Readonly<Record<ScenarioName, (o: ScenarioOptions) => Promise<ScenarioReport>>> = {
  'quota-full': quotaFullScenario,
  'disk-full': diskFullScenario,
  corruption: corruptionScenario,
  'second-process': secondProcessScenario,
  'fan-out': fanOutScenario,
};

export function runScenario(name: ScenarioName, o: ScenarioOptions): Promise<ScenarioReport> {
  return RUNNERS[name](o);
}
