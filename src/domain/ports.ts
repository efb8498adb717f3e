import type { AssignableRole } from './access.ts';
import type { AuditDraft } from './audit.ts';

/**
 * What the domain needs from the outside world. `store/` implements the stores; `security/` the hasher.
 * Services receive these as arguments, so tests can hand in whatever they like without module mocking.
 */

export interface GroupRef {
  id: string;
  name: string;
  roles: AssignableRole[];
}

export interface User {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  /** The user's own roles (what an administrator assigned); `effectiveRoles()` adds their groups'. */
  roles: AssignableRole[];
  /** The groups the user belongs to, with the roles each carries. */
  groups: GroupRef[];
  passwordTemporary: boolean;
  tokenVersion: number;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface UserChanges {
  email?: string;
  firstName?: string | null;
  lastName?: string | null;
  roles?: AssignableRole[];
  enabled?: boolean;
  /** The provisioning identity provider's id for the user (SCIM `externalId`); null clears it. */
  externalId?: string | null;
  /** A SCIM `userName` that is not the email (lower-cased); null: the userName is the email. */
  userName?: string | null;
  /** A new password (already hashed), set permanent: the token version moves, so every older token ends. */
  passwordHash?: string;
}

/** The user as an update finds them, with what only provisioning reads. */
export type UserBefore = User & { externalId: string | null; userName: string | null };

export interface UserFilters {
  /** Holds this role, directly or through a group. */
  role?: AssignableRole | undefined;
  groupId?: string | undefined;
  enabled?: boolean | undefined;
}

export interface UserCredentials extends User {
  passwordHash: string;
  passwordSetAt: number;
}

export interface NewUser {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  passwordHash: string;
  passwordTemporary: boolean;
  roles: AssignableRole[];
  createdAt: number;
  /** The provisioning identity provider's id for the user (SCIM `externalId`). */
  externalId?: string | null;
  /** A SCIM `userName` that is not the email (lower-cased); absent or null: the userName is the email. */
  userName?: string | null;
  /** false: created disabled (provisioning an inactive user). Default true. */
  enabled?: boolean;
}

export type SortOrder = 'asc' | 'desc';

export interface UserSearch {
  /** Lower-cased, non-empty, whitespace-free terms; every one must match. Empty array: every user. */
  terms: string[];
  filters?: UserFilters;
  sort: SortOrder;
  limit: number;
  offset: number;
}

/**
 * Mutating methods take the audit events that describe the change (`audit`): the store writes them in the change's
 * own transaction, and only when the change happens.
 */
export interface UserStore {
  /** Inserts the user and their roles in one transaction. */
  insert(user: NewUser, audit?: AuditDraft[]): Promise<'inserted' | 'email_taken'>;
  findById(id: string): Promise<User | undefined>;
  /** The users with these ids that exist, in the order given. */
  findByIds(ids: string[]): Promise<User[]>;
  findCredentialsByEmail(email: string): Promise<UserCredentials | undefined>;
  emailTaken(email: string): Promise<boolean>;
  /**
   * Deletes the user with their roles and tokens; returns what was deleted. `unchangedSince`: only if the user's
   * `updatedAt` is still that, checked in the deleting transaction ('changed_meanwhile' otherwise, nothing deleted).
   */
  delete(id: string, audit?: AuditDraft[], unchangedSince?: number): Promise<User | undefined | 'changed_meanwhile'>;
  /** Sets a new password hash and bumps the token version, ending every older token. False: no such user. */
  setPassword(id: string, passwordHash: string, temporary: boolean, at: number, audit?: AuditDraft[]): Promise<boolean>;
  /**
   * Replaces the stored hash by an equivalent one (the same password, hashed anew) if it is still `expected`:
   * nothing else changes (no token version, no password time). False when the hash had changed meanwhile.
   */
  replacePasswordHash(id: string, expected: string, replacement: string): Promise<boolean>;
  search(query: UserSearch): Promise<User[]>;
  count(query: Pick<UserSearch, 'terms' | 'filters'>): Promise<number>;
  /**
   * Applies the changes in one transaction. Disabling bumps the token version, so every token and session of the
   * user ends (and enabling again does not bring them back).
   */
  /**
   * Changes the user in one transaction, the row locked first (concurrent changes of one user queue). With
   * `unchangedSince`, writes only if the user's `updated_at` is still that (an If-Match made atomic).
   */
  update(
    id: string,
    changes: UserChanges,
    at: number,
    audit?: (before: UserBefore) => AuditDraft[],
    unchangedSince?: number,
  ): Promise<'updated' | 'not_found' | 'email_taken' | 'changed_meanwhile'>;
}

export interface ApiKey {
  id: string;
  prefix: string;
  description: string | null;
  roles: AssignableRole[];
  /** False once deactivated. An expired key keeps `isActive` but authenticates nothing. */
  isActive: boolean;
  createdAt: number;
  deactivatedAt: number | null;
  /** From when on the key no longer authenticates (epoch ms); absent: it never expires. */
  expiresAt?: number | undefined;
  /** When the key last authenticated, as recorded (at most once a minute per process); absent: never. */
  lastUsedAt?: number | undefined;
}

export interface NewApiKey {
  id: string;
  prefix: string;
  secretHash: string;
  description: string | null;
  roles: AssignableRole[];
  createdAt: number;
  /** Absent: the key never expires. */
  expiresAt?: number | undefined;
}

/** A place in the creation order of API keys (createdAt, then id): where a page of keys continues. */
export interface ApiKeyPosition {
  createdAt: number;
  id: string;
}

/**
 * Mutating methods take the audit events of the change (`audit`): the store writes them in the change's own
 * transaction, and only when the change happens (not for 'limit_reached', an unknown key, a key that was already
 * inactive, or 'last_holder').
 */
export interface ApiKeyStore {
  /**
   * Inserts unless `maxActive` keys are already active and unexpired at `key.createdAt` (checked in the same
   * transaction).
   */
  insert(key: NewApiKey, maxActive: number, audit?: AuditDraft[]): Promise<'inserted' | 'limit_reached'>;
  /** Every key, in creation order (createdAt, then id). */
  list(): Promise<ApiKey[]>;
  /** Up to `limit` keys in creation order, from just after `after` (from the first key when null). */
  listPage(after: ApiKeyPosition | null, limit: number): Promise<ApiKey[]>;
  findById(id: string): Promise<ApiKey | undefined>;
  /** The key with this hash unless it was deactivated; expired or not (whether it is still valid is the caller's call). */
  findActiveBySecretHash(secretHash: string): Promise<ApiKey | undefined>;
  /** Deactivates the key unless it already is inactive; `audit` gets the key as it was, and only when it was active. */
  deactivate(id: string, at: number, audit?: (before: ApiKey) => AuditDraft[]): Promise<ApiKey | undefined>;
  /**
   * Like `deactivate`, unless the key is the last active key, unexpired at `at`, that holds `role`: then nothing
   * changes and the answer is 'last_holder'. The check and the change share one transaction (under a lock on
   * PostgreSQL), so two concurrent calls cannot each deactivate one of the last two holders.
   */
  deactivateUnlessLastHolder(id: string, at: number, role: AssignableRole, audit?: (before: ApiKey) => AuditDraft[]): Promise<ApiKey | undefined | 'last_holder'>;
  /** Records that the key authenticated at `at`; a later time already recorded is kept. */
  recordUse(id: string, at: number): Promise<void>;
  count(): Promise<number>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** True for a stored hash to replace by `hash(password)` once the password was verified (an imported hash). */
  needsRehash?(hash: string): boolean;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface RefreshTokenRecord {
  id: string;
  familyId: string;
  userId: string;
  tokenVersion: number;
  expiresAt: number;
  usedAt: number | null;
  revokedAt: number | null;
}

/** A refresh token as first stored: its hash, never the token. */
export type NewRefreshToken = Omit<RefreshTokenRecord, 'usedAt' | 'revokedAt'> & { tokenHash: string; createdAt: number };

export interface RefreshTokenStore {
  insert(record: NewRefreshToken): Promise<void>;
  findByHash(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks the token used unless it already was (or was revoked); true when this call did it. */
  markUsed(id: string, at: number): Promise<boolean>;
  revokeFamily(familyId: string, at: number): Promise<void>;
}

export interface LockoutPolicy {
  threshold: number;
  windowMs: number;
  lockMs: number;
}

export interface LoginFailureStore {
  /** Until when the username is locked (epoch ms), or null; and whether any failures are on record. */
  state(username: string, now: number): Promise<{ lockedUntil: number | null; failures: number }>;
  /**
   * Counts one failure atomically (so concurrent guesses on many replicas all count) and locks at the threshold.
   * A lock in force is left as it is.
   */
  recordFailure(username: string, now: number, policy: LockoutPolicy, audit?: (lockedNow: boolean) => AuditDraft[]): Promise<void>;
  clear(username: string, audit?: AuditDraft[]): Promise<void>;
}

/** Claims Gatehouse puts in (and requires of) an access token, beyond iss/aud. */
export interface AccessClaims {
  sub: string;
  /** The user's token version at issue: a later password reset, change or deletion ends the token. */
  ver: number;
  roles: string[];
  jti: string;
  iat: number;
  exp: number;
  /** The login session (absent only from tokens issued before sessions existed). */
  sid?: string | undefined;
  /** The grant inside that session; revoking it (logout, revocation, a replayed code) ends the token. */
  gid?: string | undefined;
  /** The client the token was issued to, if any. */
  azp?: string | undefined;
  scope?: string | undefined;
  /** When the user entered their password (epoch ms; from `auth_time`). */
  authTime?: number | undefined;
}

/** What an access token says beyond the required claims: the user's profile claims, kept small (it may live in a cookie). */
export type ExtraClaims = Record<string, unknown>;

export interface TokenSigner {
  sign(claims: Pick<AccessClaims, 'sub' | 'ver' | 'roles' | 'jti'> & ExtraClaims): Promise<{ token: string; expiresIn: number }>;
  /** The claims of a valid, unexpired access token from this issuer for this audience; undefined for anything else. */
  verify(token: string): Promise<AccessClaims | undefined>;
  /** An ID token for `clientId` (its audience), with `at_hash` for the access token issued beside it. */
  signIdToken(claims: Record<string, unknown>, clientId: string, accessToken: string): Promise<string>;
  /** The payload of an ID token this issuer signed, even an expired one (a logout hint); undefined when forged. */
  verifyIdTokenHint(token: string): Promise<Record<string, unknown> | undefined>;
}
