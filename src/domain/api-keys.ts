import { firstUnknownRole, normaliseRoles, type AssignableRole } from './access.ts';
import { errors } from './errors.ts';
import { uuidv7 } from './ids.ts';
import type { Revocations } from './principal-cache.ts';
import type { ApiKey, ApiKeyStore, Clock } from './ports.ts';

/** Minting needs fresh randomness and a one-way digest; `security/secrets.ts` provides both. */
export interface SecretTools {
  randomSecret(): string;
  digest(secret: string): string;
}

export const API_KEY_PREFIX = 'gk_';
const SHOWN_PREFIX_LENGTH = 11;

export interface ApiKeyView {
  id: string;
  prefix: string;
  description: string | null;
  roles: AssignableRole[];
  is_active: boolean;
  created_at: string;
  deactivated_at: string | null;
}

export function apiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    prefix: key.prefix,
    description: key.description,
    roles: key.roles,
    is_active: key.isActive,
    created_at: new Date(key.createdAt).toISOString(),
    deactivated_at: key.deactivatedAt === null ? null : new Date(key.deactivatedAt).toISOString(),
  };
}

export const DEFAULT_API_KEY_ROLES = ['VALIDATION-USER'];

export function createApiKeyService(deps: {
  apiKeys: ApiKeyStore;
  clock: Clock;
  secrets: SecretTools;
  maxActive: number;
  revocations: Revocations;
}) {
  const { apiKeys, clock, secrets, maxActive } = deps;

  return {
    /** Returns the stored key and the secret, which exists nowhere else after this call returns. */
    async mint(input: { description: string | null; roles: string[] }): Promise<{ key: ApiKey; secret: string }> {
      const unknown = firstUnknownRole(input.roles);
      if (unknown !== undefined) throw errors.unknownRole(unknown);
      const secret = API_KEY_PREFIX + secrets.randomSecret();
      const now = clock.now();
      const key: ApiKey = {
        id: uuidv7(now),
        prefix: secret.slice(0, SHOWN_PREFIX_LENGTH),
        description: input.description,
        roles: normaliseRoles(input.roles),
        isActive: true,
        createdAt: now,
        deactivatedAt: null,
      };
      const outcome = await apiKeys.insert({ ...key, secretHash: secrets.digest(secret) }, maxActive);
      if (outcome === 'limit_reached') throw errors.tooManyApiKeys();
      return { key, secret };
    },

    list: () => apiKeys.list(),

    async get(id: string): Promise<ApiKey> {
      const key = await apiKeys.findById(id);
      if (!key) throw errors.apiKeyNotFound();
      return key;
    },

    async deactivate(id: string): Promise<ApiKey> {
      const key = await apiKeys.deactivate(id, clock.now());
      if (!key) throw errors.apiKeyNotFound();
      deps.revocations.revoked(id);
      return key;
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
