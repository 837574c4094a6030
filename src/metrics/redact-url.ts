/** `scheme://user:pass@host` → `scheme://[redacted]@host` (endpoint names may carry credentials). */
export function redactUrl(s: string): string {
  return s.replace(/(\w+:\/\/)[^/@\s]*@/g, '$1[redacted]@');
}
