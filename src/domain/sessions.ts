import { emailProblem, normaliseEmail } from './email.ts';
import { errors, valueError, ValidationError } from './errors.ts';
import { checkPassword } from './password-policy.ts';
import type { CachedPrincipal, Revocations } from './principal-cache.ts';
import type { AccessClaims, Clock, LockoutPolicy, LoginFailureStore, PasswordHasher, RefreshTokenStore, TokenSigner, User, UserCredentials, UserStore } from './ports.ts';
import type { LoginSessionStore, OAuthClient } from './sign-in-ports.ts';
import type { TokenIssuer, TokenResponse } from './token-issuer.ts';
import { effectiveRoles } from './users.ts';
import type { AuditDraft } from './audit.ts';
import type { AuditLog } from './audit-log.ts';
import { storedUserAgent } from './user-sessions.ts';

export { REFRESH_TOKEN_PREFIX, type TokenResponse } from './token-issuer.ts';

export interface SessionPolicy {
  temporaryPasswordTtlMs: number;
  lockout: LockoutPolicy;
}

export interface SessionDeps {
  users: UserStore;
  hasher: PasswordHasher;
  /** A hash of a random password, verified when the user does not exist so that case costs the same time. */
  dummyHash: string;
  failures: LoginFailureStore;
  refreshTokens: RefreshTokenStore;
  loginSessions: LoginSessionStore;
  issuer: TokenIssuer;
  signer: TokenSigner;
  clock: Clock;
  secrets: { digest(secret: string): string };
  policy: SessionPolicy;
  revocations: Revocations;
  /** For sign-in failures that change nothing (an expired temporary password). */
  auditLog: AuditLog;
}

/**
 * Human login (CONTRACT.md §4): the password and refresh-token grants, password change, logout, and turning an
 * access token back into a principal. Every failure that could tell an attacker whether an email exists answers
 * with one text after the same amount of work.
 */
/** The event of a session that ends: whose, which, and why (`logout`, `replaced`, `ended_by_admin`). */
export function sessionEnded(userId: string, sessionId: string, reason: string): AuditDraft {
  return { action: 'session.ended', target: { type: 'user', id: userId }, details: { session_id: sessionId, reason } };
}

/** Where a login request came from: recorded as its session's first use. */
export interface LoginOrigin {
  clientIp?: string | null | undefined;
  userAgent?: string | null | undefined;
}
const NO_ORIGIN: LoginOrigin = {};

export function createSessionService(deps: SessionDeps) {
  const { users, hasher, failures, refreshTokens, loginSessions, issuer, signer, clock, secrets, policy } = deps;

  /**
   * The password check behind every sign-in (token endpoint and login page). The hash is verified even for an
   * unknown user (against the dummy hash) and for a locked account, so all three take the same time and give the
   * same answer. A temporary password that is right is returned: the caller decides what it may do.
   */
  async function verifyPassword(username: string, password: string): Promise<UserCredentials> {
    const email = normaliseEmail(username);
    const now = clock.now();
    const [state, user] = await Promise.all([failures.state(email, now), users.findCredentialsByEmail(email)]);
    const matches = await hasher.verify(user?.passwordHash ?? deps.dummyHash, password);
    const locked = state.lockedUntil !== null && state.lockedUntil > now;
    // A disabled user gets the wrong-password answer after the same work: nobody learns who is disabled.
    if (!user || !matches || locked || !user.enabled) {
      // Recorded even while locked (the lock itself is not extended), so a locked account does the same database
      // work as a wrong password and cannot be told apart by timing. The trail says why; the caller never learns.
      const reason = !user ? 'unknown_user' : locked ? 'locked' : !user.enabled ? 'disabled' : 'wrong_password';
      const target = user ? { type: 'user', id: user.id } : undefined;
      // An unknown name is recorded only when it is an email address: anything else may be a password typed into
      // the wrong field, and the trail keeps no secrets.
      const username = user || emailProblem(email) === null ? email : '(not an email address)';
      await failures.recordFailure(email, now, policy.lockout, (lockedNow) => [
        { action: 'sign_in', outcome: 'failure', target, details: { username, reason } },
        ...(lockedNow ? [{ action: 'user.locked', target, details: { username, until: now + policy.lockout.lockMs } } satisfies AuditDraft] : []),
      ]);
      throw errors.invalidLogin();
    }
    if (state.failures > 0) await failures.clear(email);
    // An imported hash (another system's algorithm) becomes Gatehouse's own at the first sign-in that proves it.
    if (hasher.needsRehash?.(user.passwordHash)) await users.replacePasswordHash(user.id, user.passwordHash, await hasher.hash(password));
    if (user.passwordTemporary && now > user.passwordSetAt + policy.temporaryPasswordTtlMs) {
      await deps.auditLog.record([{ action: 'sign_in', outcome: 'failure', target: { type: 'user', id: user.id }, details: { username: email, reason: 'temporary_password_expired' } }]);
      throw errors.temporaryPasswordExpired();
    }
    return user;
  }

  /** Sets the user's own, permanent password; every older token and session of the user dies. */
  async function setOwnPassword(user: User, newPassword: string, field: string, current?: string): Promise<User> {
    const problem = checkPassword(newPassword);
    if (problem) throw new ValidationError([valueError([field], newPassword, problem)]);
    if (current !== undefined && newPassword === current) {
      throw new ValidationError([valueError([field], newPassword, 'New password must differ from the current password')]);
    }
    const hash = await hasher.hash(newPassword);
    const changed: AuditDraft = { action: 'user.password_changed', actor: { kind: 'user', id: user.id }, target: { type: 'user', id: user.id } };
    if (!(await users.setPassword(user.id, hash, false, clock.now(), [changed]))) throw errors.invalidLogin();
    deps.revocations.revoked(user.id);
    const updated = await users.findById(user.id);
    if (!updated) throw errors.invalidLogin();
    return updated;
  }

  /**
   * A live access token's claims and user: signed by us, unexpired, its user's token version current, its grant not
   * revoked and its session neither ended nor expired. What every check of an access token comes down to.
   */
  async function liveAccessToken(token: string): Promise<{ claims: AccessClaims; user: User } | undefined> {
    const claims = await signer.verify(token);
    if (!claims) return undefined;
    const [user, active] = await Promise.all([
      users.findById(claims.sub),
      claims.gid === undefined ? true : loginSessions.grantActive(claims.gid, clock.now()),
    ]);
    if (!user || !active || !user.enabled || user.tokenVersion !== claims.ver) return undefined;
    return { claims, user };
  }

  /** A token-only login (no browser): its own session and grant, its first use being where the login came from. */
  function newLogin(user: User, method: 'password_grant' | 'password_change', from: LoginOrigin): Promise<TokenResponse> {
    return issuer.startTokenLogin(user, method, { clientIp: from.clientIp || null, userAgent: storedUserAgent(from.userAgent) });
  }

  return {
    verifyPassword,
    setOwnPassword,

    async passwordGrant(username: string, password: string, from: LoginOrigin = NO_ORIGIN): Promise<TokenResponse> {
      const user = await verifyPassword(username, password);
      if (user.passwordTemporary) throw errors.passwordChangeRequired();
      return newLogin(user, 'password_grant', from);
    },

    /**
     * Rotation: each refresh token works once. Presenting a used one again ends its whole grant (RFC 9700 §4.14).
     * A token issued to a client works only for that client, authenticated (`client.authenticate` runs only then).
     * A token from the password grant belongs to no client: it works only when no client credentials are presented.
     */
    async refreshGrant(refreshToken: string, client: { presented: boolean; authenticate(): Promise<OAuthClient> }): Promise<TokenResponse> {
      const now = clock.now();
      const record = await refreshTokens.findByHash(secrets.digest(refreshToken));
      if (!record || record.revokedAt !== null || record.expiresAt <= now) throw errors.invalidRefreshToken();
      const grant = await loginSessions.findGrant(record.familyId);
      if (!grant) throw errors.invalidRefreshToken();
      if (grant.clientId !== null) {
        const caller = await client.authenticate();
        if (caller.clientId !== grant.clientId || !caller.grantTypes.includes('refresh_token')) throw errors.invalidRefreshToken();
      } else if (client.presented) {
        throw errors.invalidRefreshToken(); // RFC 6749 §6: the token was not issued to this client
      }
      if (record.usedAt !== null) {
        await loginSessions.revokeGrant(grant.id, now, [
          { action: 'refresh_token.reused', outcome: 'failure', target: { type: 'user', id: record.userId }, details: { grant_id: grant.id, session_id: grant.sessionId } },
        ]);
        deps.revocations.revoked(record.userId);
        throw errors.invalidRefreshToken();
      }
      const [user, session, active] = await Promise.all([
        users.findById(record.userId),
        loginSessions.find(grant.sessionId),
        loginSessions.grantActive(grant.id, now),
      ]);
      if (!user || !session || !active || !user.enabled || user.tokenVersion !== record.tokenVersion) throw errors.invalidRefreshToken();
      if (!(await refreshTokens.markUsed(record.id, now))) throw errors.invalidRefreshToken();
      return issuer.issue(user, { session, grant, refresh: true, nonce: null });
    },

    /** Sets a permanent password from a temporary or current one; every older token of the user dies. */
    async changePassword(username: string, currentPassword: string, newPassword: string, from: LoginOrigin = NO_ORIGIN): Promise<TokenResponse> {
      const problem = checkPassword(newPassword);
      if (problem) throw new ValidationError([valueError(['new_password'], newPassword, problem)]);
      if (newPassword === currentPassword) {
        throw new ValidationError([valueError(['new_password'], newPassword, 'New password must differ from the current password')]);
      }
      const user = await verifyPassword(username, currentPassword);
      return newLogin(await setOwnPassword(user, newPassword, 'new_password'), 'password_change', from);
    },

    /** Ends the login session the refresh token belongs to, and so every token issued in it. Unknown tokens are fine. */
    async logout(refreshToken: string): Promise<void> {
      const record = await refreshTokens.findByHash(secrets.digest(refreshToken));
      if (!record) return;
      const grant = await loginSessions.findGrant(record.familyId);
      if (grant) await loginSessions.end(grant.sessionId, clock.now(), [sessionEnded(record.userId, grant.sessionId, 'logout')]);
      deps.revocations.revoked(record.userId);
    },

    liveAccessToken,

    /** An access token's principal, or undefined when the token is invalid, expired or outlived by a revocation. */
    async authenticateAccessToken(token: string): Promise<CachedPrincipal | undefined> {
      const live = await liveAccessToken(token);
      if (!live) return undefined;
      const { user, claims } = live;
      return {
        principal: {
          kind: 'user',
          id: user.id,
          roles: effectiveRoles(user),
          email: user.email,
          firstName: user.firstName,
          lastName: user.lastName,
          sessionId: claims.sid,
          authTime: claims.authTime,
        },
        validUntil: claims.exp * 1000,
      };
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
