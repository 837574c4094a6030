/**
 * A small hand-written schema for the JSON config: each plugin type lists its fields (JSON
 * name, kind, where it goes in the library's options, default, one line of doc). One checker
 * walks a value against such a table, converts units and collects every problem.
 */
import { hideUrlCredentials } from '../metrics/redact-url.ts';
import { type ConfigProblem, describeValue } from './config-error.ts';
import { childPath } from './env.ts';
import { parseDuration, parseSize } from './units.ts';

export type FieldKind =
  | { readonly kind: 'string'; readonly nonEmpty?: boolean }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'number'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'bool' }
  /** Bytes: a number or a string with a unit (`"1GiB"`). */
  | { readonly kind: 'size'; readonly min?: number; readonly max?: number }
  /** Milliseconds: a number or a string with a unit (`"30s"`). */
  | { readonly kind: 'duration'; readonly min?: number }
  /** A URL whose scheme is one of `schemes` (without the colon). */
  | { readonly kind: 'url'; readonly schemes: readonly string[] }
  /** A JavaScript regular expression source. */
  | { readonly kind: 'regex' }
  | { readonly kind: 'array'; readonly of: FieldKind; readonly minItems?: number }
  /** An object with its own field table (keys mapped like the parent's). */
  | { readonly kind: 'object'; readonly fields: FieldTable }
  /** An object of free keys (kept as written) whose values are all `of`. */
  | { readonly kind: 'map'; readonly of: FieldKind }
  /** A string or an array of strings (PEM bundles). */
  | { readonly kind: 'strings' }
  /** The first of `of` that the value fits. */
  | { readonly kind: 'either'; readonly of: readonly FieldKind[] };

export interface FieldSpec {
  readonly kind: FieldKind;
  /** The library option it becomes. @defaultValue the JSON name with a lower-case first letter */
  readonly option?: string;
  readonly required?: boolean;
  /** Never echo the value in a problem (passwords, tokens). */
  readonly secret?: boolean;
  /** The default, as the README shows it. */
  readonly default?: string;
  readonly doc: string;
}

/** JSON field name → spec. */
export type FieldTable = Readonly<Record<string, FieldSpec>>;

/** `RemoteURL` → `remoteURL`; tables override where the library's name differs. */
export function lowerFirst(name: string): string {
  return name.length === 0 ? name : name[0]?.toLowerCase() + name.slice(1);
}

export function optionName(json: string, spec: FieldSpec): string {
  return spec.option ?? lowerFirst(json);
}

/** What a kind expects, as a problem says it. */
export function expectedOf(k: FieldKind): string {
  switch (k.kind) {
    case 'string':
      return k.nonEmpty ? 'a non-empty string' : 'a string';
    case 'enum':
      return `one of ${k.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'int':
    case 'number': {
      const noun = k.kind === 'int' ? 'an integer' : 'a number';
      if (k.min !== undefined && k.max !== undefined) return `${noun} from ${k.min} to ${k.max}`;
      if (k.min !== undefined) return `${noun} >= ${k.min}`;
      return noun;
    }
    case 'bool':
      return 'true or false';
    case 'size':
      return `a size such as "1GiB", "500MB" or a number of bytes${
        k.max !== undefined ? ` (${k.min ?? 0} to ${k.max})` : k.min === undefined || k.min === 0 ? '' : ` (>= ${k.min})`
      }`;
    case 'duration':
      return `a duration such as "250ms", "30s", "2h" or a number of ms${k.min === undefined || k.min === 0 ? '' : ` (>= ${k.min} ms)`}`;
    case 'url':
      return k.schemes.length === 2 && k.schemes[0] === 'http' && k.schemes[1] === 'https'
        ? 'an http(s) URL'
        : `a URL (${k.schemes.map((s) => `${s}://`).join(', ')})`;
    case 'regex':
      return 'a regular expression';
    case 'array':
      return `an array${k.minItems ? ` of at least ${k.minItems}` : ''} of ${plural(expectedOf(k.of))}`;
    case 'object':
      return 'an object';
    case 'map':
      return `an object of ${plural(expectedOf(k.of))}`;
    case 'strings':
      return 'a string or an array of strings';
    case 'either':
      return k.of.map(expectedOf).join(' or ');
  }
}

function plural(expected: string): string {
  return expected.replace(/^an? /, '').replace(/^(string|integer|number|URL|size|duration)\b/, '$1s').replace(/^http\(s\) URL/, 'http(s) URLs');
}

/**
 * Checks `value` against `kind`; returns the converted value (sizes and durations as numbers,
 * objects with library option names) or undefined after adding problems.
 */
export function checkValue(value: unknown, kind: FieldKind, path: string, problems: ConfigProblem[], secret = false): unknown {
  const bad = (): undefined => {
    const got =
      secret && typeof value === 'string'
        ? 'a string (hidden: secret)'
        : kind.kind === 'url' && typeof value === 'string'
          ? describeValue(hideUrlCredentials(value))
          : describeValue(value);
    problems.push({ path, expected: expectedOf(kind), got });
    return undefined;
  };
  switch (kind.kind) {
    case 'string':
      return typeof value === 'string' && (!kind.nonEmpty || value !== '') ? value : bad();
    case 'enum':
      return typeof value === 'string' && kind.values.includes(value) ? value : bad();
    case 'int':
    case 'number': {
      const ok =
        typeof value === 'number' &&
        (kind.kind === 'int' ? Number.isSafeInteger(value) : Number.isFinite(value)) &&
        (kind.min === undefined || value >= kind.min) &&
        (kind.max === undefined || value <= kind.max);
      return ok ? value : bad();
    }
    case 'bool':
      return typeof value === 'boolean' ? value : bad();
    case 'size': {
      const n = parseSize(value);
      return n !== undefined && n >= (kind.min ?? 0) && n <= (kind.max ?? Number.MAX_SAFE_INTEGER) ? n : bad();
    }
    case 'duration': {
      const n = parseDuration(value);
      return n !== undefined && n >= (kind.min ?? 0) ? n : bad();
    }
    case 'url': {
      if (typeof value !== 'string') return bad();
      try {
        const u = new URL(value);
        return kind.schemes.includes(u.protocol.slice(0, -1)) ? value : bad();
      } catch {
        return bad();
      }
    }
    case 'regex': {
      if (typeof value !== 'string') return bad();
      try {
        new RegExp(value);
        return value;
      } catch (err) {
        problems.push({ path, expected: 'a valid regular expression', got: `${describeValue(value)} (${(err as Error).message})` });
        return undefined;
      }
    }
    case 'strings':
      return typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string')) ? value : bad();
    case 'array': {
      if (!Array.isArray(value) || value.length < (kind.minItems ?? 0)) return bad();
      const before = problems.length;
      const out = value.map((v, i) => checkValue(v, kind.of, childPath(path, i), problems, secret));
      return problems.length === before ? out : undefined;
    }
    case 'map': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad();
      const before = problems.length;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = checkValue(v, kind.of, childPath(path, k), problems, secret);
      return problems.length === before ? out : undefined;
    }
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad();
      return checkFields(value as Record<string, unknown>, kind.fields, path, problems);
    }
    case 'either': {
      let best: ConfigProblem[] | undefined;
      for (const k of kind.of) {
        const tried: ConfigProblem[] = [];
        const v = checkValue(value, k, path, tried, secret);
        if (tried.length === 0) return v;
        // An object that is an object but has bad fields: its own problems say more.
        if (best === undefined || (k.kind === 'object' && value !== null && typeof value === 'object' && !Array.isArray(value))) best = tried;
      }
      const own = best?.some((p) => p.path !== path);
      if (own && best !== undefined) problems.push(...best);
      else bad();
      return undefined;
    }
  }
}

/**
 * Checks an object against a field table: unknown fields, missing required fields, and each
 * field's kind. Returns the object with library option names and converted values (absent
 * fields stay absent) — also when there were problems, so later checks can go on.
 */
export function checkFields(
  obj: Readonly<Record<string, unknown>>,
  fields: FieldTable,
  path: string,
  problems: ConfigProblem[],
  skip: readonly string[] = [],
  /** The fields an "unknown field" problem lists. @defaultValue the keys of `fields` */
  known: readonly string[] = Object.keys(fields),
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (skip.includes(key)) continue;
    const spec = fields[key];
    if (spec === undefined) {
      const near = known.find((f) => f.toLowerCase() === key.toLowerCase());
      problems.push({
        path: childPath(path, key),
        expected: near === undefined ? `one of the fields ${known.filter((f) => !skip.includes(f)).join(', ') || '(none)'}` : `the field ${near} (names are case-sensitive)`,
        got: `unknown field ${JSON.stringify(key)}`,
      });
      continue;
    }
    const v = checkValue(value, spec.kind, childPath(path, key), problems, spec.secret);
    if (v !== undefined) out[optionName(key, spec)] = v;
  }
  for (const [key, spec] of Object.entries(fields)) {
    if (spec.required && !(key in obj)) {
      problems.push({ path: childPath(path, key), expected: expectedOf(spec.kind), got: 'nothing (the field is required)' });
    }
  }
  return out;
}
