import { makeClients } from '../../delivery/index.ts';
import { ErrorCodes, WalshipError } from '../../errors.ts';
import { registerSink, type SinkConfig } from '../registry.ts';
import { createHttpClient } from './http-client.ts';
import type { HttpSinkOptions } from './http-sink-options.ts';

/**
 * `{ type: 'http', url | hosts: [url, ...], encoding, ... }`: one HttpClient per host. With
 * several hosts the default mode is load balancing, with one client per host (each client
 * already keeps `concurrency` connections).
 */
registerSink('http', (config: SinkConfig, logger) => {
  const { type: _type, hosts, url, ...rest } = config as SinkConfig & { hosts?: unknown; url?: unknown };
  const list = hosts ?? (url === undefined ? [] : [url]);
  if (!Array.isArray(list)) {
    throw new WalshipError(ErrorCodes.INVALID_OPTIONS, `Expected \`sink.hosts\` to be an array of URLs, got ${JSON.stringify(hosts)}`);
  }
  const clients = makeClients(list as string[], (host) =>
    createHttpClient({ ...(rest as Omit<HttpSinkOptions, 'url'>), url: host, logger }),
  );
  return {
    clients,
    ...(rest.encoding === 'sls' ? { batchMaxRecords: 1 } : {}),
    defaultMode: clients.length > 1 ? 'loadbalance' : 'single',
  };
});
