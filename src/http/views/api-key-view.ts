import type { ApiKey } from '../../domain/ports.ts';

export interface ApiKeyView {
  id: string;
  prefix: string;
  description: string | null;
  roles: string[];
  is_active: boolean;
  created_at: string;
  deactivated_at: string | null;
  expires_at: string | null;
  last_used_at: string | null;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function apiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    prefix: key.prefix,
    description: key.description,
    roles: key.roles,
    is_active: key.isActive,
    created_at: new Date(key.createdAt).toISOString(),
    deactivated_at: iso(key.deactivatedAt),
    expires_at: iso(key.expiresAt),
    last_used_at: iso(key.lastUsedAt),
  };
}
