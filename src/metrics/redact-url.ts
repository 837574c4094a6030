/**
 * `scheme://user:password@host…` → `scheme://[redacted]@host…`: endpoint names and URLs in
 * errors may carry credentials. Everything from the scheme up to the **last** `@` is hidden,
 * so a password holding `/`, `#`, `?` or `@` (common in generated ones), or a string that is
 * not a valid URL at all, never shows; hiding a little too much is harmless.
 */
export function redactUrl(s: string): string {
  const at = s.lastIndexOf('@');
  if (at < 0) return s;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(s);
  const from = scheme !== null && scheme[0].length <= at ? scheme[0].length : 0;
  return `${s.slice(0, from)}[redacted]${s.slice(at)}`;
}
