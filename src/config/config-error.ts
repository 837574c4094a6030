import { ErrorCodes, WalshipError } from '../errors.ts';

/** One thing wrong with a config: where (a JSON path), what was expected, what was found. */
export interface ConfigProblem {
  /** `flushers[0].RemoteURL`; `''` for the document itself. */
  readonly path: string;
  /** `an http(s) URL` */
  readonly expected: string;
  /** `42`, `"abc"`, `an object`, `unknown field "Foo"` */
  readonly got: string;
}

/** `flushers[0].RemoteURL: expected an http(s) URL, got 42` */
export function formatProblem(p: ConfigProblem): string {
  return `${p.path === '' ? '(config)' : p.path}: expected ${p.expected}, got ${p.got}`;
}

/**
 * The `WALSHIP_INVALID_CONFIG` error for a list of problems (all of them, not only the
 * first): the message has one line per problem; `details.problems` has them as objects.
 */
export function configError(problems: readonly ConfigProblem[], source?: string): WalshipError {
  const head = `invalid config${source === undefined ? '' : ` ${source}`}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return new WalshipError(ErrorCodes.INVALID_CONFIG, [head, ...problems.map((p) => `  ${formatProblem(p)}`)].join('\n'), {
    details: { problems: problems.slice(), ...(source === undefined ? {} : { source }) },
  });
}

/** The problems of a `WALSHIP_INVALID_CONFIG` error (empty for any other error). */
export function configProblems(err: unknown): readonly ConfigProblem[] {
  if (!(err instanceof WalshipError) || err.code !== ErrorCodes.INVALID_CONFIG) return [];
  const problems = err.details.problems;
  return Array.isArray(problems) ? (problems as ConfigProblem[]) : [];
}

/** How a found value is shown in a problem: numbers and strings as JSON, containers by kind. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  return String(v);
}
