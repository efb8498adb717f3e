import type { Revocations } from './principal-cache.ts';
import { sessionEnded } from './sessions.ts';
import type { AuditDraft } from './audit.ts';
import type { AccessClaims, Clock, RefreshTokenStore, TokenSigner, User, UserStore } from './ports.ts';
import { profileClaims, REFRESH_TOKEN_PREFIX } from './token-issuer.ts';
import type { LoginSessionStore, OAuthClient } from './sign-in-ports.ts';

export interface TokenManagementDeps {
  users: UserStore;
  /** The one check of an access token (the session service's). */
  liveAccessToken(token: string): Promise<{ claims: AccessClaims; user: User } | undefined>;
  signer: TokenSigner;
  refreshTokens: RefreshTokenStore;
  loginSessions: LoginSessionStore;
  findClient(clientId: string): Promise<OAuthClient | undefined>;
  clock: Clock;
  secrets: { digest(secret: string): string };
  revocations: Revocations;
  issuerUrl: string;
}

export type EndSessionOutcome =
  | { kind: 'error'; message: string }
  /** No proof of who asked: the browser is asked to confirm (a bare link must not sign anybody out). */
  | { kind: 'confirm' }
  | { kind: 'signed_out'; redirect: string | null };

/**
 * What resource servers and relying parties do with tokens after sign-in: userinfo (OpenID Connect Core §5.3),
 * introspection (RFC 7662), revocation (RFC 7009) and RP-initiated logout. All of them see exactly what the
 * API's own authentication sees: token version, grant and session, checked against the database.
 */
/** RFC 7009 revocation by a client: its grant ends. */
const tokenRevoked = (userId: string, grantId: string, clientId: string): AuditDraft => ({
  action: 'token.revoked',
  target: { type: 'user', id: userId },
  details: { grant_id: grantId, client_id: clientId, reason: 'revoked_by_client' },
});

export function createTokenManagement(deps: TokenManagementDeps) {
  const { users, signer, refreshTokens, loginSessions, clock, secrets, liveAccessToken } = deps;

  async function liveRefreshToken(token: string) {
    const now = clock.now();
    const record = await refreshTokens.findByHash(secrets.digest(token));
    if (!record || record.revokedAt !== null || record.usedAt !== null || record.expiresAt <= now) return undefined;
    const grant = await loginSessions.findGrant(record.familyId);
    if (!grant || !(await loginSessions.grantActive(grant.id, now))) return undefined;
    const user = await users.findById(record.userId);
    if (!user || !user.enabled || user.tokenVersion !== record.tokenVersion) return undefined;
    return { record, grant, user };
  }

  async function endSession(sessionId: string, userId: string): Promise<void> {
    await loginSessions.end(sessionId, clock.now(), [sessionEnded(userId, sessionId, 'logout')]);
    deps.revocations.revoked(userId);
  }

  return {
    async userinfo(accessToken: string): Promise<Record<string, unknown> | undefined> {
      const live = await liveAccessToken(accessToken);
      return live && { sub: live.user.id, ...profileClaims(live.user) };
    },

    /** RFC 7662 §2.2. Any authenticated confidential client may ask (resource servers are such clients). */
    async introspect(token: string): Promise<Record<string, unknown>> {
      if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
        const live = await liveRefreshToken(token);
        if (!live) return { active: false };
        return {
          active: true,
          token_type: 'refresh_token',
          sub: live.user.id,
          username: live.user.email,
          ...(live.grant.clientId !== null ? { client_id: live.grant.clientId } : {}),
          ...(live.grant.scope !== '' ? { scope: live.grant.scope } : {}),
          exp: Math.floor(live.record.expiresAt / 1000),
          iss: deps.issuerUrl,
          sid: live.grant.sessionId,
        };
      }
      const live = await liveAccessToken(token);
      if (!live) return { active: false };
      const { claims, user } = live;
      return {
        active: true,
        token_type: 'Bearer',
        sub: user.id,
        username: user.email,
        ...(claims.azp !== undefined ? { client_id: claims.azp } : {}),
        ...(claims.scope !== undefined ? { scope: claims.scope } : {}),
        exp: claims.exp,
        iat: claims.iat,
        iss: deps.issuerUrl,
        jti: claims.jti,
        ...(claims.sid !== undefined ? { sid: claims.sid } : {}),
        ...profileClaims(user),
      };
    },

    /**
     * RFC 7009: a client revokes its own tokens. A refresh token takes its whole grant with it (§2.1), and so does an
     * access token, since access tokens are checked against their grant on every request. Tokens of other clients,
     * unknown and already-dead tokens are answered the same way and left alone.
     */
    async revoke(token: string, client: OAuthClient): Promise<void> {
      if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
        const record = await refreshTokens.findByHash(secrets.digest(token));
        const grant = record && (await loginSessions.findGrant(record.familyId));
        if (grant && grant.clientId === client.clientId) {
          await loginSessions.revokeGrant(grant.id, clock.now(), [tokenRevoked(grant.userId, grant.id, client.clientId)]);
          deps.revocations.revoked(grant.userId);
        }
        return;
      }
      const claims = await signer.verify(token);
      if (claims?.gid !== undefined && claims.azp === client.clientId) {
        await loginSessions.revokeGrant(claims.gid, clock.now(), [tokenRevoked(claims.sub, claims.gid, client.clientId)]);
        deps.revocations.revoked(claims.sub);
      }
    },

    /**
     * OpenID Connect RP-Initiated Logout 1.0 §2-3. A post-logout redirect must be registered for the client the ID
     * token was issued to; a forged or foreign `id_token_hint` ends nothing. Without a hint the browser's own
     * session is ended only after the user confirms (`confirmed`).
     */
    async endSession(
      params: { idTokenHint?: string; postLogoutRedirectUri?: string; clientId?: string; state?: string },
      browserSession: { id: string; userId: string } | undefined,
      confirmed: boolean,
    ): Promise<EndSessionOutcome> {
      let clientId = params.clientId;
      let hinted: { sid: string | undefined; sub: string } | undefined;
      if (params.idTokenHint !== undefined) {
        const payload = await signer.verifyIdTokenHint(params.idTokenHint);
        if (!payload) return { kind: 'error', message: 'The sign-out request carries an ID token this service did not issue.' };
        const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
        if (typeof aud !== 'string' || (clientId !== undefined && clientId !== aud)) {
          return { kind: 'error', message: 'The sign-out request names a different application than its ID token.' };
        }
        clientId = aud;
        hinted = { sid: typeof payload.sid === 'string' ? payload.sid : undefined, sub: String(payload.sub) };
      }
      let redirect: string | null = null;
      if (params.postLogoutRedirectUri !== undefined) {
        const client = clientId === undefined ? undefined : await deps.findClient(clientId);
        if (!client || !client.postLogoutRedirectUris.includes(params.postLogoutRedirectUri)) {
          return { kind: 'error', message: 'The application asked to return to an address it has not registered for sign-out.' };
        }
        // RP-Initiated Logout §3 passes back only `state` (no `iss`: that is for authorization responses).
        const url = new URL(params.postLogoutRedirectUri);
        if (params.state !== undefined) url.searchParams.append('state', params.state);
        redirect = params.state === undefined ? params.postLogoutRedirectUri : url.toString();
      }
      if (hinted) {
        if (hinted.sid !== undefined) await endSession(hinted.sid, hinted.sub);
        if (browserSession && browserSession.userId === hinted.sub && browserSession.id !== hinted.sid) await endSession(browserSession.id, browserSession.userId);
        return { kind: 'signed_out', redirect };
      }
      if (!browserSession) return { kind: 'signed_out', redirect };
      if (!confirmed) return { kind: 'confirm' };
      await endSession(browserSession.id, browserSession.userId);
      return { kind: 'signed_out', redirect };
    },
  };
}

export type TokenManagement = ReturnType<typeof createTokenManagement>;
