/**
 * The NATS sink's destination: a real nats-server with JetStream (file storage in a temporary
 * directory) and a stream `CONFORMANCE` on `conformance.>` with a 2 h duplicate window, so a
 * redelivery under the same Msg-Id is stored once, also across a SIGKILL and restart.
 * `readBack` reads the stream with an ordered consumer and decodes every message.
 *
 * {@link natsDestinationOver} builds the same destination over any set of servers; the
 * 3-node cluster variant is ./nats-cluster.ts.
 */
import { type NatsConnection, nanos } from 'nats';
import { DEFAULT_NATS_DUPLICATE_WINDOW_MS } from '../../../src/config/defaults.ts';
import { decodeLogGroup } from '../../../src/model/index.ts';
import { createNatsClient, MSG_ID_HEADER, type NatsSinkOptions } from '../../../src/sinks/nats/index.ts';
import type { SinkConfig } from '../../../src/sinks/registry.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';
import { adminConnection, readStream, type StoredMessage, startNatsServer, waitForStream } from '../../helpers/servers/nats.ts';
import type { Destination } from '../destination.ts';
import { deliveryRecord, makeGroup } from '../records.ts';

/** The servers' `max_payload`: a record over it is the permanent case. */
export const CONFORMANCE_MAX_PAYLOAD = 256 * 1024;
export const CONFORMANCE_STREAM = 'CONFORMANCE';
const SUBJECT = 'conformance.{project}.{logstore}';

/** What a destination needs from its servers. */
export interface NatsServers {
  readonly urls: readonly string[];
  /** SIGKILLs every server and starts it again on the same ports and stores. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The `seq` content of every log in a stored message (protobuf or JSON, by its Content-Type). */
export function storedLogs(m: StoredMessage): Array<{ seq: string; key?: string }> {
  const key = m.headers[MSG_ID_HEADER];
  const withKey = (seq: string) => (key === undefined ? { seq } : { seq, key });
  if (m.headers['Content-Type'] === 'application/json') {
    const logs = JSON.parse(Buffer.from(m.data).toString('utf8')) as Array<{ contents: { seq?: string } }>;
    return logs.map((l) => withKey(l.contents.seq ?? ''));
  }
  return decodeLogGroup(m.data).logs.map((l) => withKey(l.contents.find((c) => c.key === 'seq')?.value ?? ''));
}

/**
 * A destination over the servers `launch` starts: the stream (with `replicas`) is created
 * through an admin connection at start and after every restart it must have a leader and
 * its replicas current again before `restart` resolves.
 */
export function natsDestinationOver(name: string, replicas: number, launch: () => Promise<NatsServers>): Destination {
  let servers: NatsServers | undefined;
  let admin: NatsConnection | undefined;
  const quiet = captureLogger('error').logger;

  const urls = (): string[] => {
    if (servers === undefined) throw new Error(`the ${name} destination is not started`);
    return [...servers.urls];
  };
  const options = (): NatsSinkOptions => ({
    servers: urls(),
    subject: SUBJECT,
    stream: { name: CONFORMANCE_STREAM, replicas, create: true },
    timeoutMs: 2000,
    reconnectTimeWaitMs: 100,
  });
  const adminOf = (): NatsConnection => {
    if (admin === undefined) throw new Error(`the ${name} destination is not started`);
    return admin;
  };

  return {
    name,
    dedupes: true,
    async start() {
      servers = await launch();
      admin = await adminConnection(servers.urls);
      const jsm = await admin.jetstreamManager({ timeout: 10_000 });
      await jsm.streams.add({
        name: CONFORMANCE_STREAM,
        subjects: ['conformance.>'],
        num_replicas: replicas,
        duplicate_window: nanos(DEFAULT_NATS_DUPLICATE_WINDOW_MS),
      });
      await waitForStream(admin, CONFORMANCE_STREAM, replicas);
    },
    async stop() {
      const a = admin;
      const s = servers;
      admin = undefined;
      servers = undefined;
      if (a !== undefined && !a.isClosed()) await a.close();
      await s?.stop();
    },
    async restart() {
      if (servers === undefined) throw new Error(`the ${name} destination is not started`);
      await servers.restart();
      await waitForStream(adminOf(), CONFORMANCE_STREAM, replicas);
    },
    sinkConfig(): SinkConfig {
      return { type: 'flusher_nats', ...options() };
    },
    async readBack() {
      const messages = await readStream(adminOf(), CONFORMANCE_STREAM);
      return messages.flatMap(storedLogs);
    },
    permanentCases() {
      return [
        {
          name: "a message over the server's max_payload",
          client: () => createNatsClient({ ...options(), logger: quiet }),
          // Each log's `msg` alone is max_payload bytes.
          record: () => deliveryRecord(makeGroup('too-big', 2, CONFORMANCE_MAX_PAYLOAD), 1),
        },
      ];
    },
    configCase: () => ({
      name: 'a subject no stream listens on (no responders)',
      client: () => createNatsClient({ servers: urls(), subject: 'nostream.{project}.{logstore}', timeoutMs: 2000, logger: quiet }),
      record: () => deliveryRecord(makeGroup('no-stream', 2), 1),
    }),
  };
}

/** One nats-server with JetStream. */
export function natsDestination(): Destination {
  return natsDestinationOver('nats', 1, async () => {
    const server = await startNatsServer({ maxPayload: CONFORMANCE_MAX_PAYLOAD, label: 'conformance' });
    return { urls: [server.url], restart: () => server.restart(), stop: () => server.stop() };
  });
}
