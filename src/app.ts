import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.ts';
import { systemClock, type Clock, type PasswordHasher } from './domain/ports.ts';
import { authPlugin } from './http/auth.ts';
import { auditLogLine } from './http/audit-log-line.ts';
import { registerRequestContext } from './http/request-context-hook.ts';
import { auditRoutes } from './http/routes/audit.ts';
import { registerErrorHandling } from './http/error-handler.ts';
import { lazyChildLogger } from './http/lazy-logger.ts';
import { loggerOptions } from './http/logger-options.ts';
import { BODY_LIMIT_BYTES, clientErrorHandler, MAX_HEADER_BYTES, MAX_PARAM_LENGTH } from './http/limits.ts';
import { JsonTooDeepError, jsonDepthExceeds, MAX_JSON_DEPTH } from './http/json-depth.ts';
import { registerSecurityHeaders, SECURITY_HEADERS } from './http/security-headers.ts';
import { scrapeGuard } from './http/metrics-access.ts';
import { createMetrics, recordRequestMetrics, type Metrics, type ScrapeCounts } from './http/metrics.ts';
import { registerOpenApi } from './http/openapi.ts';
import { createRateLimiter } from './http/rate-limit.ts';
import { apiKeyRoutes } from './http/routes/api-keys.ts';
import { clientRoutes } from './http/routes/clients.ts';
import { signInBrowserRoutes } from './http/routes/sign-in-browser.ts';
import { consoleRoutes } from './http/routes/console.ts';
import { tokenRoutes } from './http/routes/token.ts';
import { loginRoutes } from './http/routes/login.ts';
import { wellKnownRoutes } from './http/routes/well-known.ts';
import { operationRoutes } from './http/routes/operations.ts';
import { groupRoutes } from './http/routes/groups.ts';
import { userLifecycleRoutes } from './http/routes/user-lifecycle.ts';
import { userRoutes } from './http/routes/users.ts';
import { recordSessionUse, sessionRoutes } from './http/routes/sessions.ts';
import { SCIM_PREFIX, scimRoutes } from './http/routes/scim.ts';
import { validatorCompiler } from './http/validation.ts';
import { constantTimeEqual, randomSecret, sha256Hex } from './security/secrets.ts';
import { createServices, type Services } from './services.ts';
import type { Database } from './store/database.ts';

export interface AppDeps {
  database: Database;
  hasher: PasswordHasher;
  clock?: Clock;
  /** A pino destination for the logs (tests capture them); defaults to standard output. */
  logStream?: NodeJS.WritableStream;
  /** Colour pretty logs (GATEHOUSE_LOG_FORMAT=pretty): the server decides, by whether the output is a terminal. */
  logColours?: boolean;
  /** Services already wired on this database (the server shares them with the bootstrap); made here if absent. */
  services?: Services;
  /**
   * The metrics the app records into (the server makes them first, to serve them on GATEHOUSE_METRICS_PORT and to
   * hand `securityEvent` to whatever reports security events); made here if absent.
   */
  metrics?: Metrics;
}

export const VERSION = '0.1.0';

// Request ids from a caller are reused only when they look like ids, so nobody can inject text into log lines.
const REQUEST_ID = /^[\w.:-]{1,128}$/;


/**
 * The counts behind the scrape-time gauges: one query each. Users through the user service (its count with no
 * terms or filters is a plain count); live API keys straight from the table, since the key service only lists them
 * all, and a metrics scrape should not read every key ever minted.
 */
function scrapeCounts(services: Services, database: Database, clock: Clock): ScrapeCounts {
  return {
    users: () => services.users.count({ searchString: undefined }),
    apiKeysActive: async () => {
      const now = clock.now();
      const { n } = await database.db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('is_active', '=', 1)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .executeTakeFirstOrThrow();
      return Number(n);
    },
  };
}

/** Builds the whole HTTP application on the given database. Never listens and never reads `process.env`. */
export async function buildApp(config: Readonly<Config>, deps: AppDeps): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const app = Fastify({
    logger: loggerOptions(config, deps.logStream, deps.logColours ?? false),
    childLoggerFactory: lazyChildLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Path ids up to 1 KiB reach the route (so an unknown one is a proper 404); longer paths are 414 (see below).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      reply.headers(SECURITY_HEADERS).header('x-request-id', request.id); // no hook runs for these
      // `reply` here is typed for no route in particular, hence the cast; the body is the usual ErrorDetail.
      void reply.code(tooLong ? 414 : 400).send({ detail: tooLong ? 'URI too long' : 'Malformed URL' } as never);
    },
    trustProxy: config.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    // A client must deliver its whole request within this time (slow-loris defence); the check runs every second.
    requestTimeout: config.requestTimeoutMs,
    http: { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000 } as never,
    clientErrorHandler,
    ajv: { customOptions: { allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // An empty JSON body is "no body", not a parse error: DELETE /users/{id} sent with a JSON content type must
  // work, and a route that needs a body still answers 422 `missing` at ["body"] through validation. Nesting is
  // bounded before parsing, so a few kilobytes of brackets cannot exhaust the stack later on.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return done(new JsonTooDeepError(), undefined);
    parseJson(request, text, done);
  });
  // First of all hooks: every later hook and handler runs in the request's context (audit actor and origin).
  registerRequestContext(app);
  registerErrorHandling(app, deps.database.isUnavailable);

  await registerSecurityHeaders(app, config.corsOrigins);
  const metrics = deps.metrics ?? createMetrics();
  recordRequestMetrics(app, metrics);
  await registerOpenApi(app, VERSION);

  const warn = (err: unknown, what: string) => app.log.warn({ err }, what);
  const services = deps.services ?? (await createServices(config, { database: deps.database, hasher: deps.hasher, clock, warn }));
  services.tokenListeners.push((kind) => metrics.tokensIssued(kind));
  services.auditListeners.push(auditLogLine(app.log), (event) => metrics.securityEvent(event.action, event.outcome, typeof event.details.reason === 'string' ? event.details.reason : undefined));
  const { users, apiKeys, signer, sessions, authenticate, clients, signIn, tokens, userSessions, groups } = services;
  // The OpenID Connect endpoints live under the issuer's path, as Keycloak's live under /realms/{realm}.
  const base = new URL(config.issuer).pathname.replace(/\/+$/, '');
  const rateLimit = createRateLimiter(config.authRateLimitPerMinute, clock);

  metrics.countOnScrape(scrapeCounts(services, deps.database, clock), (err, metric) => app.log.warn({ err }, `could not count ${metric} for /metrics`));
  // With a port of its own (GATEHOUSE_METRICS_PORT, served by src/server.ts), /metrics is not on the API port at all.
  const served = config.metricsPort === null ? { metrics, guard: scrapeGuard(config.metricsToken) } : undefined;
  await app.register(operationRoutes, { metrics: served, ping: deps.database.ping });
  await app.register(wellKnownRoutes, { signer, tokens, issuer: config.issuer, base });
  await app.register(loginRoutes, { sessions, rateLimit });
  await app.register(tokenRoutes, { sessions, signIn, clients, tokens, rateLimit, userSessions, base });
  await app.register(signInBrowserRoutes, {
    signIn,
    clients,
    tokens,
    rateLimit,
    issuer: config.issuer,
    base,
    sessionTtlSeconds: config.sessionTtlSeconds,
    randomSecret: () => randomSecret(32),
    digest: sha256Hex,
    equal: constantTimeEqual,
  });
  await app.register(consoleRoutes, { issuer: config.issuer });
  await app.register(async (protectedApp) => {
    await protectedApp.register(authPlugin, { authenticate });
    protectedApp.addHook('onResponse', recordSessionUse(userSessions));
    await protectedApp.register(userRoutes, { users, exporter: services.userExport, now: () => clock.now() });
    await protectedApp.register(userLifecycleRoutes, { users });
    await protectedApp.register(groupRoutes, { groups, users });
    await protectedApp.register(apiKeyRoutes, { apiKeys });
    await protectedApp.register(clientRoutes, { clients });
    await protectedApp.register(sessionRoutes, { userSessions });
    await protectedApp.register(auditRoutes, { trail: services.auditTrail });
  });
  // SCIM 2.0 provisioning: its own content type, error shape and authentication context (bearer keys only).
  await app.register(scimRoutes, { prefix: SCIM_PREFIX, services, database: deps.database, clock, authenticate });

  return app;
}
