/**
 * What makes a file "the same file" for input_file: its device and inode (which survive a
 * rename), plus a fingerprint of its first bytes (which changes when the file was truncated
 * and rewritten, or when the inode was freed and reused by a new file).
 *
 * The fingerprint is the CRC32C of the first `length` bytes, where `length` is
 * `min(size, fingerprintBytes)` when it was taken. A file that was shorter then is checked on
 * its first `length` bytes only; the fingerprint is retaken (longer) as the file grows, so a
 * young file gets the full check soon.
 */
import { crc32c } from '@node-rs/crc32';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

export interface Fingerprint {
  /** Bytes hashed (0 for an empty file: matches any file). */
  readonly length: number;
  /** CRC32C of those bytes. */
  readonly crc: number;
}

export function identityOf(stats: Pick<Stats, 'dev' | 'ino'>): FileIdentity {
  return { dev: stats.dev, ino: stats.ino };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** `dev:ino`, the key of a file in the input's checkpoint. */
export function identityKey(id: FileIdentity): string {
  return `${id.dev}:${id.ino}`;
}

/** Hashes the first `min(size, maxBytes)` bytes of the open file. */
export async function takeFingerprint(fh: FileHandle, size: number, maxBytes: number): Promise<Fingerprint> {
  const length = Math.min(size, maxBytes);
  if (length <= 0) return { length: 0, crc: 0 };
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, 0);
  return { length: bytesRead, crc: crc32c(buf.subarray(0, bytesRead)) };
}

/**
 * Whether the open file still starts with the bytes `fp` was taken from. False when the file
 * is now shorter than the fingerprint (it was truncated).
 */
export async function matchesFingerprint(fh: FileHandle, fp: Fingerprint): Promise<boolean> {
  if (fp.length === 0) return true;
  const buf = Buffer.alloc(fp.length);
  const { bytesRead } = await fh.read(buf, 0, fp.length, 0);
  return bytesRead === fp.length && crc32c(buf) === fp.crc;
}
