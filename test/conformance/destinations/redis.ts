/**
 * The Redis sink's destination: a redis-server child with `appendonly yes` and `appendfsync
 * always` (so a SIGKILL loses nothing it acknowledged), records in the stream
 * `logs:proj:store`. It deduplicates through the append script's marker keys.
 */
import { Redis } from 'ioredis';
import { createRedisClient } from '../../../src/sinks/redis/index.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';
import { type RedisServer, startRedisServer } from '../../helpers/servers/redis.ts';
import type { Destination } from '../destination.ts';
import { deliveryRecord, makeGroup } from '../records.ts';

/** The stream the suite's records (project `proj`, logstore `store`) land in. */
export const CONFORMANCE_STREAM = 'logs:proj:store';
/** A key that holds a string, so appending to it is `WRONGTYPE`: the permanent case. */
const WRONG_TYPE_KEY = 'logs:proj:not-a-stream';

/** Every entry of `stream`, as `{seq, key}` (the `seq` content and the `__walship_key__` field). */
export async function readStream(port: number, stream: string): Promise<Array<{ seq: string; key?: string }>> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const out: Array<{ seq: string; key?: string }> = [];
    let start = '-';
    for (;;) {
      const page = await redis.xrange(stream, start, '+', 'COUNT', 5000);
      for (const [, fields] of page) {
        const entry: { seq: string; key?: string } = { seq: '' };
        for (let i = 0; i < fields.length; i += 2) {
          if (fields[i] === 'seq') entry.seq = fields[i + 1] as string;
          else if (fields[i] === '__walship_key__') entry.key = fields[i + 1] as string;
        }
        out.push(entry);
      }
      if (page.length < 5000) return out;
      start = `(${page[page.length - 1]![0]}`;
    }
  } finally {
    redis.disconnect();
  }
}

export function redisDestination(): Destination {
  let server: RedisServer | undefined;
  const quiet = captureLogger('error').logger;
  const running = (): RedisServer => {
    if (server === undefined) throw new Error('the redis destination is not started');
    return server;
  };

  return {
    name: 'redis',
    dedupes: true,
    async start() {
      server = await startRedisServer({ appendonly: true });
      const redis = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
      try {
        await redis.connect();
        await redis.set(WRONG_TYPE_KEY, 'a string, not a stream');
      } finally {
        redis.disconnect();
      }
    },
    async stop() {
      const s = server;
      server = undefined;
      await s?.stop();
    },
    async restart() {
      await running().restart();
    },
    sinkConfig() {
      return { type: 'flusher_redis', url: running().url, timeoutMs: 2000 };
    },
    readBack() {
      return readStream(running().port, CONFORMANCE_STREAM);
    },
    permanentCases() {
      return [
        {
          name: 'a stream key that holds a string (WRONGTYPE)',
          client: () => createRedisClient({ url: running().url, keyTemplate: 'logs:{project}:not-a-stream', logger: quiet }),
          record: () => deliveryRecord(makeGroup('wrongtype', 2), 1),
        },
      ];
    },
  };
}
