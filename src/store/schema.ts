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

export interface Schema {
  users: UsersTable;
  user_roles: UserRolesTable;
  api_keys: ApiKeysTable;
  gatehouse_meta: MetaTable;
}
