import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCodes, WalshipError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';

/** What `/metrics` serves: a WalshipMetrics, or one made on the first scrape. */
export interface MetricsExposition {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface AdminServerOptions {
  readonly host: string;
  /** 0 = a free port (read `server.port`). */
  readonly port: number;
  /**
   * The metrics, or a function that makes them on the first scrape (so that prom-client is
   * loaded only by a process that is scraped).
   */
  readonly metrics: MetricsExposition | (() => Promise<MetricsExposition>);
  /** True while the process is running and every WAL is open (`/healthz` 200, else 503). */
  health(): Promise<{ readonly ok: boolean; readonly [k: string]: unknown }>;
  /** The JSON `/status` serves. */
  status(): Promise<unknown>;
  readonly logger: Logger;
}

export interface AdminServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * The admin HTTP server of `walship run`: `GET /metrics` (Prometheus text), `GET /healthz`
 * (200 or 503 with a JSON reason), `GET /status` (JSON for `walship inspect`). Read-only.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const log = options.logger.child({ component: 'admin' });
  let made: Promise<MetricsExposition> | undefined;
  const source = options.metrics;
  const exposition = (): Promise<MetricsExposition> => {
    if (typeof source !== 'function') return Promise.resolve(source);
    made ??= source().catch((err: unknown) => {
      made = undefined; // the next scrape tries again
      throw err;
    });
    return made;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/metrics': {
        const m = await exposition();
        return send(res, 200, m.contentType, await m.metrics());
      }
      case '/healthz': {
        const h = await options.health();
        return send(res, h.ok ? 200 : 503, 'application/json', `${JSON.stringify(h)}\n`);
      }
      case '/status':
        return send(res, 200, 'application/json', `${JSON.stringify(await options.status(), null, 2)}\n`);
      default:
        return send(res, 404, 'text/plain', 'not found: try /metrics, /healthz or /status\n');
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.warn({ err: (err as Error).message, url: req.url }, 'admin request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', `${(err as Error).message}\n`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new WalshipError(ErrorCodes.INVALID_OPTIONS, `cannot listen on ${options.host}:${options.port} for /metrics: ${err.message}`, { cause: err })),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
