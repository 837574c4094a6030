/**
 * `walship run --config FILE`: the pipeline of a JSON config, until a signal.
 *
 * Order of start: config checked (exit 2 on any problem, nothing opened) → each flusher's WAL
 * opened and delivery started → admin server (`/metrics`, `/healthz`, `/status`) and the admin
 * file → inputs. Stop (first SIGTERM/SIGINT): flushers set urgent → inputs stop (what they read
 * is appended first) → flushers stop (deliver until their stop timeout, then close the WAL) →
 * admin server closed, admin file removed → exit 0. A second signal exits at once (130/143):
 * everything accepted is already in the WAL.
 */
import { mkdir } from 'node:fs/promises';
import type { FlusherConfig, WalshipConfig } from '../config/index.ts';
import { configProblems, loadConfig } from '../config/index.ts';
import { settlesWithin } from '../delivery/backoff.ts';
import { ErrorCodes, isWalshipError } from '../errors.ts';
import { DurableFlusher, fanOut } from '../flusher/index.ts';
import { createInput, type Input } from '../inputs/index.ts';
import type { Logger } from '../logging/logger.ts';
// Not ../metrics/index.ts: prom-client (walship-metrics.ts) is loaded on the first scrape.
import { isProcessAlive, readAdminFile, removeAdminFile, writeAdminFile } from '../metrics/admin-file.ts';
import { type AdminServer, startAdminServer } from '../metrics/admin-server.ts';
import { redactUrl } from '../metrics/redact-url.ts';
import type { MetricsSource } from '../metrics/walship-metrics.ts';
import { CliError, ExitCodes } from './cli-error.ts';
import { createCliLogger } from './cli-logger.ts';
import type { RunStatus } from './wal-access.ts';

export interface RunCommandOptions {
  readonly config: string;
  readonly logLevel?: string;
  readonly metricsPort?: number;
  readonly metricsHost?: string;
}

/** One InputFlusher over every flusher (src/flusher/fan-out.ts). */
export { fanOut };

export async function runCommand(options: RunCommandOptions): Promise<number> {
  let config: WalshipConfig;
  try {
    config = await loadConfig(options.config);
  } catch (err) {
    const problems = configProblems(err);
    if (problems.length === 0) throw err;
    throw new CliError(ExitCodes.USAGE, (err as Error).message);
  }
  const logger = createCliLogger(options.logLevel ?? config.logLevel ?? 'info');
  const app = new RunningPipeline(config, logger, options);
  await app.start();
  return app.waitForExit();
}

class RunningPipeline {
  private state: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting';
  private readonly flushers: Array<{ config: FlusherConfig; flusher: DurableFlusher }> = [];
  private inputs: Input[] = [];
  private admin: AdminServer | undefined;
  private readonly startedAt = new Date();
  /** Logs inputs took and could not make durable (input_stdin at the stop deadline): exit 1. */
  private logsLostAtStop = 0;
  private exit!: (code: number) => void;
  private readonly exited = new Promise<number>((resolve) => {
    this.exit = resolve;
  });

  constructor(
    private readonly config: WalshipConfig,
    private readonly logger: Logger,
    private readonly options: RunCommandOptions,
  ) {}

  async start(): Promise<void> {
    const c = this.config;
    await mkdir(c.walDir, { recursive: true, mode: 0o700 });
    const other = await readAdminFile(c.walDir);
    if (other !== undefined && other.pid !== process.pid && isProcessAlive(other.pid)) {
      throw new CliError(ExitCodes.FAILURE, `${c.walDir} is held by pid ${other.pid} (admin ${other.url}); stop it first (WALSHIP_LOCKED)`);
    }
    // Flushers are built (options checked) before any WAL is opened.
    for (const fc of c.flushers) {
      const { name: _name, ...flusherOptions } = fc;
      try {
        this.flushers.push({ config: fc, flusher: new DurableFlusher({ ...flusherOptions, logger: this.logger.child({ flusher: fc.name }) }) });
      } catch (err) {
        if (isWalshipError(err, ErrorCodes.INVALID_OPTIONS)) throw new CliError(ExitCodes.USAGE, `flusher ${fc.name}: ${err.message}`);
        throw err;
      }
    }
    this.installSignals();
    try {
      for (const { config: fc, flusher } of this.flushers) {
        try {
          await flusher.init();
        } catch (err) {
          if (isWalshipError(err, ErrorCodes.LOCKED)) {
            throw new CliError(ExitCodes.FAILURE, `flusher ${fc.name}: ${fc.dir} is held by another process (WALSHIP_LOCKED)`, { cause: err });
          }
          if (isWalshipError(err, ErrorCodes.INVALID_OPTIONS) || isWalshipError(err, ErrorCodes.NO_HOSTS)) {
            throw new CliError(ExitCodes.USAGE, `flusher ${fc.name}: ${err.message}`, { cause: err });
          }
          const code = isWalshipError(err) ? `${err.code}: ` : '';
          throw new CliError(ExitCodes.FAILURE, `flusher ${fc.name}: ${code}${(err as Error).message}`, { cause: err });
        }
      }
      const source: MetricsSource = {
        flushers: () => this.snapshots(),
        inputs: () => this.inputs.map((i, n) => ({ name: `${i.type}-${n}`, ...i.stats() })),
      };
      const metrics = async () => new (await import('../metrics/walship-metrics.ts')).WalshipMetrics(source);
      this.admin = await startAdminServer({
        host: this.options.metricsHost ?? c.metrics.host,
        port: this.options.metricsPort ?? c.metrics.port,
        metrics,
        health: () => this.health(),
        status: () => this.status(),
        logger: this.logger,
      });
      await writeAdminFile(c.walDir, {
        pid: process.pid,
        url: this.admin.url,
        config: c.source,
        startedAt: this.startedAt.toISOString(),
        flushers: c.flushers.map((f) => f.name),
      });
      const target = fanOut(
        this.flushers.map((f) => f.flusher),
        { logger: this.logger, names: this.flushers.map((f) => f.config.name) },
      );
      for (const ic of c.inputs) {
        const input = createInput(ic, {
          flusher: target,
          project: c.project,
          logstore: c.logstore,
          configName: c.configName,
          logger: this.logger.child({ input: ic.type }),
        });
        this.inputs.push(input);
        await input.start();
      }
    } catch (err) {
      await this.shutdown('start failed');
      throw err;
    }
    this.state = 'running';
    this.logger.info(
      { config: c.source, walDir: c.walDir, admin: this.admin.url, flushers: c.flushers.map((f) => f.name), inputs: c.inputs.map((i) => i.type) },
      'walship running',
    );
  }

  waitForExit(): Promise<number> {
    return this.exited;
  }

  private installSignals(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.state === 'stopping' || this.state === 'stopped') {
        // Second signal: leave now. Everything accepted is durable in the WAL already (W1).
        this.logger.warn({ signal }, 'second signal: exiting at once; undelivered records stay in the WAL');
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      this.logger.info({ signal }, 'stopping gracefully (send the signal again to exit at once)');
      this.shutdown(signal).then(
        // Everything taken in is durable (or delivered): 0. Logs given up on: 1, so a
        // supervisor or a shell pipeline sees the loss and not only the log line.
        () => this.exit(this.logsLostAtStop > 0 ? ExitCodes.FAILURE : ExitCodes.OK),
        (err: unknown) => {
          this.logger.error({ err: (err as Error).message }, 'stop failed');
          this.exit(ExitCodes.FAILURE);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  private stopping: Promise<void> | undefined;

  /** iLogtail's stop order: urgent → inputs → flushers; then the admin server and its file. */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      for (const { flusher } of this.flushers) flusher.setUrgent(true);
      const inputsStopped = Promise.allSettled(this.inputs.map((i) => i.stop()));
      // An input whose last append waits for WAL room (the quota and its urgent reserve full,
      // the destination down) would hold the stop forever: after stopTimeoutMs the flushers
      // stop anyway, which ends that wait (input_file re-reads those lines at the next start;
      // input_stdin counts them lost, logged).
      const inTime = await settlesWithin(inputsStopped, this.config.stopTimeoutMs);
      if (!inTime) {
        this.logger.warn({ waitedMs: this.config.stopTimeoutMs }, 'inputs still wait for WAL room; stopping the flushers without them');
      }
      const flushersStopped = Promise.allSettled(this.flushers.map(({ flusher }) => flusher.stop()));
      const results = await inputsStopped;
      for (const r of results) if (r.status === 'rejected') this.logger.error({ err: (r.reason as Error).message }, 'an input failed to stop');
      await flushersStopped;
      this.logsLostAtStop = this.inputs.reduce((n, i) => n + (i.stats().logsLost ?? 0), 0);
      if (this.logsLostAtStop > 0) {
        this.logger.error(
          { logsLost: this.logsLostAtStop },
          `${this.logsLostAtStop} logs read from the inputs were never made durable (lost); exiting with 1`,
        );
      }
      await this.admin?.close();
      await removeAdminFile(this.config.walDir).catch(() => {});
      this.state = 'stopped';
      this.logger.info({ reason }, 'walship stopped');
    })();
    return this.stopping;
  }

  private async snapshots() {
    return Promise.all(
      this.flushers.map(async ({ config: fc, flusher }) => {
        const s = await flusher.stats();
        return { name: fc.name, type: fc.sink.type, dir: fc.dir, wal: s?.wal, delivery: s?.delivery };
      }),
    );
  }

  private async health(): Promise<{ ok: boolean; state: string; closed: string[] }> {
    const snaps = await this.snapshots();
    const closed = snaps.filter((s) => s.wal?.state !== 'open').map((s) => s.name);
    return { ok: this.state === 'running' && closed.length === 0, state: this.state, closed };
  }

  private async status(): Promise<RunStatus> {
    const snaps = await this.snapshots();
    return {
      pid: process.pid,
      config: this.config.source,
      configName: this.config.configName,
      state: this.state,
      startedAt: this.startedAt.toISOString(),
      uptimeMs: Date.now() - this.startedAt.getTime(),
      walDir: this.config.walDir,
      adminUrl: this.admin?.url ?? '',
      flushers: snaps.map((s) => {
        const { endpoints = [], ...delivery } = s.delivery ?? {};
        return {
          name: s.name,
          type: s.type,
          dir: s.dir,
          wal: s.wal as unknown as Record<string, unknown> | undefined,
          delivery: s.delivery === undefined ? undefined : (delivery as Record<string, unknown>),
          endpoints: endpoints.map((e) => ({ name: redactUrl(e.name), connected: e.connected })),
        };
      }),
      inputs: this.inputs.map((i) => ({ ...i.stats() })),
    };
  }
}

