import { ADMIN_KEY_ROLE, ADMIN_ROLE } from './access.ts';
import { API_KEY_PREFIX, isExpired } from './api-keys.ts';
import type { CachedPrincipal, PrincipalCache } from './principal-cache.ts';
import { ADMIN_KEY_PRINCIPAL_ID, type Principal } from './principal.ts';
import type { ApiKeyStore, Clock } from './ports.ts';

/** An API key's `last_used_at` is written at most this often per key by one process. */
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;
/** Past this many remembered keys, entries older than the interval are dropped (they no longer hold a write back). */
const LAST_USED_MEMORY = 10_000;

/** Resolves one bearer credential to a principal, or undefined when it is not one this resolver knows. */
export type CredentialResolver = (credential: string) => Promise<CachedPrincipal | undefined> | CachedPrincipal | undefined;

export interface AuthenticatorDeps {
  apiKeys: ApiKeyStore;
  /** The configured admin key, or null. */
  adminKey: string | null;
  digest(secret: string): string;
  /**
   * Builds a constant-time check of a candidate's `digest` against one fixed secret's: the credential is digested
   * once per request, for the admin-key check and the cache key alike.
   */
  digestMatcher(secret: string): (candidateDigest: string) => boolean;
  /** Further resolvers (access tokens) tried after the admin key and API keys. */
  extra?: CredentialResolver[];
  cache: PrincipalCache;
  clock: Clock;
  /** Told when recording an API key's last use failed (the request it came from is not affected). */
  onBackgroundError?: (err: unknown) => void;
}

/**
 * Turns a bearer credential into a principal. No password hashing happens here: API keys are 256-bit random
 * secrets, so one SHA-256 and one indexed lookup is both safe and fast (DESIGN.md, hot paths) — and a credential
 * seen in the last moments is answered from the principal cache without the lookup.
 */
export function createAuthenticator(deps: AuthenticatorDeps): (credential: string) => Principal | undefined | Promise<Principal | undefined> {
  const { apiKeys, adminKey, digest, clock } = deps;
  const isAdminKey = adminKey === null ? () => false : deps.digestMatcher(adminKey);
  const adminPrincipal: Principal = {
    kind: 'admin_key',
    id: ADMIN_KEY_PRINCIPAL_ID,
    roles: [ADMIN_KEY_ROLE, ADMIN_ROLE],
    email: null,
    firstName: null,
    lastName: null,
  };

  // keyId → when this process last wrote (or found) its last use: a busy key costs one write a minute, not one a request.
  const lastUseWritten = new Map<string, number>();

  /** Records an API key's use without making the request wait for it, or fail with it. */
  function noteUse(keyId: string, now: number, recorded?: number): void {
    const previous = lastUseWritten.get(keyId) ?? recorded;
    // (A clock that went backwards also writes nothing: the recorded time is not moved back.)
    if (previous !== undefined && now - previous < LAST_USED_WRITE_INTERVAL_MS) {
      if (!lastUseWritten.has(keyId)) lastUseWritten.set(keyId, previous);
      return;
    }
    if (lastUseWritten.size >= LAST_USED_MEMORY) {
      for (const [id, at] of lastUseWritten) if (now - at >= LAST_USED_WRITE_INTERVAL_MS) lastUseWritten.delete(id);
    }
    lastUseWritten.set(keyId, now);
    try {
      apiKeys.recordUse(keyId, now).catch((err: unknown) => deps.onBackgroundError?.(err));
    } catch (err) {
      deps.onBackgroundError?.(err);
    }
  }

  async function resolve(credential: string): Promise<CachedPrincipal | undefined> {
    if (credential.startsWith(API_KEY_PREFIX)) {
      const key = await apiKeys.findActiveBySecretHash(digest(credential));
      const now = clock.now();
      if (!key || isExpired(key, now)) return undefined;
      noteUse(key.id, now, key.lastUsedAt);
      return {
        principal: { kind: 'api_key', id: key.id, roles: key.roles, email: null, firstName: null, lastName: null },
        // The cache must not answer for the key past its expiry either.
        ...(key.expiresAt === undefined ? {} : { validUntil: key.expiresAt }),
      };
    }
    for (const next of deps.extra ?? []) {
      const found = await next(credential);
      if (found) return found;
    }
    return undefined;
  }

  // Synchronous when the answer is at hand (admin key, cached credential): most requests then never wait on a
  // promise here.
  return (credential) => {
    const key = digest(credential);
    if (isAdminKey(key)) return adminPrincipal;
    const cached = deps.cache.get(key);
    if (cached) {
      if (cached.kind === 'api_key') noteUse(cached.id, clock.now());
      return cached;
    }
    const generation = deps.cache.generation();
    return resolve(credential).then((found) => {
      if (!found) return undefined;
      deps.cache.set(key, found, generation);
      return found.principal;
    });
  };
}
