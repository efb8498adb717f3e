import type { AssignableRole } from './access.ts';

/**
 * What the domain needs from the outside world. `store/` implements the stores; `security/` the hasher.
 * Services receive these as arguments, so tests can hand in whatever they like without module mocking.
 */

export interface User {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  roles: AssignableRole[];
  passwordTemporary: boolean;
  tokenVersion: number;
  createdAt: number;
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
}

export type SortOrder = 'asc' | 'desc';

export interface UserSearch {
  /** Lower-cased, non-empty, whitespace-free terms; every one must match. Empty array: every user. */
  terms: string[];
  sort: SortOrder;
  limit: number;
  offset: number;
}

export interface UserStore {
  /** Inserts the user and their roles in one transaction. */
  insert(user: NewUser): Promise<'inserted' | 'email_taken'>;
  findById(id: string): Promise<User | undefined>;
  findCredentialsByEmail(email: string): Promise<UserCredentials | undefined>;
  emailTaken(email: string): Promise<boolean>;
  /** Deletes the user with their roles and tokens; returns what was deleted. */
  delete(id: string): Promise<User | undefined>;
  /** Sets a new password hash and bumps the token version, ending every older token. False: no such user. */
  setPassword(id: string, passwordHash: string, temporary: boolean, at: number): Promise<boolean>;
  search(query: UserSearch): Promise<User[]>;
}

export interface ApiKey {
  id: string;
  prefix: string;
  description: string | null;
  roles: AssignableRole[];
  isActive: boolean;
  createdAt: number;
  deactivatedAt: number | null;
}

export interface NewApiKey {
  id: string;
  prefix: string;
  secretHash: string;
  description: string | null;
  roles: AssignableRole[];
  createdAt: number;
}

export interface ApiKeyStore {
  /** Inserts unless `maxActive` keys are already active (checked in the same transaction). */
  insert(key: NewApiKey, maxActive: number): Promise<'inserted' | 'limit_reached'>;
  list(): Promise<ApiKey[]>;
  findById(id: string): Promise<ApiKey | undefined>;
  findActiveBySecretHash(secretHash: string): Promise<ApiKey | undefined>;
  deactivate(id: string, at: number): Promise<ApiKey | undefined>;
  count(): Promise<number>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
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

export interface RefreshTokenStore {
  insert(record: Omit<RefreshTokenRecord, 'usedAt' | 'revokedAt'> & { tokenHash: string; createdAt: number }): Promise<void>;
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
  recordFailure(username: string, now: number, policy: LockoutPolicy): Promise<void>;
  clear(username: string): Promise<void>;
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
