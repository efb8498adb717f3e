import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { ConfigError } from '../src/config.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { ADMIN_KEY } from './helpers/app.ts';
import { freePort } from './helpers/server-process.ts';

// GATEHOUSE_METRICS_PORT: /metrics on a plain HTTP listener of its own, on the same HOST, and not on the API port;
// GATEHOUSE_METRICS_TOKEN guards it there too; the listener closes with a graceful shutdown. Real servers, in process.

const METRICS_TOKEN = 'port-scrape-token-0123456789';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; agent?: Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function start(env: Record<string, string>): Promise<RunningServer & { apiPort: number }> {
  const server = await startServer({ DATABASE_URL: 'sqlite::memory:', PORT: '0', GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'silent', ...env });
  return Object.assign(server, { apiPort: (server.app.server.address() as AddressInfo).port });
}

describe('GATEHOUSE_METRICS_PORT', () => {
  test('/metrics is served on the metrics port, and not on the API port', async () => {
    const port = await freePort();
    const server = await start({ GATEHOUSE_METRICS_PORT: String(port) });
    try {
      assert.equal(server.metricsPort, port);
      assert.equal((await get(server.apiPort, '/healthz')).status, 200);
      const onApi = await get(server.apiPort, '/metrics');
      assert.equal(onApi.status, 404, 'not on the API port');
      assert.deepEqual(JSON.parse(onApi.body), { detail: 'Not Found' });

      const scrape = await get(port, '/metrics');
      assert.equal(scrape.status, 200);
      assert.equal(scrape.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      assert.match(scrape.body, /^gatehouse_http_requests_total\{(?=[^}]*route="\/healthz")(?=[^}]*status="200")[^}]*\} 1$/m, 'the API\'s requests');
      assert.match(scrape.body, /^gatehouse_users 0$/m);
      assert.match(scrape.body, /^gatehouse_nodejs_heap_size_used_bytes \d+/m);

      const head = await get(port, '/metrics', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.equal((await get(port, '/healthz')).status, 404, 'the metrics port serves nothing else');
      assert.equal((await get(port, '/users')).status, 404);
      const post = await get(port, '/metrics', { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
    } finally {
      await server.stop();
    }
  });

  test('the token guards the metrics port: 401 without it or with a wrong one, 200 with it', async () => {
    const server = await start({ GATEHOUSE_METRICS_PORT: '0', GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN });
    try {
      const port = server.metricsPort!;
      assert.ok(port > 0 && port !== server.apiPort);
      const none = await get(port, '/metrics');
      assert.equal(none.status, 401);
      assert.deepEqual(JSON.parse(none.body), { detail: 'Requires authentication' });
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      const wrong = await get(port, '/metrics', { headers: { authorization: 'Bearer not-the-scrape-token-at-all' } });
      assert.equal(wrong.status, 401);
      assert.deepEqual(JSON.parse(wrong.body), { detail: 'Bad credentials' });
      assert.ok(!wrong.body.includes('gatehouse_') && !none.body.includes('gatehouse_'));
      const right = await get(port, '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      assert.equal(right.status, 200);
      assert.match(right.body, /^# TYPE gatehouse_http_requests_total counter$/m);
    } finally {
      await server.stop();
    }
  });

  test('a graceful stop closes the metrics listener too, keep-alive connections and all', async () => {
    const server = await start({ GATEHOUSE_METRICS_PORT: '0' });
    const port = server.metricsPort!;
    const agent = new Agent({ keepAlive: true });
    try {
      assert.equal((await get(port, '/metrics', { agent })).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 20)); // the agent parks the socket once the answer is read
      assert.equal(Object.values(agent.freeSockets).flat().length, 1, 'the scraper holds an idle keep-alive connection');
      const started = Date.now();
      await server.stop();
      assert.ok(Date.now() - started < 3000, `stopped within 3 s (${Date.now() - started} ms)`);
      await assert.rejects(get(port, '/metrics'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED', 'nothing listens any more');
    } finally {
      agent.destroy();
      await server.stop();
    }
  });

  test('a metrics port in use stops the start with one line naming GATEHOUSE_METRICS_PORT', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      let caught: unknown;
      try {
        const server = await start({ GATEHOUSE_METRICS_PORT: String(port) });
        await server.stop();
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof ConfigError, `a ConfigError, got ${String(caught)}`);
      assert.match(caught.message, /^GATEHOUSE_METRICS_PORT: cannot listen on 127\.0\.0\.1:\d+: the port is already in use \(EADDRINUSE\)$/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
