/**
 * `scheme://user:password@host/…` → `scheme://[redacted]@host/…`, for endpoint names (metrics
 * labels, `/status`): only a URL's real user info is hidden, so that two endpoints stay two
 * series (an `@` in a path, or a name such as `primary@dc1`, is left as it is).
 */
export function redactUrl(s: string): string {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return s.includes('://') ? hideUrlCredentials(s) : s;
  }
  if (url.username === '' && url.password === '') return s;
  return `${url.protocol}//[redacted]@${url.host}${url.pathname}${url.search}${url.hash}`;
}

/**
 * For a value shown in an error, which may not even parse as a URL: everything from the
 * scheme up to the **last** `@` is hidden, so a password holding `/`, `#`, `?` or `@` (common
 * in generated ones) never shows; hiding a little too much is harmless there.
 */
export function hideUrlCredentials(s: string): string {
  const at = s.lastIndexOf('@');
  if (at < 0) return s;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(s);
  const from = scheme !== null && scheme[0].length <= at ? scheme[0].length : 0;
  return `${s.slice(0, from)}[redacted]${s.slice(at)}`;
}
