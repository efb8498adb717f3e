import { uuidv7 } from './ids.ts';
import type { AuditDraft } from './audit.ts';
import type { Clock, NewRefreshToken, RefreshTokenStore, TokenSigner, User } from './ports.ts';
import type { Grant, LoginSession, LoginSessionStore } from './sign-in-ports.ts';
import { effectiveRoles } from './users.ts';

export const REFRESH_TOKEN_PREFIX = 'grt_';

/** RFC 6749 §5.1 token response, with OpenID Connect's `id_token` when the scope asked for it. */
export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

/**
 * The user claims in access tokens, ID tokens and userinfo (CONTRACT.md §4a): the ones the seed's system read from
 * Keycloak's tokens (`email`, `given_name`, `family_name`, `realm_access.roles`: the effective roles, own and
 * groups') and their standard companions.
 * `email_verified` is false: Gatehouse never proves that anybody receives mail at the address an administrator typed.
 */
export function profileClaims(user: User): Record<string, unknown> {
  const name = [user.firstName, user.lastName].filter((part) => part !== null && part !== '').join(' ');
  return {
    email: user.email,
    email_verified: false,
    ...(user.firstName !== null ? { given_name: user.firstName } : {}),
    ...(user.lastName !== null ? { family_name: user.lastName } : {}),
    ...(name !== '' ? { name } : {}),
    preferred_username: user.email,
    realm_access: { roles: effectiveRoles(user) },
  };
}

export const hasScope = (scope: string, wanted: string) => scope.split(' ').includes(wanted);

export interface IssueContext {
  session: LoginSession;
  grant: Grant;
  /** Whether the response includes a refresh token. */
  refresh: boolean;
  /** The ID token's nonce (only in the response to a code exchange). */
  nonce?: string | null;
}

export interface TokenIssuerDeps {
  signer: TokenSigner;
  refreshTokens: RefreshTokenStore;
  sessions: LoginSessionStore;
  clock: Clock;
  secrets: { randomSecret(): string; digest(secret: string): string };
  refreshTtlMs: number;
  sessionTtlMs: number;
  /** Told of every token issued (the tokens-issued metric). */
  onIssued?: (kind: 'access' | 'refresh' | 'id') => void;
}

/** Mints sessions, grants and the tokens issued inside them: the one place every grant type ends up. */
export function createTokenIssuer(deps: TokenIssuerDeps) {
  const { signer, refreshTokens, sessions, clock, secrets } = deps;

  function newSession(user: User, cookieHash: string | null): LoginSession {
    const now = clock.now();
    return {
      id: uuidv7(now),
      userId: user.id,
      tokenVersion: user.tokenVersion,
      authTime: now,
      createdAt: now,
      expiresAt: cookieHash === null ? Number.MAX_SAFE_INTEGER : now + deps.sessionTtlMs,
      endedAt: null,
    };
  }

  function newGrant(session: LoginSession, clientId: string | null, scope: string): Grant {
    return { id: uuidv7(clock.now()), sessionId: session.id, userId: session.userId, clientId, scope, createdAt: clock.now(), revokedAt: null };
  }

  const signedIn = (user: User, session: LoginSession, method: string): AuditDraft => ({
    action: 'sign_in',
    actor: { kind: 'user', id: user.id },
    target: { type: 'user', id: user.id },
    details: { method, session_id: session.id },
  });

  /** The tokens-issued metric, told once the response's tokens are stored. */
  function counted(response: TokenResponse): void {
    deps.onIssued?.('access');
    if (response.refresh_token !== undefined) deps.onIssued?.('refresh');
    if (response.id_token !== undefined) deps.onIssued?.('id');
  }

  return {
    /**
     * A new login session for `user`. A browser's (it holds the cookie whose hash is `cookieHash`) lasts the session
     * lifetime, and the refresh tokens issued in it no longer. A token-only login (password grant) has no limit of
     * its own: it lives as long as its rotating refresh tokens, as it always has, until logout.
     */
    /** `method` names how the user signed in, for the `sign_in` event written with the session. */
    async startSession(user: User, cookieHash: string | null, method: 'password_grant' | 'login_page' | 'password_change' = 'password_grant'): Promise<LoginSession> {
      const session = newSession(user, cookieHash);
      await sessions.create(session, cookieHash, [signedIn(user, session, method)]);
      return session;
    },

    /**
     * A token-only login (password grant, password change): its session, grant and first tokens, stored in one
     * transaction with the `sign_in` event. `use` is where the login came from: the session's first use.
     */
    async startTokenLogin(user: User, method: 'password_grant' | 'password_change', use: { clientIp: string | null; userAgent: string | null }): Promise<TokenResponse> {
      const session = newSession(user, null);
      const grant = newGrant(session, null, '');
      const { response, refreshToken } = await mint(user, { session, grant, refresh: true });
      await sessions.createTokenLogin({ session, grant, refreshToken: refreshToken!, use: { at: session.createdAt, ...use } }, [signedIn(user, session, method)]);
      counted(response);
      return response;
    },

    newGrant,

    async issue(user: User, ctx: IssueContext): Promise<TokenResponse> {
      const { response, refreshToken } = await mint(user, ctx);
      if (refreshToken) await refreshTokens.insert(refreshToken);
      counted(response);
      return response;
    },
  };

  /** Signs the response's tokens; the refresh token's record is for the caller to store. */
  async function mint(user: User, ctx: IssueContext): Promise<{ response: TokenResponse; refreshToken?: NewRefreshToken }> {
    const now = clock.now();
    const { session, grant } = ctx;
    const common = {
      sid: session.id,
      auth_time: Math.floor(session.authTime / 1000),
      ...(grant.clientId !== null ? { azp: grant.clientId } : {}),
      ...profileClaims(user),
    };
    const { token, expiresIn } = await signer.sign({
      sub: user.id,
      ver: user.tokenVersion,
      roles: effectiveRoles(user),
      jti: uuidv7(now),
      gid: grant.id,
      ...(grant.scope !== '' ? { scope: grant.scope } : {}),
      ...common,
    });
    const response: TokenResponse = { access_token: token, token_type: 'bearer', expires_in: expiresIn };
    let refreshToken: NewRefreshToken | undefined;
    if (ctx.refresh) {
      const refresh = REFRESH_TOKEN_PREFIX + secrets.randomSecret();
      refreshToken = {
        id: uuidv7(now),
        tokenHash: secrets.digest(refresh),
        familyId: grant.id,
        userId: user.id,
        tokenVersion: user.tokenVersion,
        createdAt: now,
        expiresAt: Math.min(now + deps.refreshTtlMs, session.expiresAt),
      };
      response.refresh_token = refresh;
    }
    if (grant.clientId !== null && hasScope(grant.scope, 'openid')) {
      response.id_token = await signer.signIdToken(
        { sub: user.id, ...common, ...(ctx.nonce ? { nonce: ctx.nonce } : {}) },
        grant.clientId,
        token,
      );
    }
    if (grant.scope !== '') response.scope = grant.scope;
    return refreshToken ? { response, refreshToken } : { response };
  }
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>;

