import { randomUUID } from 'node:crypto';
import type { Config } from './config.ts';
import { createApiKeyService } from './domain/api-keys.ts';
import { createAuthenticator } from './domain/authenticator.ts';
import { createGroupService } from './domain/groups.ts';
import { createOAuthClientService } from './domain/oauth-clients.ts';
import { consoleClient, withBuiltInClients } from './domain/console-client.ts';
import { systemClock, type Clock, type PasswordHasher } from './domain/ports.ts';
import { createPrincipalCache } from './domain/principal-cache.ts';
import { createSessionService } from './domain/sessions.ts';
import { createSignInService } from './domain/sign-in.ts';
import { createTokenIssuer } from './domain/token-issuer.ts';
import { createTokenManagement } from './domain/token-management.ts';
import { createUserSessionService } from './domain/user-sessions.ts';
import { createUserService } from './domain/users.ts';
import { createScimUserService } from './domain/scim-users.ts';
import { createJwtSigner } from './security/jwt-signer.ts';
import { withLegacyHashes } from './security/legacy-password.ts';
import { constantTimeEqual, digestMatcher, randomSecret, s256, sha256Hex } from './security/secrets.ts';
import { createApiKeyStore } from './store/api-key-store.ts';
import { createAuthorizationCodeStore, createLoginInteractionStore } from './store/authorization-code-store.ts';
import type { Database } from './store/database.ts';
import { createGroupStore } from './store/group-store.ts';
import { createLoginFailureStore } from './store/login-failure-store.ts';
import { createLoginSessionStore } from './store/login-session-store.ts';
import { createOAuthClientStore } from './store/oauth-client-store.ts';
import { createRefreshTokenStore } from './store/refresh-token-store.ts';
import { createSigningKeyStore } from './store/signing-key-store.ts';
import { createUserStore } from './store/user-store.ts';
import { createScimUserStore } from './store/scim-users.ts';
import { createAuditLog, createAuditReader, createAuditWriter, type AuditListener } from './store/audit-store.ts';
import { requestContext } from './request-context.ts';
import { createAuditTrail } from './domain/audit-log.ts';
import { auditVerificationFor } from './audit-verification.ts';
import { createUserExport } from './domain/user-export.ts';
import { createUserExportSource } from './store/user-export.ts';

export interface ServiceDeps {
  database: Database;
  hasher: PasswordHasher;
  clock?: Clock;
  /** Where failed background writes (a key's or a session's last use) are reported; they never fail a request. */
  warn?: (err: unknown, what: string) => void;
  /** Told of every audit event as its transaction commits (structured log line, metrics). */
  auditListeners?: AuditListener[];
}

const looksLikeJwt = (credential: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(credential);

/**
 * Every service, wired once on one database: the HTTP app, the bootstrap and the `gatehouse` command all use these,
 * so a rule lives in one service whichever door a change comes through.
 */
export async function createServices(config: Readonly<Config>, given: ServiceDeps) {
  // Imported password hashes (docs/import-export.md) are verified beside Gatehouse's own, whoever signs in.
  const deps = { ...given, hasher: withLegacyHashes(given.hasher) };
  const clock = deps.clock ?? systemClock;
  const warn = deps.warn ?? (() => {});
  const { db, dialect } = deps.database;
  const secrets = { randomSecret: () => randomSecret(32), digest: sha256Hex };
  const signInSecrets = { ...secrets, equal: constantTimeEqual, s256 };
  // Whoever serves the app adds its listeners here (the per-event log line, the security metrics).
  const auditListeners: AuditListener[] = [...(deps.auditListeners ?? [])];
  const tokenListeners: ((kind: 'access' | 'refresh' | 'id') => void)[] = [];
  const audit = createAuditWriter(dialect, { requestMeta: () => requestContext.current(), clock: () => clock.now(), listeners: auditListeners });
  const userStore = createUserStore(db, dialect, { audit });
  const apiKeyStore = createApiKeyStore(db, dialect, audit);
  const refreshTokens = createRefreshTokenStore(db);
  const loginSessions = createLoginSessionStore(db, dialect, audit);
  const loginFailures = createLoginFailureStore(db, dialect, audit);

  // Per-process memory of recently authenticated credentials; every service that ends a credential tells it.
  const principalCache = createPrincipalCache({ ttlMs: config.authCacheTtlMs, maxEntries: 10_000, clock });
  const revocations = { revoked: (id: string) => principalCache.revoke(id), revokedAll: () => principalCache.revokeAll() };

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
  const tokenIssuer = createTokenIssuer({
    signer,
    refreshTokens,
    sessions: loginSessions,
    clock,
    secrets,
    refreshTtlMs: config.refreshTokenTtlSeconds * 1000,
    sessionTtlMs: config.sessionTtlSeconds * 1000,
    onIssued: (kind) => {
      for (const listener of tokenListeners) listener(kind);
    },
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
    auditLog: createAuditLog(db, audit),
  });
  const authenticate = createAuthenticator({
    apiKeys: apiKeyStore,
    adminKey: config.adminKey,
    digest: sha256Hex,
    digestMatcher,
    extra: [(credential) => (looksLikeJwt(credential) ? sessions.authenticateAccessToken(credential) : undefined)],
    cache: principalCache,
    clock,
    onBackgroundError: (err) => warn(err, "could not record an API key's last use"),
  });
  const clients = createOAuthClientService({
    clients: withBuiltInClients(createOAuthClientStore(db, dialect, audit), [consoleClient(config.issuer)]),
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
    onRecordError: (err) => warn(err, 'could not record the use of a login session'),
  });
  // SCIM provisioning: reads through its own queries (filters as SQL), every change through the user service.
  const scimUsers = createScimUserService({ users, queries: createScimUserStore(db, dialect) });
  const groups = createGroupService({ groups: createGroupStore(db, dialect, audit), clock, revocations });

  const auditReader = createAuditReader(db);
  // The trail carries this process's chain verification (run by src/audit-maintenance.ts) for GET /audit/verification.
  const auditTrail = { ...createAuditTrail(auditReader), verification: auditVerificationFor(db, clock) };

  const userExport = createUserExport({ source: createUserExportSource(db, dialect), clock });

  return { clock, audit, auditListeners, tokenListeners, auditReader, auditTrail, users, scimUsers, userExport, apiKeys, signer, sessions, authenticate, clients, signIn, tokens, userSessions, groups };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
