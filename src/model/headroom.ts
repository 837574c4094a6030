/**
 * Room left in front of a LogGroup's bytes for the WAL's envelope header, so that appending
 * does not copy the group (one ~200 KB Buffer less per group on the input_file path; fewer
 * Buffers means fewer full garbage collections).
 *
 * A {@link LogGroupWriter} made with `headroom` returns each finished group as a view that
 * starts `headroom` bytes into a buffer of its own (never a slice of Node's shared pool), and
 * registers it here. The envelope encoder takes the room **once** ({@link takeHeadroom}): it
 * writes its header into those bytes and keeps the whole as the envelope. A payload appended a
 * second time (another flusher, a retried append) is copied as any other.
 */
const rooms = new WeakMap<Uint8Array, number>();

/** Marks the `bytes` in front of `payload` (in its own buffer) as free for one envelope. */
export function giveHeadroom(payload: Uint8Array, bytes: number): void {
  if (bytes > 0 && payload.byteOffset >= bytes) rooms.set(payload, bytes);
}

/** The free bytes in front of `payload`, at most once (0 when none or already taken). */
export function takeHeadroom(payload: Uint8Array): number {
  const bytes = rooms.get(payload);
  if (bytes === undefined) return 0;
  rooms.delete(payload);
  return bytes;
}
