import type { AssignableRole } from '../domain/access.ts';
import type { ImportRow } from '../store/user-import-store.ts';

/**
 * What every importer (Keycloak, CSV, JSON Lines) hands to the writer: one user as Gatehouse will store them, or
 * the reason one record of the source is skipped. The writer decides the rest (already imported, duplicate email).
 */
export interface ImportedUser extends Omit<ImportRow, 'passwordHash'> {
  /** Already encoded for the password column (argon2id, a `$legacy-…` hash, or NO_PASSWORD); absent with `password`. */
  passwordHash?: string;
  /** A password in clear (a hand-written Keycloak `value`, a CSV `password` column): hashed with argon2id on import. */
  password?: string;
  /** Group names (Keycloak group paths without the leading slash). */
  groups: string[];
}

/** Where a record came from: the file and the record's place in it (1-based user number, or CSV/JSONL line). */
export interface SourcePosition {
  file: string;
  position: number;
}

export const SKIP_REASONS = [
  /** Keycloak service-account user (`serviceAccountClientId`): a client's identity, not a person. */
  'service_account',
  /** Keycloak user federated from LDAP/Kerberos (`federationLink`): their password lives in the directory. */
  'federated',
  /** Another user (already stored, or earlier in this import) has this email. */
  'duplicate_email',
  /** A user with this id exists already (a re-run; `--update` updates instead). */
  'already_imported',
  /** The record has no email address; Gatehouse signs users in by email. */
  'no_email',
  /** The record is malformed (bad email, id, names, hash): the detail says what. */
  'invalid',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export type ImportCandidate =
  | { kind: 'group'; group: ImportedGroup; at: SourcePosition }
  | { kind: 'user'; user: ImportedUser; at: SourcePosition; username?: string | undefined; needsReset?: string | undefined }
  | { kind: 'skip'; reason: SkipReason; at: SourcePosition; id?: string | undefined; username?: string | undefined; email?: string | undefined; detail?: string | undefined };

/** A group the source defines (Keycloak realm groups), with the Gatehouse roles it carries. */
export interface ImportedGroup {
  name: string;
  roles: AssignableRole[];
  /** Kept when the group is created (a JSON Lines round trip); absent: a new id. */
  id?: string | undefined;
  description?: string | null | undefined;
}

/** A malformed input file: which file and where. The CLI prints it and exits 1; nothing was written. */
export class ImportInputError extends Error {
  constructor(
    readonly file: string,
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${file}: ${where}: ${problem}`);
    this.name = 'ImportInputError';
  }
}
