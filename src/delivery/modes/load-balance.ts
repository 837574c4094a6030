import { ErrorCodes, WalshipError } from '../../errors.ts';
import {
  closingController,
  type ConnectionMode,
  type ConnectionModeOptions,
  type EndpointState,
  requireClients,
  type ResolvedConnectionModeOptions,
  resolveConnectionModeOptions,
} from '../connection-mode.ts';
import { DeliveryError } from '../delivery-error.ts';
import type { DeliveryBatch, DeliveryRecord, ProtocolClient } from '../protocol-client.ts';
import { Endpoint } from './endpoint.ts';

interface WorkItem {
  readonly batch: DeliveryBatch;
  readonly signal: AbortSignal;
  readonly resolve: (rest: readonly DeliveryRecord[]) => void;
  readonly reject: (err: unknown) => void;
  /** Workers that already failed this item. */
  readonly tried: Set<number>;
  lastError?: DeliveryError;
}

/**
 * Pull-based load balancing (libbeat's LoadBalancerMode): one worker per client takes work
 * from a shared queue, and only while its client is connected, so a faster host takes more
 * work and a host that is down takes none. A batch that fails on a worker is rescheduled to
 * a connected worker that has not tried it yet; when none is left (or after `maxAttempts`
 * workers), it is handed back to the delivery manager. A disconnected worker reconnects in
 * the background, with backoff, and rejoins.
 */
export class LoadBalancerMode implements ConnectionMode {
  readonly kind = 'loadbalance' as const;
  private readonly workers: Endpoint[];
  private readonly options: ResolvedConnectionModeOptions;
  private readonly closing = closingController();
  private queue: WorkItem[] = [];
  private waiting: Array<() => void> = [];
  private readonly loops: Promise<void>[];
  private closed: Promise<void> | undefined;

  constructor(clients: readonly ProtocolClient[], options: ConnectionModeOptions = {}) {
    requireClients(clients);
    this.options = resolveConnectionModeOptions(options);
    this.workers = clients.map((c) => new Endpoint(c, this.options, this.closing.signal));
    this.loops = this.workers.map((_, i) => this.work(i));
  }

  publish(batch: DeliveryBatch, signal: AbortSignal): Promise<readonly DeliveryRecord[]> {
    if (this.closing.signal.aborted) return Promise.reject(this.closing.signal.reason);
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      // The listener is removed when the item settles: the signal outlives every batch, and
      // a listener left behind would keep its batch (and payloads) alive (D4).
      const item: WorkItem = {
        batch,
        signal,
        tried: new Set(),
        resolve: (rest) => {
          signal.removeEventListener('abort', onAbort);
          resolve(rest);
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        const at = this.queue.indexOf(item);
        if (at >= 0) {
          this.queue.splice(at, 1);
          item.reject(signal.reason);
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.enqueue(item, false);
    });
  }

  endpoints(): EndpointState[] {
    return this.workers.map((w) => ({ name: w.name, connected: w.connected() }));
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      const reason = new WalshipError(ErrorCodes.CLOSED, 'the connection mode is closed');
      this.closing.abort(reason);
      for (const item of this.queue.splice(0)) item.reject(reason);
      this.wake();
      await Promise.all(this.loops);
      await Promise.all(this.workers.map((w) => w.client.close()));
    })();
    return this.closed;
  }

  private enqueue(item: WorkItem, front: boolean): void {
    if (front) this.queue.unshift(item);
    else this.queue.push(item);
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w();
  }

  /** The first queued item this worker has not failed yet, or undefined. */
  private takeFor(index: number): WorkItem | undefined {
    const at = this.queue.findIndex((item) => !item.tried.has(index));
    if (at < 0) return undefined;
    return this.queue.splice(at, 1)[0];
  }

  private async work(index: number): Promise<void> {
    const worker = this.workers[index] as Endpoint;
    while (!this.closing.signal.aborted) {
      if (!worker.connected()) {
        // Out of the pool until reconnected: what only this worker had left to try goes back
        // to the manager now (not when another worker next runs out of work, which under
        // steady input is never). With every worker out, queued batches just wait, as in the
        // other modes. tryConnect waits out the backoff on failure.
        if (this.workers.some((w) => w.connected())) this.handBackStranded();
        await worker.tryConnect();
        continue;
      }
      const item = this.takeFor(index);
      if (item === undefined) {
        this.handBackStranded();
        await new Promise<void>((resolve) => this.waiting.push(resolve));
        continue;
      }
      if (item.signal.aborted) {
        item.reject(item.signal.reason);
        continue;
      }
      try {
        item.resolve(await worker.client.publishEvents(item.batch, item.signal));
      } catch (err) {
        this.failed(index, item, err);
      }
    }
  }

  /** Hands back queued items that every connected worker has already failed. */
  private handBackStranded(): void {
    for (const item of [...this.queue]) {
      if (this.workers.some((w, i) => w.connected() && !item.tried.has(i))) continue;
      this.queue.splice(this.queue.indexOf(item), 1);
      item.reject(
        item.lastError ??
          new DeliveryError(`batch ${item.batch.key} failed on every connected host`, { kind: 'retryable', reason: 'all_hosts_failed' }),
      );
    }
  }

  private failed(index: number, item: WorkItem, err: unknown): void {
    if (item.signal.aborted || !(err instanceof DeliveryError) || err.kind !== 'retryable') {
      item.reject(err);
      return;
    }
    item.tried.add(index);
    item.lastError = err;
    const { maxAttempts } = this.options;
    const untried = this.workers.some((w, i) => w.connected() && !item.tried.has(i));
    if (untried && (maxAttempts === 0 || item.tried.size < maxAttempts)) {
      this.options.logger.debug({ batch: item.batch.key, from: this.workers[index]?.name }, 'rescheduling a failed batch');
      this.enqueue(item, true);
    } else {
      item.reject(err);
    }
  }
}
