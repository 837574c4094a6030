/**
 * The checks every sink's `resolve…Options()` shares: a coded error for a bad option, a short
 * description of the value found, and integer ranges. Messages read "Expected `x` to be …,
 * got …" (STYLE.md).
 */
import { ErrorCodes, WalshipError } from '../errors.ts';

export function invalidOption(message: string): WalshipError {
  return new WalshipError(ErrorCodes.INVALID_OPTIONS, message);
}

/** How a message shows a value: strings quoted, objects and arrays by kind (no secrets echoed). */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : String(v);
}

/** `v` as an integer in [min, max], `fallback` when undefined. */
export function integerOption(name: string, v: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw invalidOption(`Expected \`${name}\` to be an integer ${range}, got ${describeValue(v)}`);
  }
  return v;
}
