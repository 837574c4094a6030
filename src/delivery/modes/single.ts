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
import type { DeliveryBatch, DeliveryRecord, ProtocolClient } from '../protocol-client.ts';
import { abortable } from '../abortable.ts';
import { Endpoint } from './endpoint.ts';

/**
 * One client. While it is disconnected, publishing blocks and reconnects with backoff (after
 * `maxAttempts` failed connects, 0 = never, the batch is handed back). A publish failure is
 * handed back at once: the delivery manager retries it, and the next publish reconnects if
 * the client lost its connection.
 */
export class SingleConnectionMode implements ConnectionMode {
  readonly kind = 'single' as const;
  private readonly endpoint: Endpoint;
  private readonly options: ResolvedConnectionModeOptions;
  private readonly closing = closingController();
  private closed: Promise<void> | undefined;

  constructor(client: ProtocolClient, options: ConnectionModeOptions = {}) {
    requireClients(client === undefined ? [] : [client]);
    this.options = resolveConnectionModeOptions(options);
    this.endpoint = new Endpoint(client, this.options, this.closing.signal);
  }

  async publish(batch: DeliveryBatch, signal: AbortSignal): Promise<readonly DeliveryRecord[]> {
    await connectWithin([this.endpoint], this.options.maxAttempts, signal, this.closing.signal);
    return this.endpoint.client.publishEvents(batch, signal);
  }

  endpoints(): EndpointState[] {
    return [{ name: this.endpoint.name, connected: this.endpoint.connected() }];
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort(new WalshipError(ErrorCodes.CLOSED, 'the connection mode is closed'));
      await this.endpoint.client.close();
    })();
    return this.closed;
  }
}

/**
 * Waits until `pick()` returns a connected endpoint, trying to connect the one it returns.
 * Gives up (rejecting with the last connect error) after `maxAttempts` failures; 0 = never.
 */
export async function connectWithin(
  endpoints: readonly Endpoint[],
  maxAttempts: number,
  signal: AbortSignal,
  closed: AbortSignal,
  pick: () => Endpoint = () => endpoints[0] as Endpoint,
): Promise<Endpoint> {
  let attempts = 0;
  for (;;) {
    closed.throwIfAborted();
    signal.throwIfAborted();
    const ep = pick();
    if (ep.connected()) return ep;
    const ok = await abortable(ep.tryConnect(), signal);
    if (ok) return ep;
    attempts++;
    if (maxAttempts > 0 && attempts >= maxAttempts && ep.lastError !== undefined) throw ep.lastError;
  }
}
