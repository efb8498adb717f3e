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
  /** 0: disabled (no sign-in, no token works). */
  enabled: Generated<number>;
  /** The provisioning identity provider's id for the user (SCIM `externalId`), or null. */
  external_id: Generated<string | null>;
  /** The SCIM `userName` when a provider set one that is not the email (stored lower-cased); null: it is the email. */
  user_name: Generated<string | null>;
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
  expires_at: number | null;
  /** Written at most once a minute per key, not on every request. */
  last_used_at: number | null;
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

export interface OAuthClientsTable {
  client_id: string;
  client_name: string | null;
  /** SHA-256 of the high-entropy client secret; null for public clients. */
  secret_hash: string | null;
  auth_method: string;
  /** JSON arrays of exact URI strings. */
  redirect_uris: string;
  post_logout_redirect_uris: string;
  grant_types: string;
  created_at: number;
  updated_at: number;
}

/** One sign-in: a browser's SSO session (it has a cookie) or a password-grant login (it has none). */
export interface LoginSessionsTable {
  id: string;
  user_id: string;
  /** SHA-256 of the browser's session cookie. */
  cookie_hash: string | null;
  /** The user's token version at sign-in: a later reset or change of password ends the session. */
  token_version: number;
  auth_time: number;
  created_at: number;
  expires_at: number;
  ended_at: number | null;
  last_used_at: number | null;
  client_ip: string | null;
  user_agent: string | null;
}

/** What one client was given inside one session; its id is the family id of its refresh tokens. */
export interface GrantsTable {
  id: string;
  session_id: string;
  user_id: string;
  client_id: string | null;
  scope: string;
  created_at: number;
  revoked_at: number | null;
}

export interface AuthorizationCodesTable {
  code_hash: string;
  client_id: string;
  session_id: string;
  redirect_uri: string;
  scope: string;
  nonce: string | null;
  /** PKCE S256 challenge, when the client sent one. */
  code_challenge: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** The grant the code was exchanged for, so a replay can revoke it. */
  grant_id: string | null;
}

/** A login page in progress: the authorization request it will answer, bound to the browser that started it. */
export interface LoginInteractionsTable {
  id: string;
  browser_hash: string;
  /** The validated authorization request, JSON. */
  request: string;
  /** Set once the password was right but must be changed first. */
  user_id: string | null;
  created_at: number;
  expires_at: number;
}

export interface GroupsTable {
  id: string;
  name: string;
  description: string | null;
  created_at: number;
  updated_at: number;
  /** The provisioning identity provider's id for the group (SCIM `externalId`), or null. */
  external_id: Generated<string | null>;
}

export interface GroupRolesTable {
  group_id: string;
  role: string;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  added_at: number;
}

export interface Schema {
  users: UsersTable;
  user_roles: UserRolesTable;
  api_keys: ApiKeysTable;
  gatehouse_meta: MetaTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  login_failures: LoginFailuresTable;
  oauth_clients: OAuthClientsTable;
  login_sessions: LoginSessionsTable;
  grants: GrantsTable;
  authorization_codes: AuthorizationCodesTable;
  login_interactions: LoginInteractionsTable;
  groups: GroupsTable;
  group_roles: GroupRolesTable;
  group_members: GroupMembersTable;
}
