/**
 * `${VAR}` references in the JSON config's strings, so that secrets stay out of the file.
 * `$${` writes a literal `${`. A reference to an unset variable is a problem naming the JSON
 * path (the value itself is never echoed: it may be meant as a secret).
 */
import type { ConfigProblem } from './config-error.ts';

const REF_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The JSON path of a child: `flushers[0].RemoteURL`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * A copy of `value` with every `${VAR}` in every string replaced by `env[VAR]`. Unset
 * variables (and malformed `${...}` references) are added to `problems`.
 */
export function substituteEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  problems: ConfigProblem[],
  path = '',
): unknown {
  if (typeof value === 'string') return substituteString(value, env, problems, path);
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, problems, childPath(path, i)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, problems, childPath(path, k));
    return out;
  }
  return value;
}

function substituteString(s: string, env: Readonly<Record<string, string | undefined>>, problems: ConfigProblem[], path: string): string {
  if (!s.includes('${')) return s;
  const out = s.replace(REF_RE, (match, name: string | undefined) => {
    if (name === undefined) return '${';
    const v = env[name];
    if (v === undefined) {
      problems.push({ path, expected: `the environment variable ${name} to be set`, got: `\${${name}} unset` });
      return match;
    }
    return v;
  });
  // A `${` left that was neither a reference nor an escape: say so rather than send it on.
  const unescaped = s.replace(REF_RE, '');
  if (unescaped.includes('${')) {
    problems.push({ path, expected: 'a ${NAME} reference with a name of letters, digits and _', got: JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s) });
  }
  return out;
}
