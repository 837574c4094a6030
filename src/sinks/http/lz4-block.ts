/**
 * SLS's `lz4` compression: a raw LZ4 *block* (no frame header, no checksum, no size prefix);
 * the uncompressed length travels beside it in the `x-log-bodyrawsize` header.
 *
 * lz4-napi (lz4_flex underneath) frames its block with a 4-byte little-endian uncompressed
 * length (`compress_prepend_size`), so compressing strips those 4 bytes and decompressing puts
 * them back from the known raw size. What is left is the standard block format any LZ4
 * implementation reads (`LZ4_decompress_safe`), which `test/sinks/http` checks with an
 * independent decoder.
 */
import { createRequire } from 'node:module';

/** The native addon, loaded on first use (a process that sends no lz4 never loads it). */
let addon: typeof import('lz4-napi') | undefined;
function lz4(): typeof import('lz4-napi') {
  addon ??= createRequire(import.meta.url)('lz4-napi') as typeof import('lz4-napi');
  return addon;
}

const SIZE_PREFIX_BYTES = 4;

/** Compresses `data` into a raw LZ4 block. */
export async function lz4BlockCompress(data: Uint8Array): Promise<Buffer> {
  const framed = await lz4().compress(data);
  // Order matters: the prefix is the raw length lz4-napi wrote; what follows is the block.
  return framed.subarray(SIZE_PREFIX_BYTES);
}

/** {@link lz4BlockCompress} on the calling thread. */
export function lz4BlockCompressSync(data: Buffer): Buffer {
  return lz4().compressSync(data).subarray(SIZE_PREFIX_BYTES);
}

/**
 * Decompresses a raw LZ4 block whose uncompressed length is `rawSize`. Throws when the block
 * is damaged or does not decompress to exactly `rawSize` bytes.
 */
export function lz4BlockDecompress(block: Uint8Array, rawSize: number): Buffer {
  if (!Number.isSafeInteger(rawSize) || rawSize < 0 || rawSize > 0xffffffff) {
    throw new RangeError(`Expected the raw size to be a uint32, got ${rawSize}`);
  }
  const framed = Buffer.allocUnsafe(SIZE_PREFIX_BYTES + block.byteLength);
  framed.writeUInt32LE(rawSize, 0);
  framed.set(block, SIZE_PREFIX_BYTES);
  const out = lz4().uncompressSync(framed);
  if (out.length !== rawSize) {
    throw new RangeError(`LZ4 block decompressed to ${out.length} bytes, expected ${rawSize}`);
  }
  return out;
}
