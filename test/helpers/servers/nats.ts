/**
 * Real nats-server processes for the NATS sink tests: one server with JetStream, or a
 * three-node JetStream cluster on loopback, each on free ports with its own store directory.
 * A server can be SIGKILLed and started again on the same ports and store; readiness is
 * polled (the monitoring port's `/healthz`, which answers ok once JetStream is ready), never
 * slept for.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection, type StreamInfo } from 'nats';
import { findBinary, freePort } from './binary.ts';
import { killChild } from '../kill-child.ts';

/** How long a server may take to become healthy. */
const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 50;
/** Bytes of a server's output kept for a failure message. */
const KEEP_OUTPUT = 16 * 1024;

/** Every server process started here, killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface NatsServerOptions {
  /** `max_payload` of the server (bytes). @defaultValue the server's (1 MiB) */
  readonly maxPayload?: number;
  /**
   * Extra lines for the config file (e.g. `authorization { token: "s3cret" }`, a `tls {}`
   * block: readiness is polled over plain HTTP on the monitoring port, so TLS is fine).
   */
  readonly extraConfig?: string;
  /** A word in the temporary directory's name. */
  readonly label?: string;
}

/** One nats-server process; `kill()` and `restart()` keep its ports and its store. */
export class NatsServer {
  readonly name: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  readonly configFile: string;
  #proc: ChildProcess | undefined;
  #output = '';

  constructor(name: string, port: number, monitorPort: number, storeDir: string, configFile: string) {
    this.name = name;
    this.port = port;
    this.monitorPort = monitorPort;
    this.storeDir = storeDir;
    this.configFile = configFile;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    const p = this.#proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** The last lines the server printed (for failure messages). */
  get output(): string {
    return this.#output;
  }

  /** Starts the process; resolves once `/healthz` says ok (with `waitHealthy`). */
  async start(waitHealthy = true): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const binary = findBinary('nats-server');
    if (binary === undefined) throw new Error('nats-server is not installed');
    const proc = spawn(binary, ['-c', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    live.add(proc);
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-KEEP_OUTPUT);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.once('exit', () => live.delete(proc));
    if (waitHealthy) await this.waitHealthy();
  }

  /** Polls `/healthz` until it answers 200 (JetStream ready and current). */
  async waitHealthy(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready:\n${this.#output}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.monitorPort}/healthz`, { signal: AbortSignal.timeout(2000) });
        last = `${res.status} ${await res.text()}`;
        if (res.status === 200) return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not healthy after ${timeoutMs} ms (last: ${last}):\n${this.#output}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    await killChild(this.#proc);
  }

  /** SIGKILL, then start again on the same ports and store. */
  async restart(waitHealthy = true): Promise<void> {
    await this.kill();
    await this.start(waitHealthy);
  }
}

function configText(lines: Array<string | undefined>): string {
  return `${lines.filter((l) => l !== undefined).join('\n')}\n`;
}

/** A single JetStream server: `-js` with its store in a fresh temporary directory. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer & { stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `walship-nats-${options.label ?? 'server'}-`));
  const port = await freePort();
  const monitorPort = await freePort();
  const storeDir = join(dir, 'js');
  const configFile = join(dir, 'nats.conf');
  writeFileSync(
    configFile,
    configText([
      'server_name: single',
      `listen: 127.0.0.1:${port}`,
      `http: 127.0.0.1:${monitorPort}`,
      `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
      options.maxPayload === undefined ? undefined : `max_payload: ${options.maxPayload}`,
      options.extraConfig,
    ]),
  );
  const server = Object.assign(new NatsServer('single', port, monitorPort, storeDir, configFile), {
    async stop(): Promise<void> {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** Three JetStream servers in one cluster on loopback, each with its own store. */
export class NatsCluster {
  readonly nodes: readonly NatsServer[];
  readonly dir: string;

  private constructor(dir: string, nodes: NatsServer[]) {
    this.dir = dir;
    this.nodes = nodes;
  }

  static async start(options: { size?: number; maxPayload?: number } = {}): Promise<NatsCluster> {
    const size = options.size ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'walship-nats-cluster-'));
    const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), cluster: await freePort(), monitor: await freePort() })));
    const routes = ports.map((p) => `nats-route://127.0.0.1:${p.cluster}`).join(', ');
    const nodes = ports.map((p, i) => {
      const name = `n${i + 1}`;
      const storeDir = join(dir, name, 'js');
      mkdirSync(join(dir, name), { recursive: true });
      const configFile = join(dir, name, 'nats.conf');
      writeFileSync(
        configFile,
        configText([
          `server_name: ${name}`,
          `listen: 127.0.0.1:${p.client}`,
          `http: 127.0.0.1:${p.monitor}`,
          `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
          options.maxPayload === undefined ? undefined : `max_payload: ${options.maxPayload}`,
          `cluster { name: walship, listen: 127.0.0.1:${p.cluster}, routes: [${routes}] }`,
        ]),
      );
      return new NatsServer(name, p.client, p.monitor, storeDir, configFile);
    });
    const cluster = new NatsCluster(dir, nodes);
    try {
      // All at once: a lone node cannot elect a JetStream meta leader, so none is healthy alone.
      for (const n of nodes) await n.start(false);
      await Promise.all(nodes.map((n) => n.waitHealthy()));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  node(name: string): NatsServer {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name} (have ${this.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  /** SIGKILLs every node, then starts them all again and waits until each is healthy. */
  async restartAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    for (const n of this.nodes) await n.start(false);
    await Promise.all(this.nodes.map((n) => n.waitHealthy()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An admin connection to `servers` (for stream setup and reading back), reconnecting forever. */
export function adminConnection(servers: string | readonly string[]): Promise<NatsConnection> {
  return connect({
    servers: typeof servers === 'string' ? [servers] : [...servers],
    name: 'walship-test-admin',
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    timeout: 5000,
  });
}

/**
 * Waits until `stream` has a leader and `replicas - 1` other replicas that are current, by
 * polling stream info (a request may fail while leaders are being elected: it is asked again).
 * Resolves with the last info.
 */
export async function waitForStream(
  nc: NatsConnection,
  stream: string,
  replicas: number,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<StreamInfo> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const jsm = await nc.jetstreamManager({ timeout: 2000, checkAPI: false });
      const info = await jsm.streams.info(stream);
      const cluster = info.cluster;
      const current = (cluster?.replicas ?? []).filter((r) => r.current && !r.offline).length;
      if (replicas === 1 ? true : cluster?.leader !== undefined && cluster.leader !== '' && current >= replicas - 1) return info;
      last = `leader ${cluster?.leader ?? 'none'}, ${current} current replicas`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`stream ${stream} not ready with ${replicas} replicas after ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One message read back from a stream. */
export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

/** Stream messages fetched at once by {@link readStream}. */
const READ_CONCURRENCY = 64;

/**
 * Every message in `stream`, in stream order, fetched one by one by sequence number
 * (`STREAM.MSG.GET` from the stream leader): no consumer whose state could get in the way,
 * and the stream is not changed. A sequence with no message (deleted) is skipped.
 */
export async function readStream(nc: NatsConnection, stream: string): Promise<StoredMessage[]> {
  const jsm = await nc.jetstreamManager({ timeout: 5000, checkAPI: false });
  const { state } = await jsm.streams.info(stream);
  if (state.messages === 0) return [];
  const out: StoredMessage[] = [];
  for (let from = state.first_seq; from <= state.last_seq; from += READ_CONCURRENCY) {
    const seqs = Array.from({ length: Math.min(READ_CONCURRENCY, state.last_seq - from + 1) }, (_, i) => from + i);
    const got = await Promise.all(
      seqs.map((seq) =>
        jsm.streams.getMessage(stream, { seq }).catch((err: unknown) => {
          if ((err as { api_error?: { err_code?: number } }).api_error?.err_code === NO_MESSAGE_FOUND) return undefined;
          throw err;
        }),
      ),
    );
    for (const m of got) {
      if (m === undefined) continue;
      const headers: Record<string, string> = {};
      if (m.header !== undefined) for (const [k, v] of m.header) headers[k] = v.join(',');
      out.push({ seq: m.seq, subject: m.subject, data: m.data, headers });
    }
  }
  return out;
}

/** JSNoMessageFoundErr. */
const NO_MESSAGE_FOUND = 10037;
