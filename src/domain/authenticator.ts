import { ADMIN_KEY_ROLE, ADMIN_ROLE } from './access.ts';
import { API_KEY_PREFIX } from './api-keys.ts';
import type { CachedPrincipal, PrincipalCache } from './principal-cache.ts';
import { ADMIN_KEY_PRINCIPAL_ID, type Principal } from './principal.ts';
import type { ApiKeyStore } from './ports.ts';

/** Resolves one bearer credential to a principal, or undefined when it is not one this resolver knows. */
export type CredentialResolver = (credential: string) => Promise<CachedPrincipal | undefined> | CachedPrincipal | undefined;

export interface AuthenticatorDeps {
  apiKeys: ApiKeyStore;
  /** The configured admin key, or null. */
  adminKey: string | null;
  digest(secret: string): string;
  /** Builds a constant-time check for one fixed secret. */
  secretMatcher(secret: string): (candidate: string) => boolean;
  /** Further resolvers (access tokens) tried after the admin key and API keys. */
  extra?: CredentialResolver[];
  cache: PrincipalCache;
}

/**
 * Turns a bearer credential into a principal. No password hashing happens here: API keys are 256-bit random
 * secrets, so one SHA-256 and one indexed lookup is both safe and fast (DESIGN.md, hot paths) — and a credential
 * seen in the last moments is answered from the principal cache without the lookup.
 */
export function createAuthenticator(deps: AuthenticatorDeps): (credential: string) => Principal | undefined | Promise<Principal | undefined> {
  const { apiKeys, adminKey, digest } = deps;
  const isAdminKey = adminKey === null ? () => false : deps.secretMatcher(adminKey);
  const adminPrincipal: Principal = {
    kind: 'admin_key',
    id: ADMIN_KEY_PRINCIPAL_ID,
    roles: [ADMIN_KEY_ROLE, ADMIN_ROLE],
    email: null,
    firstName: null,
    lastName: null,
  };

  async function resolve(credential: string): Promise<CachedPrincipal | undefined> {
    if (credential.startsWith(API_KEY_PREFIX)) {
      const key = await apiKeys.findActiveBySecretHash(digest(credential));
      if (!key) return undefined;
      return { principal: { kind: 'api_key', id: key.id, roles: key.roles, email: null, firstName: null, lastName: null } };
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
    if (isAdminKey(credential)) return adminPrincipal;
    const key = digest(credential);
    const cached = deps.cache.get(key);
    if (cached) return cached;
    const generation = deps.cache.generation();
    return resolve(credential).then((found) => {
      if (!found) return undefined;
      deps.cache.set(key, found, generation);
      return found.principal;
    });
  };
}
