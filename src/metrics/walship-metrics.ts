import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { DeliveryStats } from '../delivery/index.ts';
import type { WalStats } from '../wal/index.ts';
import { redactUrl } from './redact-url.ts';

export { redactUrl };

/** What one flusher reports: its WAL and delivery counters (undefined once stopped). */
export interface FlusherSnapshot {
  readonly name: string;
  readonly type: string;
  readonly dir: string;
  readonly wal: WalStats | undefined;
  readonly delivery: DeliveryStats | undefined;
}

/** What one input reports. */
export interface InputSnapshot {
  readonly name: string;
  /** Logs made durable in the WAL. */
  readonly logs: number;
  readonly bytesRead: number;
  /** True while reading is paused because a WAL is over its quota. */
  readonly paused: boolean;
}

/** Where the metrics come from: read once per scrape. */
export interface MetricsSource {
  flushers(): Promise<readonly FlusherSnapshot[]>;
  inputs?(): readonly InputSnapshot[];
}

/** The metric names, for the README and the tests. */
export const METRIC_NAMES = {
  walPendingRecords: 'walship_wal_pending_records',
  walPendingBytes: 'walship_wal_pending_bytes',
  walDiskBytes: 'walship_wal_disk_bytes',
  walOldestAge: 'walship_wal_oldest_record_age_seconds',
  walQuotaRatio: 'walship_wal_quota_ratio',
  walDeadLetterRecords: 'walship_wal_dead_letter_records',
  walQuarantineRecords: 'walship_wal_quarantine_records',
  walOpen: 'walship_wal_open',
  delivered: 'walship_delivered_records_total',
  deliveredBytes: 'walship_delivered_bytes_total',
  retries: 'walship_delivery_retries_total',
  failures: 'walship_delivery_failures_total',
  deadLettered: 'walship_dead_lettered_total',
  inFlight: 'walship_delivery_in_flight_records',
  endpointUp: 'walship_endpoint_up',
  inputLogs: 'walship_input_logs_total',
  inputBytes: 'walship_input_bytes_read_total',
  inputPaused: 'walship_input_paused',
} as const;

/**
 * Counters mirror totals kept elsewhere (DeliveryStats): each scrape adds the difference since
 * the last one, so Prometheus sees a monotonic counter.
 */
class MirroredCounter {
  private readonly last = new Map<string, number>();
  constructor(readonly counter: Counter<string>) {}
  set(labels: Record<string, string>, total: number): void {
    const key = JSON.stringify(labels);
    const delta = total - (this.last.get(key) ?? 0);
    this.last.set(key, total);
    // inc(0) on first sight creates the series, so every metric shows from the first scrape.
    this.counter.inc(labels, Math.max(0, delta));
  }
}

function makeSeries(registry: Registry) {
  const r = [registry];
  const gauge = (name: string, help: string, labelNames = ['flusher']) => new Gauge({ name, help, labelNames, registers: r });
  const counter = (name: string, help: string, labelNames = ['flusher']) =>
    new MirroredCounter(new Counter({ name, help, labelNames, registers: r }));
  const n = METRIC_NAMES;
  return {
    pendingRecords: gauge(n.walPendingRecords, 'Records in the WAL not yet delivered.'),
    pendingBytes: gauge(n.walPendingBytes, 'Logical bytes of those records.'),
    diskBytes: gauge(n.walDiskBytes, 'Bytes of the WAL files on disk.'),
    oldestAge: gauge(n.walOldestAge, 'Age of the oldest pending record (0 when none).'),
    quotaRatio: gauge(n.walQuotaRatio, 'Held bytes (pending + dead letters + quarantine) over the quota.'),
    deadLetterRecords: gauge(n.walDeadLetterRecords, 'Records in the dead-letter space.'),
    quarantineRecords: gauge(n.walQuarantineRecords, 'Records quarantined (failed their checksum or format check).'),
    walOpen: gauge(n.walOpen, '1 while the WAL is open, 0 otherwise.'),
    inFlight: gauge(n.inFlight, 'Records handed to the sink and not yet settled.'),
    endpointUp: gauge(n.endpointUp, '1 while the endpoint is connected.', ['flusher', 'endpoint']),
    delivered: counter(n.delivered, 'Records acknowledged by the destination.'),
    deliveredBytes: counter(n.deliveredBytes, 'Bytes of those records.'),
    retries: counter(n.retries, 'Delivery attempts after the first.'),
    failures: counter(n.failures, 'Failed delivery attempts by reason.', ['flusher', 'reason']),
    deadLettered: counter(n.deadLettered, 'Records moved to the dead-letter space (permanent rejection).'),
    inputLogs: counter(n.inputLogs, 'Logs an input made durable in the WAL.', ['input']),
    inputBytes: counter(n.inputBytes, 'Bytes an input read from its source.', ['input']),
    inputPaused: gauge(n.inputPaused, '1 while an input is paused because a WAL is over its quota.', ['input']),
  };
}

/**
 * A prom-client registry with walship's metrics (see {@link METRIC_NAMES}) plus Node's
 * default process metrics. `metrics()` reads the source once, updates every series and
 * renders the text format.
 */
export class WalshipMetrics {
  readonly registry = new Registry();
  private readonly source: MetricsSource;
  private readonly s: ReturnType<typeof makeSeries>;

  constructor(source: MetricsSource, options: { readonly defaultMetrics?: boolean } = {}) {
    this.source = source;
    this.s = makeSeries(this.registry);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Reads the source and updates every series. */
  async refresh(): Promise<void> {
    const s = this.s;
    s.endpointUp.reset();
    for (const f of await this.source.flushers()) {
      const l = { flusher: f.name };
      const w = f.wal;
      if (w !== undefined) {
        s.pendingRecords.set(l, w.pendingRecords);
        s.pendingBytes.set(l, w.pendingBytes);
        s.diskBytes.set(l, w.diskBytes);
        s.oldestAge.set(l, w.oldestRecordAgeMs / 1000);
        s.quotaRatio.set(l, w.quotaRatio);
        s.deadLetterRecords.set(l, w.deadLetterRecords);
        s.quarantineRecords.set(l, w.quarantineRecords);
      }
      s.walOpen.set(l, w?.state === 'open' ? 1 : 0);
      const d = f.delivery;
      if (d !== undefined) {
        s.delivered.set(l, d.deliveredRecords);
        s.deliveredBytes.set(l, d.deliveredBytes);
        s.retries.set(l, d.retries);
        s.deadLettered.set(l, d.deadLettered);
        for (const [reason, count] of Object.entries(d.failures)) s.failures.set({ ...l, reason }, count);
        s.inFlight.set(l, d.inFlightRecords);
        for (const e of d.endpoints) s.endpointUp.set({ ...l, endpoint: redactUrl(e.name) }, e.connected ? 1 : 0);
      }
    }
    for (const i of this.source.inputs?.() ?? []) {
      const l = { input: i.name };
      s.inputLogs.set(l, i.logs);
      s.inputBytes.set(l, i.bytesRead);
      s.inputPaused.set(l, i.paused ? 1 : 0);
    }
  }

  /** The Prometheus text exposition, fresh. */
  async metrics(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

