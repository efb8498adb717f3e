import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ScrapeRefusal } from './metrics-access.ts';
import type { Metrics } from './metrics.ts';

/** A scrape is one short request: a client that takes longer than this to send it is cut off. */
const REQUEST_TIMEOUT_MS = 10_000;
/** On close, a scrape still being answered gets this long before its connection is cut. */
const CLOSE_LIMIT_MS = 2_000;

export interface MetricsListener {
  /** The port it listens on (the one asked for, or the one the system chose for 0). */
  port: number;
  /** Stops accepting, lets a scrape in flight finish (up to CLOSE_LIMIT_MS) and closes every connection. */
  close(): Promise<void>;
}

interface Options {
  host: string;
  port: number;
  metrics: Metrics;
  guard: (authorization: string | undefined) => ScrapeRefusal;
  /** Where a failed rendering is reported (the scraper gets a bare 500). */
  onError: (err: unknown) => void;
}

/**
 * /metrics on a listener of its own (GATEHOUSE_METRICS_PORT): plain HTTP, one route, no API behind it, so the port
 * can be opened to the monitoring network alone. A bare Node server rather than a second Fastify app: it needs no
 * routing, validation or plugins, and it shares nothing with the API's request pipeline.
 */
export function listenForScrapes(options: Options): Promise<MetricsListener> {
  const { metrics, guard, onError } = options;
  let closing = false;

  function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string, head: boolean): void {
    res.writeHead(status, {
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-length': String(Buffer.byteLength(body)),
      ...(closing ? { connection: 'close' } : {}),
      ...headers,
    });
    res.end(head ? undefined : body);
  }

  const json = { 'content-type': 'application/json; charset=utf-8' };
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    const head = req.method === 'HEAD';
    if (path !== '/metrics' && path !== '/metrics/') return send(res, 404, json, JSON.stringify({ detail: 'Not Found' }), head);
    if (req.method !== 'GET' && !head) return send(res, 405, { ...json, allow: 'GET, HEAD' }, JSON.stringify({ detail: 'Method Not Allowed' }), false);
    const refusal = guard(req.headers.authorization);
    if (refusal !== null) return send(res, 401, { ...json, 'www-authenticate': 'Bearer' }, JSON.stringify({ detail: refusal }), head);
    send(res, 200, { 'content-type': metrics.contentType }, await metrics.render(), head);
  }

  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
    answer(req, res).catch((err: unknown) => {
      onError(err);
      if (!res.headersSent) send(res, 500, json, JSON.stringify({ detail: 'Internal server error' }), false);
      else res.destroy();
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            closing = true;
            // close() waits for every connection; a scraper's keep-alive connection goes idle after its answer and is
            // closed by the sweep, and whatever is left at the limit is cut.
            const sweep = setInterval(() => server.closeIdleConnections(), 50);
            const cut = setTimeout(() => server.closeAllConnections(), CLOSE_LIMIT_MS);
            server.close(() => {
              clearInterval(sweep);
              clearTimeout(cut);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
