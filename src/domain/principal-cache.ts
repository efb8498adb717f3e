import type { Principal } from './principal.ts';
import type { Clock } from './ports.ts';

/**
 * Recently authenticated credentials, so the hot path (every request) costs one SHA-256 and a map lookup instead
 * of a database round trip. Keyed by the credential's digest, never the credential itself.
 *
 * Revocation stays prompt: a change made through this process (key deactivated, password reset or changed, user
 * deleted) drops that principal's entries at once, and entries live at most `ttlMs`, which bounds how long a
 * change made on ANOTHER replica can go unnoticed here (the contract allows 1 s). A lookup that began before an
 * invalidation cannot put its stale answer back: fills carry the generation they started in.
 */
export interface CachedPrincipal {
  principal: Principal;
  /** Epoch ms after which the credential itself is no longer valid (an access token's exp), if it has one. */
  validUntil?: number;
}

export function createPrincipalCache(opts: { ttlMs: number; maxEntries: number; clock: Clock }) {
  const { ttlMs, maxEntries, clock } = opts;
  const entries = new Map<string, { principal: Principal; expiresAt: number }>();
  let generation = 0;

  return {
    get(digest: string): Principal | undefined {
      const entry = entries.get(digest);
      if (!entry) return undefined;
      if (entry.expiresAt <= clock.now()) {
        entries.delete(digest);
        return undefined;
      }
      return entry.principal;
    },

    /** Call before resolving a credential; pass the result to `set`. */
    generation: () => generation,

    set(digest: string, value: CachedPrincipal, startedIn: number): void {
      if (ttlMs <= 0 || startedIn !== generation) return;
      const expiresAt = Math.min(clock.now() + ttlMs, value.validUntil ?? Number.POSITIVE_INFINITY);
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(digest, { principal: value.principal, expiresAt });
    },

    /** Forgets every cached credential of this principal (a user id or an API key id). */
    revoke(principalId: string): void {
      generation += 1;
      for (const [digest, entry] of entries) if (entry.principal.id === principalId) entries.delete(digest);
    },

    /** Forgets everything: a change that touches many principals at once (a group's roles). */
    revokeAll(): void {
      generation += 1;
      entries.clear();
    },
  };
}

export type PrincipalCache = ReturnType<typeof createPrincipalCache>;

/** What services tell when a principal's credentials stop being valid. */
export interface Revocations {
  revoked(principalId: string): void;
  /** Many principals changed at once (a group's roles or members); optional where nothing is cached. */
  revokedAll?(): void;
}
