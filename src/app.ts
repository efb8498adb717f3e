import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.ts';
import { createApiKeyService } from './domain/api-keys.ts';
import { createAuthenticator } from './domain/authenticator.ts';
import { systemClock, type Clock, type PasswordHasher } from './domain/ports.ts';
import { createPrincipalCache } from './domain/principal-cache.ts';
import { createGroupService } from './domain/groups.ts';
import { createOAuthClientService } from './domain/oauth-clients.ts';
import { createSessionService } from './domain/sessions.ts';
import { createSignInService } from './domain/sign-in.ts';
import { createTokenIssuer } from './domain/token-issuer.ts';
import { createTokenManagement } from './domain/token-management.ts';
import { createUserService } from './domain/users.ts';
import { createUserSessionService } from './domain/user-sessions.ts';
import { authPlugin } from './http/auth.ts';
import { registerErrorHandling } from './http/error-handler.ts';
import { lazyChildLogger } from './http/lazy-logger.ts';
import { requestSerializer } from './http/log-redaction.ts';
import { BODY_LIMIT_BYTES, clientErrorHandler, MAX_HEADER_BYTES, MAX_PARAM_LENGTH } from './http/limits.ts';
import { JsonTooDeepError, jsonDepthExceeds, MAX_JSON_DEPTH } from './http/json-depth.ts';
import { registerSecurityHeaders, SECURITY_HEADERS } from './http/security-headers.ts';
import { createMetrics, recordRequestMetrics } from './http/metrics.ts';
import { registerOpenApi } from './http/openapi.ts';
import { createRateLimiter } from './http/rate-limit.ts';
import { apiKeyRoutes } from './http/routes/api-keys.ts';
import { clientRoutes } from './http/routes/clients.ts';
import { signInBrowserRoutes } from './http/routes/sign-in-browser.ts';
import { tokenRoutes } from './http/routes/token.ts';
import { loginRoutes } from './http/routes/login.ts';
import { wellKnownRoutes } from './http/routes/well-known.ts';
import { operationRoutes } from './http/routes/operations.ts';
import { groupRoutes } from './http/routes/groups.ts';
import { userLifecycleRoutes } from './http/routes/user-lifecycle.ts';
import { userRoutes } from './http/routes/users.ts';
import { recordSessionUse, sessionRoutes } from './http/routes/sessions.ts';
import { validatorCompiler } from './http/validation.ts';
import { createJwtSigner } from './security/jwt-signer.ts';
import { constantTimeEqual, randomSecret, s256, secretMatcher, sha256Hex } from './security/secrets.ts';
import { createAuthorizationCodeStore, createLoginInteractionStore } from './store/authorization-code-store.ts';
import { createGroupStore } from './store/group-store.ts';
import { createLoginSessionStore } from './store/login-session-store.ts';
import { createOAuthClientStore } from './store/oauth-client-store.ts';
import { createApiKeyStore } from './store/api-key-store.ts';
import type { Database } from './store/database.ts';
import { createLoginFailureStore } from './store/login-failure-store.ts';
import { createRefreshTokenStore } from './store/refresh-token-store.ts';
import { createSigningKeyStore } from './store/signing-key-store.ts';
import { createUserStore } from './store/user-store.ts';

export interface AppDeps {
  database: Database;
  hasher: PasswordHasher;
  clock?: Clock;
  /** A pino destination for the JSON logs (tests capture them); defaults to standard output. */
  logStream?: NodeJS.WritableStream;
}

export const VERSION = '0.1.0';

// Request ids from a caller are reused only when they look like ids, so nobody can inject text into log lines.
const REQUEST_ID = /^[\w.:-]{1,128}$/;

const looksLikeJwt = (credential: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(credential);

/** Builds the whole HTTP application on the given database. Never listens and never reads `process.env`. */
export async function buildApp(config: Readonly<Config>, deps: AppDeps): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Belt and braces: no serializer emits headers today, but a credential must never reach a log line.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'], censor: '[redacted]' },
      serializers: { req: requestSerializer as never },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
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
  registerErrorHandling(app, deps.database.isUnavailable);

  await registerSecurityHeaders(app, config.corsOrigins);
  const metrics = createMetrics();
  recordRequestMetrics(app, metrics);
  await registerOpenApi(app, VERSION);

  const { db, dialect } = deps.database;
  const secrets = { randomSecret: () => randomSecret(32), digest: sha256Hex };
  const userStore = createUserStore(db, dialect);
  const apiKeyStore = createApiKeyStore(db, dialect);
  // Per-process memory of recently authenticated credentials; every service that ends a credential tells it.
  const principalCache = createPrincipalCache({ ttlMs: config.authCacheTtlMs, maxEntries: 10_000, clock });
  const revocations = { revoked: (id: string) => principalCache.revoke(id), revokedAll: () => principalCache.revokeAll() };
  const loginFailures = createLoginFailureStore(db);
  const users = createUserService({
    users: userStore,
    hasher: deps.hasher,
    clock,
    revocations,
    failures: loginFailures,
    reauthWindowMs: config.reauthWindowSeconds * 1000,
  });
  const apiKeys = createApiKeyService({
    apiKeys: apiKeyStore,
    clock,
    secrets,
    maxActive: config.maxApiKeys,
    revocations,
    adminKeyConfigured: config.adminKey !== null,
  });
  const signer = await createJwtSigner({
    keys: createSigningKeyStore(db, dialect),
    issuer: config.issuer,
    audience: config.audience,
    accessTtlSeconds: config.accessTokenTtlSeconds,
    alg: config.signingAlg,
    clock,
  });
  const refreshTokens = createRefreshTokenStore(db);
  const loginSessions = createLoginSessionStore(db);
  const tokenIssuer = createTokenIssuer({
    signer,
    refreshTokens,
    sessions: loginSessions,
    clock,
    secrets,
    refreshTtlMs: config.refreshTokenTtlSeconds * 1000,
    sessionTtlMs: config.sessionTtlSeconds * 1000,
  });
  const sessions = createSessionService({
    users: userStore,
    hasher: deps.hasher,
    dummyHash: await deps.hasher.hash(randomSecret(32)),
    failures: loginFailures,
    refreshTokens,
    loginSessions,
    issuer: tokenIssuer,
    signer,
    clock,
    secrets,
    policy: {
      temporaryPasswordTtlMs: config.temporaryPasswordTtlSeconds * 1000,
      lockout: {
        threshold: config.lockoutThreshold,
        windowMs: config.lockoutWindowSeconds * 1000,
        lockMs: config.lockoutDurationSeconds * 1000,
      },
    },
    revocations,
  });
  const authenticate = createAuthenticator({
    apiKeys: apiKeyStore,
    adminKey: config.adminKey,
    digest: sha256Hex,
    secretMatcher,
    extra: [(credential) => (looksLikeJwt(credential) ? sessions.authenticateAccessToken(credential) : undefined)],
    cache: principalCache,
    clock,
    onBackgroundError: (err) => app.log.warn({ err }, "could not record an API key's last use"),
  });

  const signInSecrets = { ...secrets, equal: constantTimeEqual, s256 };
  const clients = createOAuthClientService({
    clients: createOAuthClientStore(db),
    clock,
    secrets: signInSecrets,
    newClientId: () => randomUUID(),
    revocations,
  });
  const signIn = createSignInService({
    users: userStore,
    clients,
    sessions,
    loginSessions,
    codes: createAuthorizationCodeStore(db),
    interactions: createLoginInteractionStore(db),
    issuer: tokenIssuer,
    clock,
    secrets: signInSecrets,
    revocations,
    issuerUrl: config.issuer,
  });
  const tokens = createTokenManagement({
    users: userStore,
    liveAccessToken: (token) => sessions.liveAccessToken(token),
    signer,
    refreshTokens,
    loginSessions,
    findClient: (id) => clients.find(id),
    clock,
    secrets,
    revocations,
    issuerUrl: config.issuer,
  });
  const userSessions = createUserSessionService({
    users: userStore,
    loginSessions,
    clock,
    revocations,
    onRecordError: (err) => app.log.warn({ err }, 'could not record the use of a login session'),
  });
  // The OpenID Connect endpoints live under the issuer's path, as Keycloak's live under /realms/{realm}.
  const base = new URL(config.issuer).pathname.replace(/\/+$/, '');
  const rateLimit = createRateLimiter(config.authRateLimitPerMinute, clock);

  await app.register(operationRoutes, { metrics, ping: deps.database.ping });
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
  await app.register(async (protectedApp) => {
    await protectedApp.register(authPlugin, { authenticate });
    protectedApp.addHook('onResponse', recordSessionUse(userSessions));
    await protectedApp.register(userRoutes, { users });
    await protectedApp.register(userLifecycleRoutes, { users });
    await protectedApp.register(groupRoutes, { groups: createGroupService({ groups: createGroupStore(db), clock, revocations }), users });
    await protectedApp.register(apiKeyRoutes, { apiKeys });
    await protectedApp.register(clientRoutes, { clients });
    await protectedApp.register(sessionRoutes, { userSessions });
  });

  return app;
}
