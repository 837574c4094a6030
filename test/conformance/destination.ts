/**
 * What the sink conformance suite (./conformance.test.ts) needs from each sink under test: a
 * real destination it can start, crash, restart and read back. One file per sink in
 * ./destinations/ implements it; the suite runs the same checks against every one.
 */
import type { LogGroup } from '../../src/model/index.ts';
import type { DeliveryRecord, ProtocolClient } from '../../src/delivery/index.ts';
import type { SinkConfig } from '../../src/sinks/registry.ts';

export interface Destination {
  /** `http`, `nats`, `nats-cluster`, `redis`, `file`, `stdout`. */
  readonly name: string;
  /**
   * Whether redelivering the same batch (same idempotency key) leaves one copy at the
   * destination (the receiver, JetStream's duplicate window, the Redis Lua marker).
   */
  readonly dedupes: boolean;
  /** Starts the server(s), in a fresh temporary directory. */
  start(): Promise<void>;
  /** Stops everything and removes temporary files; safe to call twice. */
  stop(): Promise<void>;
  /**
   * SIGKILLs the server process(es) and starts them again on the same ports and data dirs,
   * resolving once it accepts work again. Undefined for sinks without a server (file, stdout).
   */
  readonly restart?: () => Promise<void>;
  /** The sink config (`{ type: 'flusher_…', … }`) that points at this destination. */
  sinkConfig(): SinkConfig;
  /**
   * Everything stored at the destination, read back from it (not from the client's view):
   * one entry per stored log, each with the log's `seq` content (the suite writes one unique
   * `seq` per log) and the idempotency key the copy was stored under, when the destination
   * keeps it.
   */
  readBack(): Promise<Array<{ seq: string; key?: string }>>;
  /**
   * Inputs the destination must refuse for good: each publish must reject with a
   * DeliveryError of kind 'permanent' (a Redis WRONGTYPE key, a message over NATS's max
   * payload, a file path under a regular file). `client` is made for the case (e.g. with a
   * key template that hits the bad key).
   */
  permanentCases(): Array<{ readonly name: string; client(): ProtocolClient; record(): DeliveryRecord }>;
  /**
   * A destination that is missing (a NATS subject with no stream): publish must reject with
   * kind 'config'. Undefined when the sink has no such case.
   */
  readonly configCase?: () => { readonly name: string; client(): ProtocolClient; record(): DeliveryRecord };
}

/** Builds the test LogGroup the suite appends: `count` logs with contents `seq` = `${prefix}-${i}`. */
export type MakeGroup = (prefix: string, count: number) => LogGroup;
