import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { requestDurations } from './request-durations.ts';

/** Latency buckets in seconds: fine-grained below 10 ms, where the hot paths live. Dashboards depend on them. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const PREFIX = 'gatehouse_';

/** A scrape-time count that takes longer than this is reported as unknown (NaN) rather than holding the scrape. */
export const SCRAPE_COUNT_TIMEOUT_MS = 2000;

export type SecurityOutcome = 'success' | 'failure';
export type TokenKind = 'access' | 'refresh' | 'id';

/** What the scrape-time gauges count; each call is one cheap query. */
export interface ScrapeCounts {
  /** Every user, enabled or not. */
  users(): Promise<number>;
  /** API keys that are active and unexpired (they could authenticate now). */
  apiKeysActive(): Promise<number>;
}

let runtimeRegistry: Registry | undefined;

/**
 * Node runtime metrics (event loop delay, heap, GC, CPU, memory, handles) describe the process, not one app, and
 * `collectDefaultMetrics` starts an event-loop monitor and a GC observer that can never be stopped. So they live in
 * one registry per process, made on first use and shared by every app in it; each app's own series are in its own.
 */
function runtime(): Registry {
  if (!runtimeRegistry) {
    runtimeRegistry = new Registry();
    collectDefaultMetrics({ register: runtimeRegistry, prefix: PREFIX });
  }
  return runtimeRegistry;
}

/** `work()`'s answer, or a rejection once `ms` have passed without one. */
async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    // work() first: if it throws at once, no timer is left to reject with nobody listening.
    return await Promise.race([
      work(),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The app's Prometheus metrics, on prom-client with a registry of its own (several apps in one process, as in the
 * tests, never share a series). Request series are labelled by route template, never by raw URL, so their number
 * stays bounded.
 */
export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  const started = Date.now();

  const requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const durations = requestDurations({ name: `${PREFIX}http_request_duration_seconds`, help: 'Time to answer HTTP requests.', buckets: BUCKETS, registers });
  new Gauge({
    name: `${PREFIX}process_uptime_seconds`,
    help: 'Seconds since the process started serving.',
    registers,
    collect() {
      this.set((Date.now() - started) / 1000);
    },
  });
  const signIns = new Counter({
    name: `${PREFIX}sign_ins_total`,
    help: 'Sign-ins (password grant, login page), by outcome: success or failure.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const lockouts = new Counter({ name: `${PREFIX}lockouts_total`, help: 'Accounts locked after repeated failed sign-ins.', registers });
  const refreshTokenReuse = new Counter({
    name: `${PREFIX}refresh_token_reuse_total`,
    help: 'Refresh tokens presented again after use (each ends its grant: the token was likely stolen).',
    registers,
  });
  const tokensIssued = new Counter({
    name: `${PREFIX}tokens_issued_total`,
    help: 'Tokens issued, by kind: access, refresh or id.',
    labelNames: ['kind'] as const,
    registers,
  });
  // Every series exists from the start at 0, so rate() and alerts see the first event as an increase.
  for (const outcome of ['success', 'failure'] as const) signIns.inc({ outcome }, 0);
  for (const kind of ['access', 'refresh', 'id'] as const) tokensIssued.inc({ kind }, 0);

  let counting = false;
  // Each request series (method, route, status) is looked up once per request by one string key, and counted through
  // a labelled child and an observer made at its first request: prom-client checks and hashes a label object on
  // every inc/observe given one, and this runs on every request. The keys are bounded as the series are (route
  // templates, never raw URLs).
  const series = new Map<string, { requests: { inc(): void }; observe: (seconds: number) => void }>();

  return {
    observe(method: string, route: string, status: number, seconds: number): void {
      const key = `${status} ${method} ${route}`;
      let one = series.get(key);
      if (one === undefined) {
        const labels = { method, route, status: String(status) };
        one = { requests: requests.labels(labels), observe: durations.series(key, labels) };
        series.set(key, one);
      }
      one.requests.inc();
      one.observe(seconds);
    },

    /**
     * Counts a security event. Call it with the audit trail's action and outcome whenever such an event happens;
     * every other action is ignored, so every audit event may be passed through. The actions counted:
     * - `'sign_in'` → `gatehouse_sign_ins_total{outcome}`, outcome `'success'` or `'failure'`
     * - `'user.locked'` → `gatehouse_lockouts_total` (whatever the outcome)
     * - `'refresh_token.reused'` → `gatehouse_refresh_token_reuse_total` (whatever the outcome)
     * `reason` is accepted for the caller's convenience but is not a label: free text would make series unbounded
     * (and could carry personal data).
     */
    securityEvent(action: string, outcome: SecurityOutcome, reason?: string): void {
      void reason;
      if (action === 'sign_in') signIns.inc({ outcome });
      else if (action === 'user.locked') lockouts.inc();
      else if (action === 'refresh_token.reused') refreshTokenReuse.inc();
    },

    /** Counts `n` tokens issued of `kind` into `gatehouse_tokens_issued_total{kind}`. */
    tokensIssued(kind: TokenKind, n = 1): void {
      tokensIssued.inc({ kind }, n);
    },

    /**
     * Adds `gatehouse_users` and `gatehouse_api_keys_active`, counted when scraped. A count that fails or takes over
     * SCRAPE_COUNT_TIMEOUT_MS (the database is down, say) is reported as NaN and passed to `onError`; the scrape
     * still answers. Call once.
     */
    countOnScrape(counts: ScrapeCounts, onError: (err: unknown, metric: string) => void): void {
      if (counting) throw new Error('countOnScrape was already called');
      counting = true;
      const gauge = (name: string, help: string, count: () => Promise<number>) =>
        new Gauge({
          name,
          help,
          registers,
          async collect() {
            try {
              this.set(await within(SCRAPE_COUNT_TIMEOUT_MS, count));
            } catch (err) {
              this.set(Number.NaN);
              onError(err, name);
            }
          },
        });
      gauge(`${PREFIX}users`, 'Users in the database, enabled or not (NaN when the count failed).', counts.users);
      gauge(`${PREFIX}api_keys_active`, 'API keys active and unexpired (NaN when the count failed).', counts.apiKeysActive);
    },

    contentType: registry.contentType,

    /** The Prometheus text: this app's series, then the process's runtime metrics. */
    async render(): Promise<string> {
      const text = await Registry.merge([registry, runtime()]).metrics();
      // prom-client writes NaN as "Nan"; the exposition format's spelling is "NaN", which strict parsers expect.
      return text.replace(/ Nan$/gm, ' NaN');
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function recordRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
