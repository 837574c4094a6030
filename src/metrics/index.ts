/**
 * # metrics: Prometheus metrics and the admin endpoint of `walship run`
 *
 * {@link WalshipMetrics} is a prom-client registry fed, at each scrape, from the flushers'
 * WAL stats and DeliveryStats and the inputs' counters. {@link startAdminServer}
 * serves it on loopback beside `/healthz` and `/status`; the CLI's `inspect`, `dlq` and `wal`
 * commands read `/status` when a running process holds the WAL (found through the admin file
 * `<wal.Dir>/walship.admin.json`, ./admin-file.ts).
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `walship_wal_pending_records`, `walship_wal_pending_bytes` | gauge | flusher |
 * | `walship_wal_disk_bytes` | gauge | flusher |
 * | `walship_wal_oldest_record_age_seconds` | gauge | flusher |
 * | `walship_wal_quota_ratio` | gauge | flusher |
 * | `walship_wal_dead_letter_records`, `walship_wal_quarantine_records` | gauge | flusher |
 * | `walship_wal_open` | gauge | flusher |
 * | `walship_delivered_records_total`, `walship_delivered_bytes_total` | counter | flusher |
 * | `walship_delivery_retries_total` | counter | flusher |
 * | `walship_delivery_failures_total` | counter | flusher, reason |
 * | `walship_dead_lettered_total` | counter | flusher |
 * | `walship_delivery_in_flight_records` | gauge | flusher |
 * | `walship_endpoint_up` | gauge | flusher, endpoint |
 * | `walship_input_logs_total`, `walship_input_bytes_read_total` | counter | input |
 * | `walship_input_paused` | gauge | input |
 *
 * plus prom-client's default Node.js process metrics.
 *
 * ## Invariants
 *
 * - **M1** A scrape reads the sources once and is fresh: no value is older than the scrape.
 * - **M2** Counters mirror cumulative totals and never go down within a process.
 * - **M3** The admin server is read-only and listens on 127.0.0.1 by default; endpoint names
 *   have URL credentials redacted; `/status` carries no config values (no secrets).
 * - **M4** `/healthz` answers 200 only while the pipeline runs and every WAL is open, else 503
 *   with the reason.
 */
export { type AdminFile, adminFilePath, readAdminFile, removeAdminFile, writeAdminFile, isProcessAlive } from './admin-file.ts';
export { type AdminServer, type AdminServerOptions, startAdminServer } from './admin-server.ts';
export { redactUrl } from './redact-url.ts';
export { type FlusherSnapshot, type InputSnapshot, METRIC_NAMES, type MetricsSource, WalshipMetrics } from './walship-metrics.ts';
