import { registerSink, type SinkConfig } from '../registry.ts';
import { createStdoutClient } from './stdout-client.ts';
import type { StdoutSinkOptions } from './stdout-sink-options.ts';

/**
 * `{ type: 'stdout', format, target }` (and, in the library form, `stream`: a Writable the
 * lines go to instead): one StdoutClient, mode `single`.
 */
registerSink('stdout', (config: SinkConfig, logger) => {
  const { type: _type, ...rest } = config;
  return {
    clients: [createStdoutClient({ ...(rest as StdoutSinkOptions), logger })],
    defaultMode: 'single',
  };
});
