import {
  DEFAULT_STOP_TIMEOUT_MS,
  DEFAULT_WHEN_FULL,
  DEFAULT_WHEN_FULL_POLL_MS,
} from '../config/defaults.ts';
import {
  type ConnectionMode,
  type ConnectionModeName,
  type ConnectionModeOptions,
  DeliveryManager,
  type DeliveryManagerOptions,
  type DeliveryStats,
  FailOverConnectionMode,
  LoadBalancerMode,
  SingleConnectionMode,
  sleep,
} from '../delivery/index.ts';
import { ErrorCodes, isWalshipError, WalshipError } from '../errors.ts';
import { defaultLogger, type Logger } from '../logging/logger.ts';
import { encodeLogGroup, type LogGroup } from '../model/index.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import type { FlusherV1, FlusherV2, PipelineGroupEvents } from '../pipeline/flusher.ts';
import '../sinks/builtin.ts';
import { planSink, type SinkConfig } from '../sinks/registry.ts';
import { positiveInt } from '../wal/options.ts';
import { type AppendEntry, type Checkpoint, type WalOptions, type WalStats, WriteAheadLog } from '../wal/index.ts';

export type WhenFull = 'block' | 'reject';

/** One LogGroup for {@link DurableFlusher.appendDurable}, with the metadata its record keeps. */
export interface DurableGroup {
  readonly project: string;
  readonly logstore: string;
  readonly configName: string;
  readonly logGroup: LogGroup;
  /**
   * The group already encoded (`encodeLogGroup(logGroup)`'s bytes, e.g. from LogGroupWriter):
   * appended as it is, without encoding `logGroup` again.
   */
  readonly payload?: Uint8Array;
  readonly logstoreKey?: bigint;
}

/** Options of {@link DurableFlusher}. */
export interface DurableFlusherOptions {
  /** The WAL's directory (one per flusher). */
  readonly dir: string;
  /** Where records go: `{ type: 'http', url, encoding, ... }` (see the sink registry). */
  readonly sink: SinkConfig;
  /** The connection mode; by default `single` for one host, `loadbalance` for several. */
  readonly mode?: ConnectionModeName;
  /** Options of the mode (maxAttempts, waitRetryMs, maxWaitRetryMs, timeoutMs). */
  readonly modeOptions?: Omit<ConnectionModeOptions, 'logger'>;
  /** WAL options beyond `dir` (maxBytes, sync, ...). */
  readonly wal?: Omit<WalOptions, 'dir' | 'logger'>;
  /** Delivery options (batch and in-flight windows, retry delays, ordered). */
  readonly delivery?: Omit<DeliveryManagerOptions, 'source' | 'mode' | 'logger'>;
  /**
   * What `flush` does while the WAL is over its quota: `'block'` waits until there is room
   * (or the flusher stops), `'reject'` rejects at once with `WALSHIP_QUOTA_EXCEEDED`.
   * @defaultValue 'block'
   */
  readonly whenFull?: WhenFull;
  /** How long `stop()` keeps delivering before it closes (ms). @defaultValue 5000 */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

type State = 'new' | 'initializing' | 'running' | 'stopping' | 'stopped';

/**
 * The durable flusher: iLogtail's FlusherV1 and FlusherV2 in front of a WAL and a delivery
 * manager. See ./index.ts for its guarantees.
 */
export class DurableFlusher implements FlusherV1, FlusherV2 {
  private readonly options: DurableFlusherOptions;
  private readonly whenFull: WhenFull;
  private readonly stopTimeoutMs: number;
  private logger: Logger;
  private state: State = 'new';
  private wal: WriteAheadLog | undefined;
  private manager: DeliveryManager | undefined;
  /** Flushes in progress (appending, or waiting for room): stop() lets them finish. */
  private readonly flushing = new Set<Promise<void>>();
  private stopping: Promise<void> | undefined;
  private readonly stopSignal = new AbortController();

  constructor(options: DurableFlusherOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('Expected flusher options to be an object');
    if (typeof options.dir !== 'string' || options.dir === '') {
      throw new WalshipError(ErrorCodes.INVALID_OPTIONS, `Expected \`dir\` to be a non-empty string, got ${JSON.stringify(options.dir)}`);
    }
    const whenFull = options.whenFull ?? DEFAULT_WHEN_FULL;
    if (whenFull !== 'block' && whenFull !== 'reject') {
      throw new WalshipError(ErrorCodes.INVALID_OPTIONS, `Expected \`whenFull\` to be 'block' or 'reject', got ${JSON.stringify(whenFull)}`);
    }
    this.options = options;
    this.whenFull = whenFull;
    this.stopTimeoutMs = positiveInt('stopTimeoutMs', options.stopTimeoutMs, DEFAULT_STOP_TIMEOUT_MS, 0);
    this.logger = (options.logger ?? defaultLogger()).child({ component: 'flusher', dir: options.dir });
  }

  description(): string {
    return `durable flusher: WAL in ${this.options.dir}, delivering to ${this.options.sink.type}`;
  }

  /** Opens (or recovers) the WAL and starts delivering what it holds. */
  async init(ctx?: PipelineContext): Promise<void> {
    if (this.state !== 'new') {
      throw new WalshipError(ErrorCodes.NOT_OPEN, `init() was already called (the flusher is ${this.state})`);
    }
    this.state = 'initializing';
    if (ctx !== undefined) this.logger = ctx.logger.child({ component: 'flusher', dir: this.options.dir });
    const plan = planSink(this.options.sink, this.logger);
    const mode = this.makeMode(this.options.mode ?? plan.defaultMode, plan.clients);
    try {
      this.wal = await WriteAheadLog.open({ ...this.options.wal, dir: this.options.dir, logger: this.logger });
    } catch (err) {
      await mode.close();
      this.state = 'stopped';
      throw err;
    }
    this.manager = new DeliveryManager({
      ...(plan.batchMaxRecords === undefined ? {} : { batchMaxRecords: plan.batchMaxRecords }),
      ...this.options.delivery,
      source: this.wal,
      mode,
      logger: this.logger,
    });
    this.manager.start();
    this.state = 'running';
    this.logger.info({ walId: this.wal.walId, pending: this.wal.pendingRecords }, 'flusher started');
  }

  private makeMode(name: ConnectionModeName, clients: ReturnType<typeof planSink>['clients']): ConnectionMode {
    const options = { ...this.options.modeOptions, logger: this.logger };
    switch (name) {
      case 'single':
        if (clients.length !== 1) {
          throw new WalshipError(ErrorCodes.INVALID_OPTIONS, `Expected one host for mode 'single', got ${clients.length}`);
        }
        return new SingleConnectionMode(clients[0] as (typeof clients)[0], options);
      case 'failover':
        return new FailOverConnectionMode(clients, options);
      case 'loadbalance':
        return new LoadBalancerMode(clients, options);
      default:
        throw new WalshipError(
          ErrorCodes.INVALID_OPTIONS,
          `Expected \`mode\` to be 'single', 'failover' or 'loadbalance', got ${JSON.stringify(name)}`,
        );
    }
  }

  /**
   * False while the WAL is at or over its quota (or its disk below the free-space floor),
   * until it drains below the low watermark. After `setUrgent(true)` the emergency reserve
   * counts as room, so a graceful stop can take what is still coming.
   */
  isReady(_project?: string, _logstore?: string, _logstoreKey?: bigint): boolean {
    return this.state === 'running' && this.wal !== undefined && !this.wal.isOverQuota();
  }

  /**
   * Appends the groups to the WAL in one atomic batch and resolves once they are durable
   * (W1). Rejects with `WALSHIP_INVALID_LOG_GROUP` for a bad group (nothing is appended),
   * `WALSHIP_QUOTA_EXCEEDED` when full and `whenFull: 'reject'`, `WALSHIP_DISK_FULL` /
   * `WALSHIP_WAL_IO` when the disk failed, `WALSHIP_CLOSED` once stopping.
   */
  flush(project: string, logstore: string, configName: string, logGroups: readonly LogGroup[], logstoreKey = 0n): Promise<void> {
    if (this.state !== 'running') return Promise.reject(this.notRunning());
    let entries: AppendEntry[];
    try {
      // Validated and encoded before anything is written: a bad group rejects the whole call.
      entries = logGroups.map((g) => ({ payload: encodeLogGroup(g), project, logstore, configName, logstoreKey }));
    } catch (err) {
      return Promise.reject(err);
    }
    if (entries.length === 0) return Promise.resolve();
    const p = this.appendWhenRoom(entries).finally(() => this.flushing.delete(p));
    this.flushing.add(p);
    return p;
  }

  /** FlusherV2: events become LogGroups (one per event group) and take the flush path. */
  export(groups: readonly PipelineGroupEvents[], ctx: PipelineContext): Promise<void> {
    const logGroups: LogGroup[] = groups.map((g) => ({
      logs: g.events.map((e) => {
        const seconds = e.timestampNs / 1_000_000_000n;
        const ns = Number(e.timestampNs % 1_000_000_000n);
        return {
          time: Number(seconds),
          contents: Object.entries(e.contents).map(([key, value]) => ({ key, value })),
          ...(ns === 0 ? {} : { timeNs: ns }),
        };
      }),
      logTags: Object.entries(g.group.tags ?? {}).map(([key, value]) => ({ key, value })),
    }));
    return this.flush(ctx.project, ctx.logstore, ctx.configName, logGroups);
  }

  /**
   * The input path (src/inputs): appends the groups (each with its own project, logstore and
   * config) and the `checkpoints` in one atomic WAL batch, and resolves once both are durable
   * (W1). An input moves its read offset only after this resolves, so a checkpoint never runs
   * ahead of the records that carry its lines. Over the quota it waits for room like `flush`
   * (`whenFull`); a checkpoint-only call (no groups) is never refused for the quota.
   * Rejects like `flush`.
   */
  appendDurable(groups: readonly DurableGroup[], checkpoints: readonly Checkpoint[] = []): Promise<void> {
    if (this.state !== 'running') return Promise.reject(this.notRunning());
    let entries: AppendEntry[];
    try {
      entries = groups.map((g) => ({
        payload: g.payload ?? encodeLogGroup(g.logGroup),
        project: g.project,
        logstore: g.logstore,
        configName: g.configName,
        logstoreKey: g.logstoreKey ?? 0n,
      }));
    } catch (err) {
      return Promise.reject(err);
    }
    if (entries.length === 0 && checkpoints.length === 0) return Promise.resolve();
    const p = this.appendWhenRoom(entries, checkpoints).finally(() => this.flushing.delete(p));
    this.flushing.add(p);
    return p;
  }

  /** Reads a checkpoint written by {@link appendDurable} (undefined when there is none). */
  async getCheckpoint(key: string): Promise<Buffer | undefined> {
    if (this.wal === undefined || this.state === 'stopped') throw this.notRunning();
    return this.wal.getCheckpoint(key);
  }

  private async appendWhenRoom(entries: AppendEntry[], checkpoints?: readonly Checkpoint[]): Promise<void> {
    const wal = this.wal as WriteAheadLog;
    for (;;) {
      try {
        await wal.append(entries, checkpoints === undefined ? {} : { checkpoints });
        return;
      } catch (err) {
        if (!isWalshipError(err, ErrorCodes.QUOTA_EXCEEDED) || this.whenFull === 'reject') throw err;
      }
      // 'block': wait for delivery to make room, polling like iLogtail's runner does.
      if (this.stopSignal.signal.aborted) throw this.notRunning();
      await sleep(DEFAULT_WHEN_FULL_POLL_MS, this.stopSignal.signal).catch(() => {});
    }
  }

  /** Urgent mode: delivery takes twice the in-flight window; the WAL opens its reserve. */
  setUrgent(flag: boolean): void {
    this.wal?.setUrgent(flag);
    this.manager?.setUrgent(flag);
  }

  /**
   * Stops accepting, lets flushes in progress land (blocked ones get the urgent reserve or
   * are rejected), delivers until `stopTimeoutMs`, then closes the WAL (which compacts what
   * was acknowledged). What was not delivered stays in the WAL for the next start.
   * Idempotent: every call returns the same promise.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    if (!wasRunning) {
      this.state = 'stopped';
      return;
    }
    const wal = this.wal as WriteAheadLog;
    const manager = this.manager as DeliveryManager;
    // Flushes already accepted get the urgent reserve; the rest of the waiters give up.
    wal.setUrgent(true);
    this.stopSignal.abort();
    await Promise.allSettled([...this.flushing]);
    await manager.stop(this.stopTimeoutMs);
    const left = wal.pendingRecords;
    await wal.close();
    this.state = 'stopped';
    this.logger.info({ delivered: manager.stats().deliveredRecords, leftInWal: left }, 'flusher stopped');
  }

  /** WAL and delivery counters (undefined before init). */
  async stats(): Promise<{ wal: WalStats; delivery: DeliveryStats } | undefined> {
    if (this.wal === undefined || this.manager === undefined || this.state === 'stopped') return undefined;
    return { wal: await this.wal.stats(), delivery: this.manager.stats() };
  }

  private notRunning(): WalshipError {
    return this.state === 'stopping' || this.state === 'stopped'
      ? new WalshipError(ErrorCodes.CLOSED, `the flusher for ${this.options.dir} is ${this.state}`)
      : new WalshipError(ErrorCodes.NOT_OPEN, `the flusher for ${this.options.dir} is ${this.state}; call init() first`);
  }
}
