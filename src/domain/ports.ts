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
