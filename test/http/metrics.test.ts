import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createMetrics, SCRAPE_COUNT_TIMEOUT_MS, type Metrics } from '../../src/http/metrics.ts';
import { ADMIN, ADMIN_KEY, createUser, mintKey, testDatabase, testHasher } from '../helpers/app.ts';

// /metrics on prom-client: the request series dashboards use are unchanged, Node's runtime metrics are there, the
// security counters and scrape-time gauges count what happened, and GATEHOUSE_METRICS_TOKEN guards the endpoint.

const METRICS_TOKEN = 'scrape-token-0123456789abcdef';

/** An app on a fresh database whose metrics the test holds, so it can report security events into them. */
async function appWithMetrics(env: Record<string, string> = {}): Promise<{ app: FastifyInstance; metrics: Metrics; closeDatabase: () => Promise<void> }> {
  const database = await testDatabase();
  const metrics = createMetrics();
  const logStream = { write: () => true } as unknown as NodeJS.WritableStream;
  const config = loadConfig({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'silent', ...env });
  const app = await buildApp(config, { database, hasher: testHasher, logStream, metrics });
  let closed: Promise<void> | undefined;
  const closeDatabase = () => (closed ??= database.close());
  after(async () => {
    await app.close();
    await closeDatabase();
  });
  return { app, metrics, closeDatabase };
}

async function scrape(app: FastifyInstance, headers: Record<string, string> = {}): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return res.body;
}

/** The value of the one sample `name{labels}` (labels in any order), or undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('/metrics on prom-client', () => {
  test('the request series keep their names, labels and buckets', async () => {
    const { app } = await appWithMetrics();
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/users', headers: ADMIN });
    const text = await scrape(app);

    assert.match(text, /^# TYPE gatehouse_http_requests_total counter$/m);
    assert.match(text, /^# TYPE gatehouse_http_request_duration_seconds histogram$/m);
    assert.equal(sample(text, 'gatehouse_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }), 2);
    assert.equal(sample(text, 'gatehouse_http_requests_total', { method: 'GET', route: '/users', status: '200' }), 1);
    const labels = { method: 'GET', route: '/healthz', status: '200' };
    const buckets = [...text.matchAll(/^gatehouse_http_request_duration_seconds_bucket\{([^}]*)\} \S+$/gm)]
      .filter((m) => m[1]!.includes('route="/healthz"'))
      .map((m) => /le="([^"]+)"/.exec(m[1]!)![1]);
    assert.deepEqual(buckets, ['0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    assert.equal(sample(text, 'gatehouse_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), 2);
    assert.equal(sample(text, 'gatehouse_http_request_duration_seconds_count', labels), 2);
    assert.ok(sample(text, 'gatehouse_http_request_duration_seconds_sum', labels)! > 0);
    assert.ok(sample(text, 'gatehouse_process_uptime_seconds')! >= 0);
  });

  test("Node's runtime metrics are there with the gatehouse_ prefix: event loop, heap, GC, memory", async () => {
    const { app } = await appWithMetrics();
    const text = await scrape(app);
    for (const name of [
      'gatehouse_nodejs_eventloop_lag_seconds',
      'gatehouse_nodejs_eventloop_lag_p99_seconds',
      'gatehouse_nodejs_heap_size_used_bytes',
      'gatehouse_nodejs_heap_size_total_bytes',
      'gatehouse_process_resident_memory_bytes',
      'gatehouse_process_cpu_seconds_total',
    ]) {
      assert.ok(sample(text, name) !== undefined, `${name} has a sample`);
    }
    assert.match(text, /^# TYPE gatehouse_nodejs_gc_duration_seconds histogram$/m);
    assert.ok(sample(text, 'gatehouse_process_resident_memory_bytes')! > 1_000_000);
    assert.doesNotMatch(text, /^(process|nodejs)_/m, 'no unprefixed series');
  });

  test('two apps in one process keep their own request counts', async () => {
    const a = await appWithMetrics();
    const b = await appWithMetrics();
    for (let i = 0; i < 3; i++) await a.app.inject({ method: 'GET', url: '/healthz' });
    await b.app.inject({ method: 'GET', url: '/healthz' });
    const healthz = { method: 'GET', route: '/healthz', status: '200' };
    assert.equal(sample(await scrape(a.app), 'gatehouse_http_requests_total', healthz), 3);
    assert.equal(sample(await scrape(b.app), 'gatehouse_http_requests_total', healthz), 1);
  });

  test('security events and issued tokens are counted', async () => {
    const { app, metrics } = await appWithMetrics();
    let text = await scrape(app);
    // Every series is there from the start, at 0.
    assert.equal(sample(text, 'gatehouse_sign_ins_total', { outcome: 'success' }), 0);
    assert.equal(sample(text, 'gatehouse_sign_ins_total', { outcome: 'failure' }), 0);
    assert.equal(sample(text, 'gatehouse_lockouts_total'), 0);
    assert.equal(sample(text, 'gatehouse_refresh_token_reuse_total'), 0);
    for (const kind of ['access', 'refresh', 'id']) assert.equal(sample(text, 'gatehouse_tokens_issued_total', { kind }), 0);

    metrics.securityEvent('sign_in', 'success');
    metrics.securityEvent('sign_in', 'failure', 'bad_password');
    metrics.securityEvent('sign_in', 'failure', 'locked');
    metrics.securityEvent('user.locked', 'success');
    metrics.securityEvent('refresh_token.reused', 'failure');
    metrics.securityEvent('user.created', 'success'); // not a counted action: ignored
    metrics.tokensIssued('access');
    metrics.tokensIssued('refresh');
    metrics.tokensIssued('id', 2);
    metrics.tokensIssued('access', 3);

    text = await scrape(app);
    assert.equal(sample(text, 'gatehouse_sign_ins_total', { outcome: 'success' }), 1);
    assert.equal(sample(text, 'gatehouse_sign_ins_total', { outcome: 'failure' }), 2);
    assert.equal(sample(text, 'gatehouse_lockouts_total'), 1);
    assert.equal(sample(text, 'gatehouse_refresh_token_reuse_total'), 1);
    assert.equal(sample(text, 'gatehouse_tokens_issued_total', { kind: 'access' }), 4);
    assert.equal(sample(text, 'gatehouse_tokens_issued_total', { kind: 'refresh' }), 1);
    assert.equal(sample(text, 'gatehouse_tokens_issued_total', { kind: 'id' }), 2);
    assert.ok(!text.includes('bad_password'), 'a reason is not a label');
    assert.match(text, /^# TYPE gatehouse_sign_ins_total counter$/m);
  });

  test('gatehouse_users and gatehouse_api_keys_active count the database at scrape time', async () => {
    const { app } = await appWithMetrics();
    let text = await scrape(app);
    assert.equal(sample(text, 'gatehouse_users'), 0);
    assert.equal(sample(text, 'gatehouse_api_keys_active'), 0);

    await createUser(app);
    await createUser(app);
    const kept = await mintKey(app, ['ORG-ADMIN']);
    const dropped = await mintKey(app, ['CHAT-USER']);
    text = await scrape(app);
    assert.equal(sample(text, 'gatehouse_users'), 2);
    assert.equal(sample(text, 'gatehouse_api_keys_active'), 2);

    const off = await app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${dropped.id}`, headers: kept.auth });
    assert.equal(off.statusCode, 200);
    text = await scrape(app);
    assert.equal(sample(text, 'gatehouse_api_keys_active'), 1, 'a deactivated key is not active');
    assert.equal(sample(text, 'gatehouse_users'), 2);
  });

  test('when the database cannot count, the scrape still answers, with the gauges NaN', async () => {
    const { app, closeDatabase } = await appWithMetrics();
    await app.inject({ method: 'GET', url: '/healthz' });
    await closeDatabase();
    const text = await scrape(app);
    assert.match(text, /^gatehouse_users NaN$/m, 'users is NaN, spelled as the exposition format spells it');
    assert.ok(Number.isNaN(sample(text, 'gatehouse_api_keys_active')), 'api keys is NaN');
    assert.equal(sample(text, 'gatehouse_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }), 1, 'the rest is there');
  });

  test('a count that does not answer in time reads NaN, and the scrape answers at the time limit', async () => {
    const metrics = createMetrics();
    const failures: string[] = [];
    metrics.countOnScrape({ users: () => new Promise<number>(() => {}), apiKeysActive: async () => 3 }, (_err, metric) => failures.push(metric));
    const started = Date.now();
    const text = await metrics.render();
    const took = Date.now() - started;
    assert.ok(took >= SCRAPE_COUNT_TIMEOUT_MS - 50 && took < SCRAPE_COUNT_TIMEOUT_MS + 1000, `answered after ${took} ms`);
    assert.ok(Number.isNaN(sample(text, 'gatehouse_users')));
    assert.equal(sample(text, 'gatehouse_api_keys_active'), 3);
    assert.deepEqual(failures, ['gatehouse_users']);
    assert.throws(() => metrics.countOnScrape({ users: async () => 0, apiKeysActive: async () => 0 }, () => {}), /already/);
  });
});

describe('GATEHOUSE_METRICS_TOKEN', () => {
  test('without it /metrics is public, whatever credentials come along', async () => {
    const { app } = await appWithMetrics();
    await scrape(app);
    await scrape(app, { authorization: 'Bearer whatever-this-is' });
  });

  test('with it, /metrics answers 401 without the token or with a wrong one, and 200 with it', async () => {
    const { app } = await appWithMetrics({ GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN });
    const refusals: [Record<string, string>, string][] = [
      [{}, 'Requires authentication'],
      [{ authorization: `Bearer ${METRICS_TOKEN}x` }, 'Bad credentials'],
      [{ authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` }, 'Bad credentials'],
      [{ authorization: `Basic ${METRICS_TOKEN}` }, 'Bad credentials'],
      [{ authorization: METRICS_TOKEN }, 'Bad credentials'],
      [ADMIN, 'Bad credentials'], // an API credential is not the scrape token
      [{ cookie: `ACCESS_TOKEN=Bearer ${METRICS_TOKEN}` }, 'Requires authentication'],
    ];
    for (const [headers, detail] of refusals) {
      const res = await app.inject({ method: 'GET', url: '/metrics', headers });
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.deepEqual(res.json(), { detail });
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      assert.ok(!res.body.includes('gatehouse_'), 'no metric leaks into a refusal');
    }
    const text = await scrape(app, { authorization: `Bearer ${METRICS_TOKEN}` });
    assert.match(text, /^gatehouse_http_requests_total\{/m);
    assert.equal(sample(text, 'gatehouse_http_requests_total', { method: 'GET', route: '/metrics', status: '401' }), refusals.length);
    await scrape(app, { authorization: `bearer   ${METRICS_TOKEN}  ` });
  });

  test('the token guards /metrics only: the probes stay public', async () => {
    const { app } = await appWithMetrics({ GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN });
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  });

  test('with a metrics port of its own, the API port has no /metrics', async () => {
    const { app } = await appWithMetrics({ GATEHOUSE_METRICS_PORT: '9464' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { detail: 'Not Found' });
  });
});
