import { DurableFlusher, type DurableFlusherOptions } from './durable-flusher.ts';

/**
 * The few-lines entry point: makes a DurableFlusher, opens its WAL and starts delivery.
 *
 * ```ts
 * const flusher = await createFlusher({ dir: './data/wal', sink: { type: 'http', url } });
 * await flusher.flush('project', 'logstore', 'config', [logGroup]); // durable when resolved
 * await flusher.stop();
 * ```
 */
export async function createFlusher(options: DurableFlusherOptions): Promise<DurableFlusher> {
  const flusher = new DurableFlusher(options);
  await flusher.init();
  return flusher;
}
