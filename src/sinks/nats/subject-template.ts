/**
 * Subject templates: `logs.{project}.{logstore}` → `logs.web.access` for a record of project
 * `web`, logstore `access`. The template is checked once, when the options are resolved; a
 * placeholder's value is sanitized so that it can never break the subject apart.
 */
import type { RecordMeta } from '../../wal/index.ts';

/** The placeholders a template may use, and where each value comes from. */
export const SUBJECT_PLACEHOLDERS = {
  project: (m: RecordMeta) => m.project,
  logstore: (m: RecordMeta) => m.logstore,
  configName: (m: RecordMeta) => m.configName,
  logstoreKey: (m: RecordMeta) => m.logstoreKey.toString(),
} as const satisfies Record<string, (m: RecordMeta) => string>;

export type SubjectPlaceholder = keyof typeof SUBJECT_PLACEHOLDERS;

/** What replaces each character of a value that would break a subject. */
export const SUBJECT_REPLACEMENT = '_';

/**
 * A placeholder's value as one safe subject token: `.` (the token separator), `*` and `>`
 * (wildcards), whitespace and control characters become `_`; an empty value becomes `_`
 * (an empty token is not a valid subject).
 */
export function sanitizeSubjectToken(value: string): string {
  // \s covers spaces, tabs, CR, LF and the Unicode spaces; \p{Cc} the other control characters.
  const safe = value.replace(/[.*>\s\p{Cc}]/gu, SUBJECT_REPLACEMENT);
  return safe === '' ? SUBJECT_REPLACEMENT : safe;
}

/** True when `subject` is a valid publish subject: non-empty tokens, no wildcards, no whitespace. */
export function isPublishSubject(subject: string): boolean {
  if (subject === '' || /[\s\p{Cc}]/u.test(subject)) return false;
  return subject.split('.').every((t) => t !== '' && t !== '*' && t !== '>' && !t.includes('*') && !t.includes('>'));
}

/** A compiled template: renders a record's subject and derives the stream's subject filter. */
export class SubjectTemplate {
  readonly source: string;
  /** Literal text and placeholders, in order (a placeholder name is never a literal here). */
  readonly #parts: ReadonlyArray<{ literal: string } | { placeholder: SubjectPlaceholder }>;
  readonly #static: boolean;

  private constructor(source: string, parts: ReadonlyArray<{ literal: string } | { placeholder: SubjectPlaceholder }>) {
    this.source = source;
    this.#parts = parts;
    this.#static = parts.every((p) => 'literal' in p);
  }

  /** Parses `source`; on a problem returns `{ error }` describing it (the resolver words the message). */
  static parse(source: string): SubjectTemplate | { error: string } {
    const parts: Array<{ literal: string } | { placeholder: SubjectPlaceholder }> = [];
    const re = /\{([^{}]*)\}/g;
    let last = 0;
    for (let m = re.exec(source); m !== null; m = re.exec(source)) {
      const name = m[1] ?? '';
      if (!Object.hasOwn(SUBJECT_PLACEHOLDERS, name)) {
        return { error: `unknown placeholder {${name}} (known: ${Object.keys(SUBJECT_PLACEHOLDERS).map((k) => `{${k}}`).join(', ')})` };
      }
      if (m.index > last) parts.push({ literal: source.slice(last, m.index) });
      parts.push({ placeholder: name as SubjectPlaceholder });
      last = m.index + m[0].length;
    }
    if (last < source.length) parts.push({ literal: source.slice(last) });
    const literals = parts.map((p) => ('literal' in p ? p.literal : '')).join('');
    if (literals.includes('{') || literals.includes('}')) return { error: 'an unbalanced { or }' };
    const template = new SubjectTemplate(source, parts);
    // Every value renders as a non-empty token without separators, so rendering with `x`
    // for each placeholder is valid exactly when every rendering is.
    if (!isPublishSubject(template.#render(() => 'x'))) {
      return { error: 'not a valid publish subject (empty tokens, wildcards `*` `>` or whitespace)' };
    }
    return template;
  }

  /** The subject of a record: each placeholder's value sanitized ({@link sanitizeSubjectToken}). */
  render(meta: RecordMeta): string {
    if (this.#static) return this.source;
    return this.#render((p) => sanitizeSubjectToken(SUBJECT_PLACEHOLDERS[p](meta)));
  }

  /**
   * The subject filter a stream needs to capture every subject this template renders: each
   * token that holds a placeholder becomes `*` (`logs.{project}.{logstore}` → `logs.*.*`).
   */
  streamSubject(): string {
    const marked = this.#render(() => '\u0000');
    return marked
      .split('.')
      .map((t) => (t.includes('\u0000') ? '*' : t))
      .join('.');
  }

  #render(value: (p: SubjectPlaceholder) => string): string {
    let out = '';
    for (const part of this.#parts) out += 'literal' in part ? part.literal : value(part.placeholder);
    return out;
  }
}
