import { ADMIN_ROLE, firstUnknownRole, normaliseRoles, type AssignableRole } from './access.ts';
import { DomainError, errors, ValidationError, valueError } from './errors.ts';
import { uuidv7 } from './ids.ts';
import { decodeCursor, encodeCursor } from './paging.ts';
import type { Revocations } from './principal-cache.ts';
import type { ApiKey, ApiKeyPosition, ApiKeyStore, Clock } from './ports.ts';
import type { AuditDraft } from './audit.ts';

/** Minting needs fresh randomness and a one-way digest; `security/secrets.ts` provides both. */
export interface SecretTools {
  randomSecret(): string;
  digest(secret: string): string;
}

export const API_KEY_PREFIX = 'gk_';
const SHOWN_PREFIX_LENGTH = 11;

export { DEFAULT_API_KEY_ROLES } from './access.ts';

/** Whether the key has expired at `now`: from its expiry instant on, it authenticates nothing. */
export function isExpired(key: Pick<ApiKey, 'expiresAt'>, now: number): boolean {
  return key.expiresAt !== undefined && key.expiresAt <= now;
}

// RFC 3339 date-time (the profile of ISO 8601 the OpenAPI `date-time` format means), with a required offset: a time
// without one names no instant, and a key's expiry must not depend on the server's time zone.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const daysIn = (year: number, month: number) =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/** The instant an RFC 3339 date-time names (epoch ms, fractions below a millisecond dropped), or undefined. */
export function parseDateTime(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (m[8] === undefined) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const exact = new Date(local);
  exact.setUTCFullYear(year);
  return exact.getTime() - offset;
}

/** The expiry a mint request asks for: epoch ms, or undefined for "never"; a 422 for anything malformed or past. */
function requestedExpiry(input: string | null | undefined, now: number): number | undefined {
  if (input === null || input === undefined) return undefined;
  const at = parseDateTime(input);
  const loc = ['expires_at'];
  if (at === undefined) {
    throw new ValidationError([valueError(loc, input, 'expires_at must be an RFC 3339 date-time with a time zone offset, e.g. 2030-01-31T12:00:00Z')]);
  }
  if (at <= now) throw new ValidationError([valueError(loc, input, 'expires_at must be in the future')]);
  return at;
}

// A page of keys continues after a position in the creation order: "<created_at>:<id>" inside the opaque cursor.
const POSITION = /^(\d{1,16}):([\w-]{1,200})$/;

export function encodeApiKeyCursor(position: ApiKeyPosition): string {
  return encodeCursor(`${position.createdAt}:${position.id}`);
}

function decodeApiKeyCursor(cursor: string | undefined): ApiKeyPosition | null {
  const position = decodeCursor(cursor, POSITION);
  if (position === null) return null;
  const [, createdAt, id] = POSITION.exec(position)!;
  return { createdAt: Number(createdAt), id: id! };
}

const keyTarget = (id: string) => ({ type: 'api_key', id });

/** What the trail says of a key: never its secret nor the secret's hash (the prefix is the part shown anyway). */
function keyDetails(key: ApiKey): Record<string, unknown> {
  return {
    prefix: key.prefix,
    roles: key.roles,
    description: key.description,
    expires_at: key.expiresAt === undefined ? null : new Date(key.expiresAt).toISOString(),
  };
}

export function createApiKeyService(deps: {
  apiKeys: ApiKeyStore;
  clock: Clock;
  secrets: SecretTools;
  maxActive: number;
  revocations: Revocations;
  /**
   * Whether GATEHOUSE_ADMIN_KEY is set. When it is not, the last active, unexpired ORG-ADMIN key cannot be
   * deactivated (nobody could administer anything afterwards). Absent counts as false: the safe side.
   */
  adminKeyConfigured?: boolean;
}) {
  const { apiKeys, clock, secrets, maxActive } = deps;
  const adminKeyConfigured = deps.adminKeyConfigured ?? false;

  return {
    /**
     * Returns the stored key and the secret, which exists nowhere else after this call returns. `expiresAt` is the
     * request's text (RFC 3339, in the future); null or absent: the key never expires. Records `api_key.minted`,
     * then the events `alsoRecord` makes of the key (the bootstrap's), in the insert's transaction.
     */
    async mint(
      input: { description: string | null; roles: string[]; expiresAt?: string | null | undefined },
      alsoRecord?: (key: ApiKey) => AuditDraft[],
    ): Promise<{ key: ApiKey; secret: string }> {
      const now = clock.now();
      // A malformed body field is a 422 before the roles are looked at, as schema validation would answer.
      const expiresAt = requestedExpiry(input.expiresAt, now);
      const unknown = firstUnknownRole(input.roles);
      if (unknown !== undefined) throw errors.unknownRole(unknown);
      const secret = API_KEY_PREFIX + secrets.randomSecret();
      const key: ApiKey = {
        id: uuidv7(now),
        prefix: secret.slice(0, SHOWN_PREFIX_LENGTH),
        description: input.description,
        roles: normaliseRoles(input.roles),
        isActive: true,
        createdAt: now,
        deactivatedAt: null,
        ...(expiresAt === undefined ? {} : { expiresAt }),
      };
      const events: AuditDraft[] = [{ action: 'api_key.minted', target: keyTarget(key.id), details: keyDetails(key) }, ...(alsoRecord?.(key) ?? [])];
      const outcome = await apiKeys.insert({ ...key, secretHash: secrets.digest(secret) }, maxActive, events);
      if (outcome === 'limit_reached') throw errors.tooManyApiKeys();
      return { key, secret };
    },

    list: () => apiKeys.list(),

    /**
     * One page of keys in creation order, continuing after `cursor` (from the start when absent), and the cursor of
     * the next page — null when this page is the last.
     */
    async page(query: { pageSize: number; cursor?: string | undefined }): Promise<{ items: ApiKey[]; nextCursor: string | null }> {
      const after = decodeApiKeyCursor(query.cursor);
      const rows = await apiKeys.listPage(after, query.pageSize + 1);
      const items = rows.slice(0, query.pageSize);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > query.pageSize && last ? encodeApiKeyCursor(last) : null };
    },

    async get(id: string): Promise<ApiKey> {
      const key = await apiKeys.findById(id);
      if (!key) throw errors.apiKeyNotFound();
      return key;
    },

    /** 409 when it would leave no active, unexpired ORG-ADMIN key while no admin key is configured. */
    async deactivate(id: string): Promise<ApiKey> {
      const now = clock.now();
      // Recorded only when the key was active: deactivating an inactive key changes nothing.
      const events = (before: ApiKey): AuditDraft[] => [{ action: 'api_key.deactivated', target: keyTarget(id), details: { prefix: before.prefix, roles: before.roles } }];
      const key = adminKeyConfigured ? await apiKeys.deactivate(id, now, events) : await apiKeys.deactivateUnlessLastHolder(id, now, ADMIN_ROLE, events);
      if (key === 'last_holder') throw errors.lastAdminKey();
      if (!key) throw errors.apiKeyNotFound();
      deps.revocations.revoked(id);
      return key;
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
