import type { AuditDraft } from './audit.ts';
import type { NewRefreshToken } from './ports.ts';
/**
 * What sign-in for applications (OpenID Connect) needs from storage. `store/` implements these; services receive
 * them as arguments.
 */

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export const CLIENT_GRANT_TYPES = ['authorization_code', 'refresh_token'] as const;
export type ClientGrantType = (typeof CLIENT_GRANT_TYPES)[number];

export interface OAuthClient {
  clientId: string;
  clientName: string | null;
  authMethod: ClientAuthMethod;
  /** Exact strings: a redirect must equal one of them character for character (RFC 9700 §2.1). */
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: ClientGrantType[];
  createdAt: number;
  updatedAt: number;
}

export interface StoredOAuthClient extends OAuthClient {
  /** SHA-256 of the client secret; null for a public client. */
  secretHash: string | null;
}

export type ClientChanges = Partial<Pick<OAuthClient, 'clientName' | 'authMethod' | 'redirectUris' | 'postLogoutRedirectUris' | 'grantTypes'>> & {
  secretHash?: string | null;
};

/**
 * Mutating methods take the audit events of the change (`audit`, or a function of what the change found): the
 * store writes them in the change's own transaction, and only when the change happens (never for a missing client).
 */
export interface OAuthClientStore {
  /** Throws on a taken client id (nothing is written then, events included). */
  insert(client: StoredOAuthClient, audit?: AuditDraft[]): Promise<void>;
  list(): Promise<OAuthClient[]>;
  find(clientId: string): Promise<StoredOAuthClient | undefined>;
  /** `audit` gets the client as it was before the change. */
  update(clientId: string, changes: ClientChanges, at: number, audit?: (before: StoredOAuthClient) => AuditDraft[]): Promise<StoredOAuthClient | undefined>;
  /**
   * Deletes the client and revokes every grant it holds, in one transaction. Returns the users whose grants were
   * revoked (so their cached credentials can be forgotten), or undefined when there is no such client. `audit`
   * gets the client as it was and those users.
   */
  delete(clientId: string, at: number, audit?: (before: StoredOAuthClient, usersRevoked: string[]) => AuditDraft[]): Promise<string[] | undefined>;
}

export interface LoginSession {
  id: string;
  userId: string;
  /** The user's token version at sign-in. */
  tokenVersion: number;
  /** When the user last entered their password in this session (epoch ms). */
  authTime: number;
  createdAt: number;
  expiresAt: number;
  endedAt: number | null;
}

/** One use of a session (a refresh-token grant in it, a request with one of its access tokens): when and from where. */
export interface SessionUse {
  at: number;
  clientIp: string | null;
  userAgent: string | null;
}

/** A live session as its user and administrators see it (GET /users/{id}/sessions). */
export interface SessionSummary extends LoginSession {
  /** A browser's single sign-on session (it has a cookie), or a token-only login (password grant). */
  kind: 'browser' | 'token';
  /** The last recorded use, null before the first; recorded at most once a minute per session and replica. */
  lastUsedAt: number | null;
  clientIp: string | null;
  userAgent: string | null;
  /** The clients that hold an unrevoked grant in the session, in the order they got it. */
  clientIds: string[];
}

export interface SessionPageQuery {
  userId: string;
  /** The user's current token version: a session signed in under an older one is dead (password changed). */
  tokenVersion: number;
  now: number;
  limit: number;
  /** Keyset paging, newest first: only sessions strictly older than this one. */
  after?: { createdAt: number; id: string };
}

export interface Grant {
  /** Also the family id of the grant's refresh tokens. */
  id: string;
  sessionId: string;
  userId: string;
  clientId: string | null;
  scope: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface LoginSessionStore {
  /** `audit`: the events of this change, written in its transaction (so for every mutating method below). */
  create(session: LoginSession, cookieHash: string | null, audit?: AuditDraft[]): Promise<void>;
  /**
   * A token-only login in one transaction: the session (its first use already recorded), its grant, the grant's
   * first refresh token and the events. One commit instead of four on the busiest write path there is.
   */
  createTokenLogin(login: { session: LoginSession; grant: Grant; refreshToken: NewRefreshToken; use: SessionUse }, audit: AuditDraft[]): Promise<void>;
  find(id: string): Promise<LoginSession | undefined>;
  findByCookieHash(cookieHash: string): Promise<LoginSession | undefined>;
  /** The user signed in again within the session (prompt=login, max_age): a new auth time. */
  reauthenticated(id: string, authTime: number): Promise<void>;
  /** Ends the session: every grant in it, and so every token of those grants, stops working. */
  end(id: string, at: number, audit?: AuditDraft[]): Promise<void>;
  createGrant(grant: Grant): Promise<void>;
  findGrant(id: string): Promise<Grant | undefined>;
  /** Revokes the grant and its refresh tokens. */
  revokeGrant(id: string, at: number, audit?: AuditDraft[]): Promise<void>;
  /** True when the grant is not revoked and its session neither ended nor expired: checked on every request. */
  grantActive(id: string, now: number): Promise<boolean>;
  /**
   * The user's live sessions, newest first (created_at, then id, descending): not ended, not expired, signed in
   * under the user's current token version, and — for a token-only login, which has no expiry of its own — holding
   * an unrevoked grant with an unexpired, unrevoked refresh token.
   */
  listLive(query: SessionPageQuery): Promise<SessionSummary[]>;
  /** Ends every session of the user that has not ended yet, as `end` does for one. */
  endAll(userId: string, at: number, audit?: AuditDraft[]): Promise<void>;
  /** Records a use of a session that has not ended (an older use never overwrites a newer one). */
  recordUse(id: string, use: SessionUse): Promise<void>;
}

export interface AuthorizationCode {
  codeHash: string;
  clientId: string;
  sessionId: string;
  redirectUri: string;
  scope: string;
  nonce: string | null;
  codeChallenge: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  grantId: string | null;
}

export interface AuthorizationCodeStore {
  insert(code: Omit<AuthorizationCode, 'usedAt' | 'grantId'>): Promise<void>;
  find(codeHash: string): Promise<AuthorizationCode | undefined>;
  /**
   * Marks the code used and creates its grant in one transaction, unless it was used already (compare-and-set):
   * of two concurrent exchanges only one gets tokens. False when this call lost.
   */
  redeem(codeHash: string, grant: Grant, at: number): Promise<boolean>;
}

/** A validated authorization request (OpenID Connect Core §3.1.2.1), kept while the user signs in. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  responseMode: 'query' | 'fragment';
  scope: string;
  state: string | null;
  nonce: string | null;
  codeChallenge: string | null;
  prompt: string[];
  maxAge: number | null;
  loginHint: string | null;
}

export interface LoginInteraction {
  id: string;
  browserHash: string;
  request: AuthorizationRequest;
  /** Set when the password was right but is temporary: the user must choose a new one before going on. */
  userId: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface LoginInteractionStore {
  insert(interaction: LoginInteraction): Promise<void>;
  find(id: string): Promise<LoginInteraction | undefined>;
  setUser(id: string, userId: string): Promise<void>;
  delete(id: string): Promise<void>;
}
