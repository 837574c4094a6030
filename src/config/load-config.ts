import { readFile } from 'node:fs/promises';
import { type ConfigProblem, configError, configProblems } from './config-error.ts';
import type { WalshipConfig } from './config-types.ts';
import { substituteEnv } from './env.ts';
import { type ValidateOptions, validateConfig } from './validate.ts';

export interface LoadConfigOptions extends Omit<ValidateOptions, 'source'> {
  /** Where `${VAR}` references are looked up. @defaultValue process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses a JSON config text, substitutes `${VAR}` references, validates it and returns the
 * resolved config. Every problem (JSON syntax, unset variables, unknown types and fields,
 * wrong types and ranges) is a `WALSHIP_INVALID_CONFIG` error listing them all.
 */
export function parseConfig(text: string, options: LoadConfigOptions & { readonly source?: string } = {}): WalshipConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw configError([{ path: '', expected: 'valid JSON', got: (err as Error).message }], options.source);
  }
  const problems: ConfigProblem[] = [];
  const substituted = substituteEnv(raw, options.env ?? process.env, problems);
  let config: WalshipConfig | undefined;
  try {
    config = validateConfig(substituted, options);
  } catch (err) {
    // Report unset variables together with the schema's problems.
    const more = configProblems(err);
    if (more.length === 0) throw err;
    problems.push(...more);
  }
  if (problems.length > 0 || config === undefined) throw configError(problems, options.source);
  return config;
}

/** Reads and resolves a JSON config file (see {@link parseConfig}). */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<WalshipConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw configError([{ path: '', expected: `a readable file at ${file}`, got: (err as NodeJS.ErrnoException).code ?? (err as Error).message }], file);
  }
  return parseConfig(text, { ...options, source: file });
}
