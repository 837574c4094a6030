import type { Logger } from '../../logging/logger.ts';
import { Backoff, sleep } from '../backoff.ts';
import type { ResolvedConnectionModeOptions } from '../connection-mode.ts';
import { type DeliveryError, networkFailure } from '../delivery-error.ts';
import type { ProtocolClient } from '../protocol-client.ts';

/**
 * One client and its reconnect state. Concurrent callers share one connect attempt; a failed
 * attempt is followed by the backoff delay (waitRetry doubling to maxWaitRetry) before the
 * attempt settles, so callers that loop on it are paced by the backoff, not by themselves.
 */
export class Endpoint {
  readonly client: ProtocolClient;
  lastError: DeliveryError | undefined;
  /** Connect attempts that failed since the last success. */
  failures = 0;
  /** When this endpoint last failed a connect or a publish (performance.now()), if ever. */
  lastFailureAt: number | undefined;
  private readonly options: ResolvedConnectionModeOptions;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private attempt: Promise<boolean> | undefined;
  private readonly closed: AbortSignal;

  constructor(client: ProtocolClient, options: ResolvedConnectionModeOptions, closed: AbortSignal) {
    this.client = client;
    this.options = options;
    this.closed = closed;
    this.logger = options.logger.child({ endpoint: client.name });
    this.backoff = new Backoff({ initialMs: options.waitRetryMs, maxMs: options.maxWaitRetryMs });
  }

  get name(): string {
    return this.client.name;
  }

  connected(): boolean {
    return this.client.isConnected();
  }

  /** One shared connect attempt; resolves false (after the backoff delay) if it failed. */
  tryConnect(): Promise<boolean> {
    this.attempt ??= this.connectOnce().finally(() => {
      this.attempt = undefined;
    });
    return this.attempt;
  }

  private async connectOnce(): Promise<boolean> {
    try {
      await this.client.connect(this.options.timeoutMs);
      // A client that says it connected but is not would have its caller loop on connect
      // without ever waiting (microtasks only: timers and I/O starve): pace it as a failure.
      if (!this.client.isConnected()) throw new Error(`${this.client.name}: connect() resolved but the client reports it is not connected`);
      if (this.failures > 0) this.logger.info({ after: this.failures }, 'endpoint reconnected');
      this.failures = 0;
      this.lastError = undefined;
      this.backoff.reset();
      return true;
    } catch (err) {
      this.failures++;
      this.lastFailureAt = performance.now();
      this.lastError = networkFailure(err, `connect to ${this.client.name}`);
      const wait = this.backoff.next();
      this.logger.warn({ err: this.lastError.message, failures: this.failures, retryInMs: wait }, 'endpoint unreachable');
      await sleep(wait, this.closed).catch(() => {});
      return false;
    }
  }
}

