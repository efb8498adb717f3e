import { errors, OAuthError } from './errors.ts';
import type { OAuthClientService } from './oauth-clients.ts';
import type { Clock, User, UserStore } from './ports.ts';
import type { Revocations } from './principal-cache.ts';
import { sessionEnded, type SessionService } from './sessions.ts';
import type {
  AuthorizationCodeStore,
  AuthorizationRequest,
  LoginInteraction,
  LoginInteractionStore,
  LoginSession,
  LoginSessionStore,
  OAuthClient,
} from './sign-in-ports.ts';
import { redirectTo } from './authorization-request.ts';
import type { TokenIssuer, TokenResponse } from './token-issuer.ts';

const CODE_TTL_MS = 60_000; // RFC 6749 §4.1.2 recommends at most ten minutes; a real client needs seconds
const INTERACTION_TTL_MS = 15 * 60_000;
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/; // RFC 7636 §4.1

export interface BrowserState {
  /** The browser-binding cookie's value, if the browser sent one. */
  browserSecret: string | null;
  /** The session cookie's value, if any. */
  sessionSecret: string | null;
}

/** What the HTTP layer does next for a browser. */
export type BrowserOutcome =
  | { kind: 'redirect'; location: string; newSessionSecret?: string }
  | { kind: 'login_page'; interaction: LoginInteraction; client: OAuthClient; error?: string; username?: string }
  | { kind: 'update_password_page'; interaction: LoginInteraction; client: OAuthClient; username: string; error?: string }
  | { kind: 'error_page'; status: number; message: string };

export interface SignInDeps {
  users: UserStore;
  clients: OAuthClientService;
  sessions: SessionService;
  loginSessions: LoginSessionStore;
  codes: AuthorizationCodeStore;
  interactions: LoginInteractionStore;
  issuer: TokenIssuer;
  clock: Clock;
  secrets: { randomSecret(): string; digest(secret: string): string; equal(a: string, b: string): boolean; s256(verifier: string): string };
  revocations: Revocations;
  issuerUrl: string;
}

/**
 * The authorization-code flow for browsers (OpenID Connect Core §3.1): single sign-on from a session cookie, the
 * login page and its set-a-new-password step, codes, and their exchange. Everything it keeps lives in the database,
 * so a flow may start on one replica and finish on another.
 */
export function createSignInService(deps: SignInDeps) {
  const { users, loginSessions, codes, interactions, issuer, clock, secrets } = deps;

  /** The browser's live session and its user, or undefined (ended, expired, or outlived by a password change). */
  async function currentSession(sessionSecret: string | null): Promise<{ session: LoginSession; user: User } | undefined> {
    if (!sessionSecret) return undefined;
    const session = await loginSessions.findByCookieHash(secrets.digest(sessionSecret));
    if (!session || session.endedAt !== null || session.expiresAt <= clock.now()) return undefined;
    const user = await users.findById(session.userId);
    if (!user || !user.enabled || user.tokenVersion !== session.tokenVersion) return undefined;
    return { session, user };
  }

  async function issueCode(request: AuthorizationRequest, session: LoginSession): Promise<string> {
    const code = secrets.randomSecret();
    const now = clock.now();
    await codes.insert({
      codeHash: secrets.digest(code),
      clientId: request.clientId,
      sessionId: session.id,
      redirectUri: request.redirectUri,
      scope: request.scope,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      createdAt: now,
      expiresAt: now + CODE_TTL_MS,
    });
    return redirectTo(request.redirectUri, { code, state: request.state }, deps.issuerUrl, request.responseMode);
  }

  /** The interaction named by the form, if this browser started it and it has not expired. */
  async function interactionFor(id: string, browser: BrowserState): Promise<LoginInteraction | undefined> {
    if (!browser.browserSecret || id.length > 100) return undefined;
    const interaction = await interactions.find(id);
    if (!interaction || interaction.expiresAt <= clock.now()) return undefined;
    // Login CSRF defence: the form's interaction must belong to the browser that posts it.
    if (!secrets.equal(interaction.browserHash, secrets.digest(browser.browserSecret))) return undefined;
    return interaction;
  }

  /** Signs the user in (a new session, or a re-authentication of the browser's own) and sends them back with a code. */
  async function complete(interaction: LoginInteraction, user: User, browser: BrowserState): Promise<BrowserOutcome> {
    await interactions.delete(interaction.id);
    const existing = await currentSession(browser.sessionSecret);
    if (existing && existing.user.id === user.id) {
      await loginSessions.reauthenticated(existing.session.id, clock.now());
      const session = { ...existing.session, authTime: clock.now() };
      return { kind: 'redirect', location: await issueCode(interaction.request, session) };
    }
    if (existing) {
      // Another person signs in on this browser.
      await loginSessions.end(existing.session.id, clock.now(), [sessionEnded(existing.user.id, existing.session.id, 'replaced')]);
    }
    const sessionSecret = secrets.randomSecret();
    const session = await issuer.startSession(user, secrets.digest(sessionSecret), 'login_page');
    return { kind: 'redirect', location: await issueCode(interaction.request, session), newSessionSecret: sessionSecret };
  }

  const expired = (): BrowserOutcome => ({
    kind: 'error_page',
    status: 400,
    message: 'This sign-in page has expired or was opened in another browser. Go back to the application and sign in again.',
  });

  return {
    /** The browser's live session (for sign-out), or undefined. */
    browserSession: async (sessionSecret: string | null) => (await currentSession(sessionSecret))?.session,

    /**
     * A valid authorization request: answered from the session cookie when the user is signed in recently enough,
     * otherwise by the login page (or `login_required` for prompt=none).
     */
    async authorize(client: OAuthClient, request: AuthorizationRequest, browser: BrowserState, newBrowserSecret: string): Promise<BrowserOutcome> {
      const now = clock.now();
      const current = await currentSession(browser.sessionSecret);
      // max_age=0 means "sign in again now", even within the same millisecond (OpenID Connect Core §3.1.2.1).
      const tooOld = current && request.maxAge !== null && (request.maxAge === 0 || now - current.session.authTime > request.maxAge * 1000);
      const mustSignIn = !current || tooOld || request.prompt.includes('login');
      if (!mustSignIn) return { kind: 'redirect', location: await issueCode(request, current.session) };
      if (request.prompt.includes('none')) {
        return { kind: 'redirect', location: redirectTo(request.redirectUri, { error: 'login_required', error_description: 'The user is not signed in', state: request.state }, deps.issuerUrl, request.responseMode) };
      }
      const interaction: LoginInteraction = {
        id: secrets.randomSecret(),
        browserHash: secrets.digest(browser.browserSecret ?? newBrowserSecret),
        request,
        userId: null,
        createdAt: now,
        expiresAt: now + INTERACTION_TTL_MS,
      };
      await interactions.insert(interaction);
      return { kind: 'login_page', interaction, client, ...(request.loginHint ? { username: request.loginHint } : {}) };
    },

    /** The login form: the same checks, lockout and non-enumerating answer as the password grant. */
    async submitLogin(interactionId: string, browser: BrowserState, username: string, password: string): Promise<BrowserOutcome> {
      const interaction = await interactionFor(interactionId, browser);
      if (!interaction) return expired();
      const client = await deps.clients.find(interaction.request.clientId);
      if (!client) return expired();
      let user;
      try {
        user = await deps.sessions.verifyPassword(username, password);
      } catch (err) {
        if (err instanceof OAuthError && err.message === errors.temporaryPasswordExpired().message) {
          return { kind: 'error_page', status: 400, message: 'Your temporary password has expired. Ask an administrator to reset it, then sign in again.' };
        }
        if (err instanceof OAuthError) return { kind: 'login_page', interaction, client, error: 'Invalid username or password.', username };
        throw err;
      }
      if (user.passwordTemporary) {
        // Keycloak's UPDATE_PASSWORD required action: the user chooses a password before going on.
        await interactions.setUser(interaction.id, user.id);
        return { kind: 'update_password_page', interaction: { ...interaction, userId: user.id }, client, username: user.email };
      }
      return complete(interaction, user, browser);
    },

    /** The set-a-new-password form that follows a right temporary password. */
    async submitNewPassword(interactionId: string, browser: BrowserState, newPassword: string, confirmation: string): Promise<BrowserOutcome> {
      const interaction = await interactionFor(interactionId, browser);
      if (!interaction || interaction.userId === null) return expired();
      const [client, user] = await Promise.all([deps.clients.find(interaction.request.clientId), users.findById(interaction.userId)]);
      if (!client || !user || !user.passwordTemporary) return expired();
      if (newPassword !== confirmation) return { kind: 'update_password_page', interaction, client, username: user.email, error: 'The two passwords do not match.' };
      let updated: User;
      try {
        updated = await deps.sessions.setOwnPassword(user, newPassword, 'password');
      } catch (err) {
        const problem = (err as { problems?: { msg: string }[] }).problems?.[0]?.msg;
        if (problem) return { kind: 'update_password_page', interaction, client, username: user.email, error: problem.replace(/^Value error, /, '') };
        throw err;
      }
      return complete(interaction, updated, browser);
    },

    /** RFC 6749 §4.1.3 with RFC 7636 §4.6: the code's client, redirect URI and PKCE verifier must all match. */
    async exchangeCode(client: OAuthClient, code: string, redirectUri: string | undefined, codeVerifier: string | undefined): Promise<TokenResponse> {
      const now = clock.now();
      const codeHash = secrets.digest(code);
      const record = await codes.find(codeHash);
      if (!record || record.clientId !== client.clientId) throw errors.invalidCode();
      if (record.usedAt !== null) {
        // RFC 6749 §4.1.2: a code used twice was stolen; what it was exchanged for is revoked.
        if (record.grantId !== null) await revokeGrantOf(record.grantId);
        throw new OAuthError('invalid_grant', 'Authorization code was already used');
      }
      if (record.expiresAt <= now) throw new OAuthError('invalid_grant', 'Authorization code has expired');
      if (redirectUri !== record.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request');
      if (record.codeChallenge !== null) {
        if (codeVerifier === undefined || !CODE_VERIFIER.test(codeVerifier)) throw new OAuthError('invalid_grant', 'code_verifier is missing or malformed');
        if (!secrets.equal(secrets.s256(codeVerifier), record.codeChallenge)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
      } else if (codeVerifier !== undefined) {
        // RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
        throw new OAuthError('invalid_grant', 'code_verifier sent, but the authorization request had no code_challenge');
      }
      const session = await loginSessions.find(record.sessionId);
      const user = session ? await users.findById(session.userId) : undefined;
      if (!session || !user || !user.enabled || session.endedAt !== null || session.expiresAt <= now || user.tokenVersion !== session.tokenVersion) {
        throw new OAuthError('invalid_grant', 'The sign-in behind this code has ended');
      }
      const grant = issuer.newGrant(session, client.clientId, record.scope);
      if (!(await codes.redeem(codeHash, grant, now))) {
        const raced = await codes.find(codeHash);
        if (raced?.grantId) await revokeGrantOf(raced.grantId);
        throw new OAuthError('invalid_grant', 'Authorization code was already used');
      }
      return issuer.issue(user, { session, grant, refresh: client.grantTypes.includes('refresh_token'), nonce: record.nonce });
    },
  };

  async function revokeGrantOf(grantId: string): Promise<void> {
    const grant = await loginSessions.findGrant(grantId);
    const target = grant ? { type: 'user', id: grant.userId } : undefined;
    await loginSessions.revokeGrant(grantId, clock.now(), [{ action: 'token.revoked', outcome: 'failure', target, details: { grant_id: grantId, reason: 'code_replayed' } }]);
    if (grant) deps.revocations.revoked(grant.userId);
  }
}

export type SignInService = ReturnType<typeof createSignInService>;
