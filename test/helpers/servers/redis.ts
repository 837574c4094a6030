/**
 * A real redis-server for the Redis sink's tests: a child process on a free loopback port with
 * its own temporary directory, which a test can SIGKILL and start again on the same port and
 * directory (with `appendonly: true` and `appendfsync always`, what it acknowledged survives).
 *
 * Use with `describe(…, { skip: skipUnless('redis-server') })` and stop it in `after`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort } from './binary.ts';
import { killChild } from '../kill-child.ts';

export interface RedisServerOptions {
  /** `--appendonly yes --appendfsync always`: every acknowledged write is on disk. */
  readonly appendonly?: boolean;
  /** Extra `--name value` arguments (e.g. `['--requirepass', 's3cret']`). */
  readonly args?: readonly string[];
  /** How long to wait for the first `PONG` (ms). @defaultValue 10000 */
  readonly readyTimeoutMs?: number;
}

export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The server's working directory (AOF and log live here). */
  readonly dir: string;
  /** SIGKILLs the server (no shutdown, no final fsync) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory; resolves once PING answers PONG. */
  start(): Promise<void>;
  /** {@link kill}, then {@link start}. */
  restart(): Promise<void>;
  /** Kills the server and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

/** Sends PING on a fresh connection; true on `+PONG` or `-NOAUTH` (false on `-LOADING`, refused, ...). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      // NOAUTH: a server with `requirepass` is up too.
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG') || answer.startsWith('-NOAUTH'));
    });
  });
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = findBinary('redis-server');
  if (binary === undefined) throw new Error('redis-server is not installed');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'walship-redis-'));
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--daemonize', 'no',
    '--logfile', join(dir, 'redis.log'),
    ...(options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  let stopped = false;

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    await killChild(proc);
  };

  const start = async (): Promise<void> => {
    if (stopped) throw new Error('the redis server was stopped');
    const proc = spawn(binary, args, { stdio: 'ignore' });
    child = proc;
    let exit: string | undefined;
    proc.once('exit', (code, signal) => {
      exit = `redis-server exited (${signal ?? code}) before answering PING; see ${join(dir, 'redis.log')}`;
    });
    const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
    for (;;) {
      if (exit !== undefined) throw new Error(exit);
      if (await ping(port)) return;
      if (Date.now() > deadline) {
        await kill();
        throw new Error(`redis-server on port ${port} did not answer PING in time`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  await start();
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill,
    start,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      stopped = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
