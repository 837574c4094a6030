import { registerSink, type SinkConfig } from '../registry.ts';
import { createFileClient } from './file-client.ts';
import type { FileSinkOptions } from './file-sink-options.ts';

/** `{ type: 'file', path, maxBytes, maxFiles, mode }`: one FileClient, mode `single`. */
registerSink('file', (config: SinkConfig, logger) => {
  const { type: _type, ...rest } = config;
  return {
    clients: [createFileClient({ ...(rest as unknown as FileSinkOptions), logger })],
    defaultMode: 'single',
  };
});
