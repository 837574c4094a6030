import { setTimeout as delay } from 'node:timers/promises';
import {
  DEFAULT_AGGREGATOR_INTERVAL_MS,
  DEFAULT_LOG_GROUP_QUEUE_CAPACITY,
  DEFAULT_STOP_TIMEOUT_MS,
  DEFAULT_WHEN_FULL_POLL_MS,
} from '../config/defaults.ts';
import { settlesWithin } from '../delivery/backoff.ts';
import { ErrorCodes, isWalshipError, QueueFullError, WalshipError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { Log, LogGroup } from '../model/index.ts';
import { validateLogGroup } from '../model/validate.ts';
import type { Aggregator, LogSource } from './aggregator.ts';
import type { PipelineContext } from './context.ts';
import type { FlusherV1 } from './flusher.ts';
import { BoundedLogGroupQueue } from './log-group-queue.ts';

/** An input: it pushes logs through `emit` (which waits while the pipeline is backed up). */
export interface PipelineInput {
  readonly name: string;
  start(emit: (log: Log, source?: LogSource) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface PipelineRunnerOptions {
  readonly context: PipelineContext;
  readonly aggregator: Aggregator;
  readonly flushers: readonly FlusherV1[];
  readonly inputs?: readonly PipelineInput[];
  /** Groups the aggregator's quick flushes may queue. @defaultValue 16 */
  readonly queueCapacity?: number;
  /** What an aggregator's interval of 0 means (ms). @defaultValue 3000 */
  readonly defaultIntervalMs?: number;
  /** How often a group waiting for `isReady` asks again (ms). @defaultValue 10 */
  readonly readyPollMs?: number;
  /**
   * How long `stop` waits for the last groups to be accepted by the flushers before it gives
   * up on them (counted as `logsLost` and logged at error level); also how long it waits for
   * an input that stops adding logs without stopping. @defaultValue 5000
   */
  readonly stopTimeoutMs?: number;
}

export interface PipelineRunnerStats {
  readonly logsAdded: number;
  readonly groupsFlushed: number;
  readonly logsFlushed: number;
  /** Times a group had to wait for every flusher's isReady. */
  readonly readyWaits: number;
  /** Groups waiting to be handed to the flushers. */
  readonly groupsPending: number;
  /** Logs that no flusher could make durable before `stop` gave up on them. */
  readonly logsLost: number;
  /**
   * Logs a flusher refused for good (`WALSHIP_INVALID_LOG_GROUP`: `add` checks each log, so
   * only a group the aggregator made invalid, e.g. by its tags): logged at error level with the
   * reason, each isolated from the good logs of its group, which are handed over.
   */
  readonly logsRejected: number;
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

/** After the stop deadline and the flushers' stop, how long stop still waits for a flush in flight. */
const STOP_SHIP_GRACE_MS = 1000;

/**
 * Runs one pipeline the way iLogtail does: inputs → aggregator → flushers.
 *
 * - The aggregator's `flush` runs every interval (the value its `init` returned; 0 = the
 *   global default of 3000 ms); its quick flushes arrive through the LogGroupQueue.
 * - Each group goes to every flusher once all of them are `isReady`, polling every 10 ms while
 *   not; a group is never dropped while it waits, and groups keep their order.
 * - `stop` follows iLogtail's order: `setUrgent(true)` on the flushers → stop the inputs →
 *   a final aggregator flush → hand everything over → `stop` the flushers.
 */
export class PipelineRunner {
  private readonly o: PipelineRunnerOptions;
  private readonly logger: Logger;
  private readonly queue: BoundedLogGroupQueue;
  private state: State = 'new';
  private timer: NodeJS.Timeout | undefined;
  /** Groups from periodic flushes and the queue, in order, not yet handed over. */
  private pending: LogGroup[] = [];
  private wake: (() => void) | undefined;
  private shipping: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private counters = { logsAdded: 0, groupsFlushed: 0, logsFlushed: 0, readyWaits: 0, logsLost: 0, logsRejected: 0 };
  /** Set when stop's deadline passed: the ship loop hands nothing more over. */
  private abandon = false;
  /** The ship loop's one outstanding `waitForData` (not one more per wake-up). */
  private dataWait: Promise<void> | undefined;
  /** Flushers that already took a group a retry is for (it goes only to the others). */
  private readonly accepted = new WeakMap<LogGroup, Set<FlusherV1>>();
  /** Cleared by stop just before the final aggregator flush: later adds are refused. */
  private accepting = true;

  constructor(options: PipelineRunnerOptions) {
    if (options.flushers.length === 0) {
      throw new WalshipError(ErrorCodes.INVALID_OPTIONS, 'Expected at least one flusher in `flushers`');
    }
    this.o = options;
    this.logger = options.context.logger.child({ component: 'runner', config: options.context.configName });
    this.queue = new BoundedLogGroupQueue({ capacity: options.queueCapacity ?? DEFAULT_LOG_GROUP_QUEUE_CAPACITY });
  }

  /** Initializes the aggregator and the flushers, starts the flush timer, then the inputs. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new WalshipError(ErrorCodes.NOT_OPEN, `the runner is ${this.state}`);
    const ctx = this.o.context;
    const interval = (await this.o.aggregator.init(ctx, this.queue)) || (this.o.defaultIntervalMs ?? DEFAULT_AGGREGATOR_INTERVAL_MS);
    for (const f of this.o.flushers) await f.init(ctx);
    this.state = 'running';
    this.timer = setInterval(() => this.flushAggregator(), interval);
    // The loop catches what a flusher throws; this only guards against a bug in the loop itself.
    this.shipping = this.ship().catch((err: unknown) => {
      this.logger.error({ err: (err as Error).message }, 'the pipeline ship loop failed; groups wait for stop');
    });
    for (const input of this.o.inputs ?? []) await input.start((log, source) => this.add(log, source));
    this.logger.info({ intervalMs: interval, flushers: this.o.flushers.map((f) => f.description()) }, 'pipeline started');
  }

  /**
   * Adds a log. Resolves once the aggregator took it; waits while the aggregator's quick
   * flushes find the queue full (backpressure to the input). Rejects with
   * `WALSHIP_INVALID_LOG_GROUP` (field `logGroup.logs[0]...`) for a log no flusher would take
   * (a time in milliseconds, a log over the 3 MiB group cap, ...): it never reaches a group.
   */
  async add(log: Log, source?: LogSource): Promise<void> {
    let checked = false;
    for (;;) {
      // After the final aggregator flush nothing would hand a log over: refuse it, loudly.
      if (!this.accepting || (this.state !== 'running' && this.state !== 'stopping')) {
        throw new WalshipError(ErrorCodes.CLOSED, `the pipeline is ${this.state === 'running' ? 'stopping' : this.state}`);
      }
      if (!checked) {
        validateLogGroup({ logs: [log], logTags: [] });
        checked = true;
      }
      try {
        this.o.aggregator.add(log, source);
        this.counters.logsAdded++;
        this.signal();
        return;
      } catch (err) {
        if (!(err instanceof QueueFullError)) throw err;
        await this.queue.waitForRoom();
      }
    }
  }

  stats(): PipelineRunnerStats {
    return { ...this.counters, groupsPending: this.pending.length + this.queue.size };
  }

  /** iLogtail's stop order; idempotent. Resolves when the flushers stopped. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    for (const f of this.o.flushers) f.setUrgent(true);
    // An input or flusher that fails to stop does not keep the rest from stopping (the final
    // flush, the other flushers' WAL locks); `stop` rejects with what failed at the end.
    const failures: Error[] = [];
    const deadline = this.o.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const inputsStopped = (async () => {
      for (const input of this.o.inputs ?? []) {
        try {
          await input.stop();
        } catch (err) {
          failures.push(err as Error);
          this.logger.error({ input: input.name, err: (err as Error).message }, 'an input failed to stop; stopping the rest');
        }
      }
    })();
    // An input that does not stop (its last add waits for room that never comes) is left
    // behind after stopTimeoutMs without progress; one still adding logs is waited for.
    let inputsInTime = false;
    for (let added = -1; added !== this.counters.logsAdded && !inputsInTime; ) {
      added = this.counters.logsAdded;
      inputsInTime = await settlesWithin(inputsStopped, deadline);
    }
    if (!inputsInTime) this.logger.warn({ waitedMs: deadline }, 'inputs did not stop in time; stopping the pipeline without them');
    clearInterval(this.timer);
    this.accepting = false;
    this.flushAggregator(true);
    this.queue.close();
    this.signal();
    const done = await settlesWithin(this.shipping ?? Promise.resolve(), deadline);
    if (!done) this.abandon = true;
    this.state = 'stopped';
    // Stopping the flushers also settles a flush that was still waiting for room.
    for (const f of this.o.flushers) {
      try {
        await f.stop();
      } catch (err) {
        failures.push(err as Error);
        this.logger.error({ flusher: f.description(), err: (err as Error).message }, 'a flusher failed to stop');
      }
    }
    if (!inputsInTime) await settlesWithin(inputsStopped, STOP_SHIP_GRACE_MS);
    // A flush that a stopped (or failed) flusher never settles must not hold stop forever.
    if (!done) await settlesWithin(this.shipping ?? Promise.resolve(), STOP_SHIP_GRACE_MS);
    const lost = [...this.pending, ...this.queue.take()];
    if (lost.length > 0) {
      this.counters.logsLost += lost.reduce((n, g) => n + g.logs.length, 0);
      this.logger.error(
        { groups: lost.length, logs: this.counters.logsLost, waitedMs: deadline },
        'stop gave up on groups no flusher could make durable (the WAL stayed full): these logs are lost',
      );
    }
    this.logger.info(this.counters, 'pipeline stopped');
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `stopping the pipeline: ${failures.length} inputs or flushers failed to stop`);
  }

  /**
   * The interval flush. Skipped while groups are still waiting for the flushers: the logs
   * stay in the aggregator, whose quick flushes then fill the bounded queue, and `add` waits
   * (backpressure reaches the inputs instead of groups piling up in memory).
   */
  private flushAggregator(force = false): void {
    if (!force && this.pending.length > 0) return;
    // Quick-flushed groups left the aggregator before anything this flush returns: keep order.
    this.pending.push(...this.queue.take());
    const groups = this.o.aggregator.flush();
    if (groups.length > 0) {
      this.pending.push(...groups);
      this.signal();
    }
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The one loop that hands groups over, in order, when every flusher is ready. */
  private async ship(): Promise<void> {
    const { project, logstore, configName } = this.o.context;
    const poll = this.o.readyPollMs ?? DEFAULT_WHEN_FULL_POLL_MS;
    while (!this.abandon) {
      // Groups leave the aggregator in order: queued quick flushes after what is pending. The
      // queue is emptied only when nothing is pending, so it stays the bound on memory.
      if (this.pending.length === 0) this.pending.push(...this.queue.take());
      const group = this.pending[0];
      if (group === undefined) {
        // Done only after stop's final aggregator flush (the queue is closed right after it):
        // a log an input emits while it stops is still handed over.
        if (this.queue.closed) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.dataWait ??= this.queue.waitForData().then(
            () => this.dataArrived(),
            () => this.dataArrived(),
          );
        });
        continue;
      }
      if (!this.o.flushers.every((f) => f.isReady(project, logstore, 0n))) {
        this.counters.readyWaits++;
        await delay(poll);
        continue;
      }
      // A retried group goes only to the flushers that have not taken it: each take is a new
      // record in that flusher's WAL, which its destination cannot tell from a new group.
      const took = this.accepted.get(group) ?? new Set<FlusherV1>();
      const targets = this.o.flushers.filter((f) => !took.has(f));
      // An async callback turns a flusher that throws instead of rejecting into a rejection.
      const results = await Promise.allSettled(targets.map(async (f) => f.flush(project, logstore, configName, [group])));
      let failure: unknown;
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') took.add(targets[i] as FlusherV1);
        else failure ??= r.reason;
      });
      if (failure === undefined) {
        if (this.pending[0] === group) this.pending.shift();
        this.accepted.delete(group);
        this.counters.groupsFlushed++;
        this.counters.logsFlushed += group.logs.length;
        continue;
      }
      this.accepted.set(group, took);
      if (isWalshipError(failure, ErrorCodes.INVALID_LOG_GROUP)) {
        this.reject(group, took, failure);
        continue;
      }
      // Not made durable: keep the group and try again (a full or failed WAL recovers).
      if (this.abandon) return;
      this.logger.warn({ err: (failure as Error).message, logs: group.logs.length }, 'a flusher refused a group; retrying');
      await delay(Math.max(poll, 100));
    }
  }

  private dataArrived(): void {
    this.dataWait = undefined;
    this.signal();
  }

  /**
   * A group refused for good: retrying would block every group behind it forever. A group of
   * several logs is split into one group per log (same topic, source and tags; the flushers
   * that took the whole already have each), so that only the logs at fault are refused; a
   * single log is refused: counted in `logsRejected` and logged with the reason.
   */
  private reject(group: LogGroup, took: ReadonlySet<FlusherV1>, err: WalshipError): void {
    if (this.pending[0] !== group) return;
    if (group.logs.length > 1) {
      const singles = group.logs.map((log) => ({ ...group, logs: [log] }));
      for (const single of singles) this.accepted.set(single, new Set(took));
      this.pending.splice(0, 1, ...singles);
      this.logger.warn({ code: err.code, err: err.message, logs: group.logs.length }, 'a flusher refused a group for good; handing its logs over one by one');
      return;
    }
    this.pending.shift();
    this.counters.logsRejected += group.logs.length;
    this.logger.error(
      { code: err.code, err: err.message, field: err.details?.field, refusedBy: this.o.flushers.filter((f) => !took.has(f)).map((f) => f.description()) },
      'a flusher refused a log for good; it is not retried (logsRejected)',
    );
  }
}
