import type { Generated } from 'kysely';

/**
 * Table shapes, identical on SQLite and PostgreSQL. Times are epoch milliseconds (BIGINT) and flags are 0/1
 * integers in both dialects, so no conversion differs between them. These row types never leave `store/`.
 */
export interface UsersTable {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  /** Lower-cased email, first and last name joined by newlines: what search matches against. */
  search_text: string;
  password_hash: string;
  password_temporary: number;
  password_set_at: number;
  token_version: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface UserRolesTable {
  user_id: string;
  role: string;
}

export interface ApiKeysTable {
  id: string;
  prefix: string;
  secret_hash: string;
  /** JSON array of role names. */
  roles: string;
  description: string | null;
  is_active: number;
  created_at: number;
  deactivated_at: number | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface RefreshTokensTable {
  id: string;
  /** SHA-256 of the opaque token; the token itself is never stored. */
  token_hash: string;
  /** Every token rotated from one login shares a family, so reuse of an old one can end them all. */
  family_id: string;
  user_id: string;
  /** The user's token version when issued: a password change or reset bumps it and so ends this token. */
  token_version: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
}

export interface LoginFailuresTable {
  username: string;
  failures: number;
  window_started_at: number;
  locked_until: number | null;
}

export interface Schema {
  users: UsersTable;
  user_roles: UserRolesTable;
  api_keys: ApiKeysTable;
  gatehouse_meta: MetaTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  login_failures: LoginFailuresTable;
}
