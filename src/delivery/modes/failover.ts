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
import type { Endpoint as EndpointType } from './endpoint.ts';
import { Endpoint } from './endpoint.ts';
import { connectWithin } from './single.ts';

/**
 * One active host at a time, chosen at random; when it fails (a connect or a retryable
 * publish failure) another one is chosen at random. While none can connect, publishing
 * blocks, paced by each host's reconnect backoff.
 */
export class FailOverConnectionMode implements ConnectionMode {
  readonly kind = 'failover' as const;
  private readonly list: EndpointType[];
  private readonly options: ResolvedConnectionModeOptions;
  private readonly closing = closingController();
  private active: number;
  private closed: Promise<void> | undefined;

  constructor(clients: readonly ProtocolClient[], options: ConnectionModeOptions = {}) {
    requireClients(clients);
    this.options = resolveConnectionModeOptions(options);
    this.list = clients.map((c) => new Endpoint(c, this.options, this.closing.signal));
    this.active = Math.floor(this.options.random() * this.list.length);
  }

  async publish(batch: DeliveryBatch, signal: AbortSignal): Promise<readonly DeliveryRecord[]> {
    const ep = await connectWithin(this.list, this.options.maxAttempts, signal, this.closing.signal, () => this.pick());
    try {
      return await ep.client.publishEvents(batch, signal);
    } catch (err) {
      if (err instanceof DeliveryError && err.kind === 'retryable' && !signal.aborted) this.switchFrom(ep);
      throw err;
    }
  }

  /** The active endpoint; after a failed connect the next pick moves to another host. */
  private pick(): EndpointType {
    const current = this.list[this.active] as EndpointType;
    if (!current.connected() && current.failures > 0) this.switchFrom(current);
    return this.list[this.active] as EndpointType;
  }

  /**
   * Moves to another host at random, among those that never failed or, if all did, to the
   * one whose last failure is oldest: every host gets its turn before one is tried again.
   */
  private switchFrom(ep: EndpointType): void {
    ep.lastFailureAt = performance.now();
    if (this.list.length < 2 || this.list[this.active] !== ep) return;
    const others = this.list.map((_, i) => i).filter((i) => i !== this.active);
    const fresh = others.filter((i) => this.list[i]?.lastFailureAt === undefined);
    let next: number;
    if (fresh.length > 0) {
      next = fresh[Math.floor(this.options.random() * fresh.length)] as number;
    } else {
      next = others.reduce((a, b) =>
        ((this.list[a] as EndpointType).lastFailureAt ?? 0) <= ((this.list[b] as EndpointType).lastFailureAt ?? 0) ? a : b,
      );
    }
    this.active = next;
    this.options.logger.warn({ from: ep.name, to: (this.list[next] as EndpointType).name }, 'failing over');
  }

  endpoints(): EndpointState[] {
    return this.list.map((e) => ({ name: e.name, connected: e.connected() }));
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort(new WalshipError(ErrorCodes.CLOSED, 'the connection mode is closed'));
      await Promise.all(this.list.map((e) => e.client.close()));
    })();
    return this.closed;
  }
}
