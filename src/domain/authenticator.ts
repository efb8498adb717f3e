import { ADMIN_KEY_ROLE } from './access.ts';
import { API_KEY_PREFIX } from './api-keys.ts';
import { ADMIN_KEY_PRINCIPAL_ID, type Principal } from './principal.ts';
import type { ApiKeyStore } from './ports.ts';

/** Resolves one bearer credential to a principal, or undefined when it is not one this resolver knows. */
export type CredentialResolver = (credential: string) => Promise<Principal | undefined> | Principal | undefined;

export interface AuthenticatorDeps {
  apiKeys: ApiKeyStore;
  /** The configured admin key, or null. */
  adminKey: string | null;
  digest(secret: string): string;
  constantTimeEqual(a: string, b: string): boolean;
  /** Further resolvers (access tokens) tried after the admin key and API keys. */
  extra?: CredentialResolver[];
}

/**
 * Turns a bearer credential into a principal. No password hashing happens here: API keys are 256-bit random
 * secrets, so one SHA-256 and one indexed lookup is both safe and fast (DESIGN.md, hot paths).
 */
export function createAuthenticator(deps: AuthenticatorDeps): (credential: string) => Promise<Principal | undefined> {
  const { apiKeys, adminKey, digest, constantTimeEqual } = deps;
  const adminPrincipal: Principal = {
    kind: 'admin_key',
    id: ADMIN_KEY_PRINCIPAL_ID,
    roles: [ADMIN_KEY_ROLE, 'ORG-ADMIN'],
    email: null,
    firstName: null,
    lastName: null,
  };

  return async (credential) => {
    if (adminKey !== null && constantTimeEqual(credential, adminKey)) return adminPrincipal;
    if (credential.startsWith(API_KEY_PREFIX)) {
      const key = await apiKeys.findActiveBySecretHash(digest(credential));
      if (!key) return undefined;
      return { kind: 'api_key', id: key.id, roles: key.roles, email: null, firstName: null, lastName: null };
    }
    for (const resolve of deps.extra ?? []) {
      const principal = await resolve(credential);
      if (principal) return principal;
    }
    return undefined;
  };
}
