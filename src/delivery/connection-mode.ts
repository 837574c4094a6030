/**
 * Connection modes, after libbeat's `outputs/mode`: how a batch reaches one of several
 * ProtocolClients. The modes own connecting and reconnecting (waitRetry doubling to
 * maxWaitRetry); the delivery manager owns retrying a batch. Where libbeat drops a batch
 * after `maxAttempts`, a walship mode hands it back: it stays in the WAL and is retried.
 */
import { setMaxListeners } from 'node:events';
import {
  DEFAULT_MODE_MAX_ATTEMPTS,
  DEFAULT_MODE_MAX_WAIT_RETRY_MS,
  DEFAULT_MODE_TIMEOUT_MS,
  DEFAULT_MODE_WAIT_RETRY_MS,
} from '../config/defaults.ts';
import { ErrorCodes, WalshipError } from '../errors.ts';
import { defaultLogger, type Logger } from '../logging/logger.ts';
import { positiveInt } from '../wal/options.ts';
import type { DeliveryBatch, DeliveryRecord, ProtocolClient } from './protocol-client.ts';

export type ConnectionModeName = 'single' | 'failover' | 'loadbalance';

export interface EndpointState {
  readonly name: string;
  readonly connected: boolean;
}

export interface ConnectionMode {
  readonly kind: ConnectionModeName;
  /**
   * Publishes a batch through a connected client. Resolves with the records that were not
   * published (empty when all were acknowledged). Rejects with a DeliveryError the delivery
   * manager classifies, or with the signal's reason once aborted.
   */
  publish(batch: DeliveryBatch, signal: AbortSignal): Promise<readonly DeliveryRecord[]>;
  /** Stops workers and closes every client. Idempotent. */
  close(): Promise<void>;
  endpoints(): EndpointState[];
}

/** Options shared by the modes (the seed's `maxAttempts`, `waitRetry`, `timeout`). */
export interface ConnectionModeOptions {
  /**
   * Connect attempts (single, failover) or hosts tried (load balance) within one publish
   * before the batch is handed back to the delivery manager; 0 = keep trying.
   * @defaultValue 0
   */
  readonly maxAttempts?: number;
  /** First reconnect delay (ms). @defaultValue 1000 */
  readonly waitRetryMs?: number;
  /** Reconnect delays double up to this (ms). @defaultValue 60000 */
  readonly maxWaitRetryMs?: number;
  /** Connect timeout (ms). @defaultValue 30000 */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  readonly random?: () => number;
}

export interface ResolvedConnectionModeOptions {
  readonly maxAttempts: number;
  readonly waitRetryMs: number;
  readonly maxWaitRetryMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly random: () => number;
}

export function resolveConnectionModeOptions(options: ConnectionModeOptions = {}): ResolvedConnectionModeOptions {
  const waitRetryMs = positiveInt('waitRetryMs', options.waitRetryMs, DEFAULT_MODE_WAIT_RETRY_MS);
  const maxWaitRetryMs = positiveInt('maxWaitRetryMs', options.maxWaitRetryMs, Math.max(DEFAULT_MODE_MAX_WAIT_RETRY_MS, waitRetryMs));
  if (maxWaitRetryMs < waitRetryMs) {
    throw new WalshipError(
      ErrorCodes.INVALID_OPTIONS,
      `Expected \`maxWaitRetryMs\` (${maxWaitRetryMs}) to be at least \`waitRetryMs\` (${waitRetryMs})`,
    );
  }
  return {
    maxAttempts: positiveInt('maxAttempts', options.maxAttempts, DEFAULT_MODE_MAX_ATTEMPTS, 0),
    waitRetryMs,
    maxWaitRetryMs,
    timeoutMs: positiveInt('timeoutMs', options.timeoutMs, DEFAULT_MODE_TIMEOUT_MS),
    logger: (options.logger ?? defaultLogger()).child({ component: 'delivery' }),
    random: options.random ?? Math.random,
  };
}

/**
 * Makes one client per host (and `workersPerHost` per host for load balancing).
 * @throws WalshipError `WALSHIP_NO_HOSTS` when `hosts` is empty.
 */
export function makeClients<H>(
  hosts: readonly H[],
  factory: (host: H, index: number) => ProtocolClient,
  workersPerHost = 1,
): ProtocolClient[] {
  if (!Array.isArray(hosts) || hosts.length === 0) {
    throw new WalshipError(ErrorCodes.NO_HOSTS, 'no hosts configured: expected at least one host');
  }
  const clients: ProtocolClient[] = [];
  hosts.forEach((host, i) => {
    for (let w = 0; w < workersPerHost; w++) clients.push(factory(host, i * workersPerHost + w));
  });
  return clients;
}

/** @throws WalshipError `WALSHIP_NO_CONNECTION` when a mode is given no client. */
export function requireClients(clients: readonly ProtocolClient[]): void {
  if (!Array.isArray(clients) || clients.length === 0) {
    throw new WalshipError(ErrorCodes.NO_CONNECTION, 'no connection configured: expected at least one client');
  }
}

/** The controller a mode aborts on close; every pending wait listens on it. */
export function closingController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}
