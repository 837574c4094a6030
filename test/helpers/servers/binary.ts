/**
 * Server binaries for the sink tests (nats-server, redis-server). Tests start their own
 * servers; on a machine without the binary they are skipped with a message naming it, except
 * under `CI=true`, where `.ci/run` must have installed it and a missing binary fails the run.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

const found = new Map<string, string | undefined>();

/** The binary's path, or undefined when it is not on PATH (nor in /usr/sbin). */
export function findBinary(name: string): string | undefined {
  if (found.has(name)) return found.get(name);
  let path: string | undefined;
  for (const candidate of [name, `/usr/sbin/${name}`, `/usr/bin/${name}`]) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore', timeout: 10_000 });
      path = candidate;
      break;
    } catch {
      // not this one
    }
  }
  found.set(name, path);
  return path;
}

/**
 * For `describe(..., { skip: skipUnless('nats-server') })`: false when the binary is there;
 * a skip message when it is not; throws under CI=true, so the run fails loudly.
 */
export function skipUnless(name: string): false | string {
  if (findBinary(name) !== undefined) return false;
  const message = `${name} is not installed (apt-get install -y ${name === 'nats-server' ? 'nats-server' : 'redis-server'})`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true requires it (.ci/run installs it)`);
  return message;
}

/** A free TCP port on 127.0.0.1 (the OS picks one; it is released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Skips the running test for a missing capability (a binary, mount rights), naming it; under
 * `CI=true`, where `.ci/run` provides everything, the same condition fails the test instead.
 */
export function skipOrFail(t: { skip(message?: string): void }, reason: string): void {
  if (process.env.CI === 'true') throw new Error(`${reason}; CI=true requires it`);
  t.skip(reason);
}
