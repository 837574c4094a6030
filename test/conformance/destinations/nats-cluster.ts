/**
 * The NATS sink's destination over a 3-node JetStream cluster on loopback: the stream
 * `CONFORMANCE` has 3 replicas, the sink gets all three servers, and `restart` SIGKILLs and
 * restarts every node, resolving once the stream has a leader and two current replicas
 * again. Everything else is ./nats.ts.
 */
import { NatsCluster } from '../../helpers/servers/nats.ts';
import type { Destination } from '../destination.ts';
import { CONFORMANCE_MAX_PAYLOAD, natsDestinationOver } from './nats.ts';

export function natsClusterDestination(): Destination {
  return natsDestinationOver('nats-cluster', 3, async () => {
    const cluster = await NatsCluster.start({ maxPayload: CONFORMANCE_MAX_PAYLOAD });
    return { urls: cluster.urls, restart: () => cluster.restartAll(), stop: () => cluster.stop() };
  });
}
