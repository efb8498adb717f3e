import { normaliseEmail } from './email.ts';
import { errors, valueError, ValidationError } from './errors.ts';
import { uuidv7 } from './ids.ts';
import { checkPassword } from './password-policy.ts';
import type { CachedPrincipal, Revocations } from './principal-cache.ts';
import type {
  Clock,
  LockoutPolicy,
  LoginFailureStore,
  PasswordHasher,
  RefreshTokenStore,
  TokenSigner,
  User,
  UserCredentials,
  UserStore,
} from './ports.ts';

export const REFRESH_TOKEN_PREFIX = 'grt_';

export interface SessionPolicy {
  refreshTtlMs: number;
  temporaryPasswordTtlMs: number;
  lockout: LockoutPolicy;
}

/** RFC 6749 §5.1 token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token: string;
}

export interface SessionDeps {
  users: UserStore;
  hasher: PasswordHasher;
  /** A hash of a random password, verified when the user does not exist so that case costs the same time. */
  dummyHash: string;
  failures: LoginFailureStore;
  refreshTokens: RefreshTokenStore;
  signer: TokenSigner;
  clock: Clock;
  secrets: { randomSecret(): string; digest(secret: string): string };
  policy: SessionPolicy;
  revocations: Revocations;
}

/**
 * Human login (CONTRACT.md §4): the password and refresh-token grants, password change, logout, and turning an
 * access token back into a principal. Every failure that could tell an attacker whether an email exists answers
 * with one text after the same amount of work.
 */
export function createSessionService(deps: SessionDeps) {
  const { users, hasher, failures, refreshTokens, signer, clock, secrets, policy } = deps;

  async function issueTokens(user: User, familyId: string = uuidv7(clock.now())): Promise<TokenResponse> {
    const now = clock.now();
    const { token, expiresIn } = await signer.sign({ sub: user.id, ver: user.tokenVersion, roles: user.roles, jti: uuidv7(now) });
    const refresh = REFRESH_TOKEN_PREFIX + secrets.randomSecret();
    await refreshTokens.insert({
      id: uuidv7(now),
      tokenHash: secrets.digest(refresh),
      familyId,
      userId: user.id,
      tokenVersion: user.tokenVersion,
      createdAt: now,
      expiresAt: now + policy.refreshTtlMs,
    });
    return { access_token: token, token_type: 'bearer', expires_in: expiresIn, refresh_token: refresh };
  }

  /**
   * The password check behind every grant. The hash is verified even for an unknown user (against the dummy hash)
   * and for a locked account, so all three take the same time and give the same answer.
   */
  async function checkCredentials(username: string, password: string): Promise<UserCredentials> {
    const email = normaliseEmail(username);
    const now = clock.now();
    const [state, user] = await Promise.all([failures.state(email, now), users.findCredentialsByEmail(email)]);
    const matches = await hasher.verify(user?.passwordHash ?? deps.dummyHash, password);
    const locked = state.lockedUntil !== null && state.lockedUntil > now;
    if (!user || !matches || locked) {
      // Recorded even while locked (the lock itself is not extended), so a locked account does the same database
      // work as a wrong password and cannot be told apart by timing.
      await failures.recordFailure(email, now, policy.lockout);
      throw errors.invalidLogin();
    }
    if (state.failures > 0) await failures.clear(email);
    if (user.passwordTemporary && now > user.passwordSetAt + policy.temporaryPasswordTtlMs) throw errors.temporaryPasswordExpired();
    return user;
  }

  return {
    async passwordGrant(username: string, password: string): Promise<TokenResponse> {
      const user = await checkCredentials(username, password);
      if (user.passwordTemporary) throw errors.passwordChangeRequired();
      return issueTokens(user);
    },

    /** Rotation: each refresh token works once. Presenting a used one again ends its whole family (RFC 9700 §4.14). */
    async refreshGrant(refreshToken: string): Promise<TokenResponse> {
      const now = clock.now();
      const record = await refreshTokens.findByHash(secrets.digest(refreshToken));
      if (!record || record.revokedAt !== null || record.expiresAt <= now) throw errors.invalidRefreshToken();
      if (record.usedAt !== null) {
        await refreshTokens.revokeFamily(record.familyId, now);
        throw errors.invalidRefreshToken();
      }
      const user = await users.findById(record.userId);
      if (!user || user.tokenVersion !== record.tokenVersion) throw errors.invalidRefreshToken();
      if (!(await refreshTokens.markUsed(record.id, now))) throw errors.invalidRefreshToken();
      return issueTokens(user, record.familyId);
    },

    /** Sets a permanent password from a temporary or current one; every older token of the user dies. */
    async changePassword(username: string, currentPassword: string, newPassword: string): Promise<TokenResponse> {
      const problem = checkPassword(newPassword);
      if (problem) throw new ValidationError([valueError(['body', 'new_password'], newPassword, problem)]);
      if (newPassword === currentPassword) {
        throw new ValidationError([
          valueError(['body', 'new_password'], newPassword, 'New password must differ from the current password'),
        ]);
      }
      const user = await checkCredentials(username, currentPassword);
      const hash = await hasher.hash(newPassword);
      if (!(await users.setPassword(user.id, hash, false, clock.now()))) throw errors.invalidLogin();
      deps.revocations.revoked(user.id);
      const updated = await users.findById(user.id);
      if (!updated) throw errors.invalidLogin();
      return issueTokens(updated);
    },

    /** Ends the session the refresh token belongs to. Unknown tokens are fine: the caller wanted it dead anyway. */
    async logout(refreshToken: string): Promise<void> {
      const record = await refreshTokens.findByHash(secrets.digest(refreshToken));
      if (record) await refreshTokens.revokeFamily(record.familyId, clock.now());
    },

    /** An access token's principal, or undefined when the token is invalid, expired or outlived by a revocation. */
    async authenticateAccessToken(token: string): Promise<CachedPrincipal | undefined> {
      const claims = await signer.verify(token);
      if (!claims) return undefined;
      const user = await users.findById(claims.sub);
      if (!user || user.tokenVersion !== claims.ver) return undefined;
      return {
        principal: { kind: 'user', id: user.id, roles: user.roles, email: user.email, firstName: user.firstName, lastName: user.lastName },
        validUntil: claims.exp * 1000,
      };
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
