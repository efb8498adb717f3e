import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { parseAuthorizationRequest, redirectTo } from '../../domain/authorization-request.ts';
import type { OAuthClientService } from '../../domain/oauth-clients.ts';
import type { BrowserOutcome, BrowserState, SignInService } from '../../domain/sign-in.ts';
import type { TokenManagement } from '../../domain/token-management.ts';
import { cookieValue, setCookie } from '../cookies.ts';
import { acceptForms } from '../form.ts';
import { confirmLogoutPage, FAVICON, FAVICON_PATH, loginPage, messagePage, STYLESHEET, STYLESHEET_PATH, updatePasswordPage } from '../pages/sign-in-pages.ts';
import type { RateLimiter } from '../rate-limit.ts';

export const SESSION_COOKIE = 'GATEHOUSE_SESSION';
export const BROWSER_COOKIE = 'GATEHOUSE_BROWSER';
const BROWSER_COOKIE_MAX_AGE_S = 365 * 86_400;

interface Deps {
  signIn: SignInService;
  clients: OAuthClientService;
  tokens: TokenManagement;
  rateLimit: RateLimiter;
  issuer: string;
  base: string;
  sessionTtlSeconds: number;
  randomSecret(): string;
  digest(value: string): string;
  equal(a: string, b: string): boolean;
}

/** The strictest policy a page can live with: its own stylesheet, forms posting only here (and on to `redirectTo`). */
function pageCsp(formTargets: string[] = []): string {
  return ["default-src 'none'", "style-src 'self'", "img-src 'self'", `form-action 'self' ${formTargets.join(' ')}`.trim(), "frame-ancestors 'none'", "base-uri 'none'"].join('; ');
}

/** A form that redirects on to the application must be allowed to (Chromium applies form-action to the redirect too). */
function redirectTarget(uri: string): string {
  const url = new URL(uri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}

/** Query or form parameters as single strings; a parameter given twice makes the request invalid (RFC 6749 §3.1). */
function singleParams(source: unknown): Record<string, string | undefined> | undefined {
  if (source === null || source === undefined) return {};
  if (typeof source !== 'object') return undefined;
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(source as Record<string, unknown>)) {
    // NUL cannot be stored (PostgreSQL refuses it) and a lone surrogate is not text: the request is malformed.
    if (typeof value !== 'string' || value.length > 4096 || /[\u0000\p{Cs}]/u.test(value)) return undefined;
    out[key] = value;
  }
  return out;
}

/**
 * The browser side of sign-in (CONTRACT.md §4a), at Keycloak's addresses under the issuer's path: the authorization
 * endpoint, the login and set-a-new-password forms, and RP-initiated logout. Server-rendered HTML without script,
 * under a Content-Security-Policy that allows nothing but the page's own stylesheet.
 */
export const signInBrowserRoutes: FastifyPluginAsync<Deps> = async (app, deps) => {
  const { signIn, base, issuer } = deps;
  acceptForms(app, 'keep'); // a repeated parameter gets this route's own error page
  const secure = issuer.startsWith('https:');
  const cookiePath = base === '' ? '/' : `${base}/`;
  const issuerOrigin = new URL(issuer).origin;
  const authenticateAction = `${base}/login-actions/authenticate`;
  const updatePasswordAction = `${base}/login-actions/update-password`;
  const logoutAction = `${base}/protocol/openid-connect/logout`;
  const logoutCsrf = (browserSecret: string) => deps.digest(`logout:${browserSecret}`);

  function browserState(request: FastifyRequest): BrowserState {
    return { browserSecret: cookieValue(request.headers.cookie, BROWSER_COOKIE), sessionSecret: cookieValue(request.headers.cookie, SESSION_COOKIE) };
  }

  function sendPage(reply: FastifyReply, status: number, body: string, formTargets: string[] = []) {
    return reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      // Same-origin posts carry their Origin (under no-referrer a browser sends "null"); other sites learn nothing.
      .header('referrer-policy', 'same-origin')
      .header('content-security-policy', pageCsp(formTargets))
      .send(body);
  }

  const errorPage = (reply: FastifyReply, status: number, message: string) =>
    sendPage(reply, status, messagePage({ base, title: status === 429 ? 'Too many attempts' : 'Sign-in problem', message }));

  // A body these pages cannot read (another content type, broken JSON) is a person's problem: answer with a page.
  // Server-side failures go on to the application's handler, which logs them and answers 500 or 503.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if ((error.statusCode ?? 500) >= 500 || !(error.statusCode ?? 0)) throw error;
    return errorPage(reply, 400, 'The form could not be read. Go back and try again.');
  });

  function send(reply: FastifyReply, outcome: BrowserOutcome, method: string) {
    switch (outcome.kind) {
      case 'redirect':
        if (outcome.newSessionSecret) {
          reply.header('set-cookie', setCookie(SESSION_COOKIE, outcome.newSessionSecret, { path: cookiePath, secure, maxAge: deps.sessionTtlSeconds }));
        }
        return reply.header('cache-control', 'no-store').redirect(outcome.location, method === 'POST' ? 303 : 302);
      case 'login_page':
        return sendPage(
          reply,
          200,
          loginPage({
            base,
            appName: outcome.client.clientName ?? outcome.client.clientId,
            action: authenticateAction,
            interaction: outcome.interaction.id,
            ...(outcome.username !== undefined ? { username: outcome.username } : {}),
            ...(outcome.error !== undefined ? { error: outcome.error } : {}),
          }),
          [redirectTarget(outcome.interaction.request.redirectUri)],
        );
      case 'update_password_page':
        return sendPage(
          reply,
          200,
          updatePasswordPage({
            base,
            appName: outcome.client.clientName ?? outcome.client.clientId,
            action: updatePasswordAction,
            interaction: outcome.interaction.id,
            username: outcome.username,
            ...(outcome.error !== undefined ? { error: outcome.error } : {}),
          }),
          [redirectTarget(outcome.interaction.request.redirectUri)],
        );
      case 'error_page':
        return errorPage(reply, outcome.status, outcome.message);
    }
  }

  /**
   * Forms post only from our own pages: a cross-site post (login CSRF) is refused before anything is checked. Fetch
   * metadata says so directly where the browser sends it; otherwise the Origin, when there is one, must be ours.
   */
  function crossSite(request: FastifyRequest): boolean {
    const site = request.headers['sec-fetch-site'];
    if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
    const origin = request.headers.origin;
    return typeof origin === 'string' && origin !== issuerOrigin;
  }

  app.get(`${base}${STYLESHEET_PATH}`, { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
  app.get(`${base}${FAVICON_PATH}`, { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON),
  );

  const authorize = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = singleParams(request.method === 'GET' ? request.query : request.body);
    if (!params) return errorPage(reply, 400, 'The sign-in request is malformed: a parameter is repeated or too long.');
    const parsed = await parseAuthorizationRequest(params, (id) => deps.clients.find(id));
    if (parsed.kind === 'error_page') return errorPage(reply, 400, parsed.message);
    if (parsed.kind === 'redirect_error') {
      const location = redirectTo(parsed.redirectUri, { error: parsed.error, error_description: parsed.description, state: parsed.state }, issuer, parsed.responseMode);
      return reply.header('cache-control', 'no-store').redirect(location, 302);
    }
    const browser = browserState(request);
    const newBrowserSecret = deps.randomSecret();
    const outcome = await signIn.authorize(parsed.client, parsed.request, browser, newBrowserSecret);
    if (!browser.browserSecret && outcome.kind === 'login_page') {
      reply.header('set-cookie', setCookie(BROWSER_COOKIE, newBrowserSecret, { path: cookiePath, secure, maxAge: BROWSER_COOKIE_MAX_AGE_S }));
    }
    return send(reply, outcome, request.method);
  };
  app.get(`${base}/protocol/openid-connect/auth`, { schema: { hide: true } }, authorize);
  app.post(`${base}/protocol/openid-connect/auth`, { schema: { hide: true } }, authorize);

  /** Runs a login form: same-site, within the client IP's budget, with the fields it needs. */
  async function loginAction(request: FastifyRequest, reply: FastifyReply, fields: string[], run: (form: Record<string, string>) => Promise<BrowserOutcome>) {
    if (crossSite(request)) return errorPage(reply, 403, 'This form can only be sent from the sign-in page.');
    const verdict = deps.rateLimit.take(request.ip);
    if (!verdict.allowed) {
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      return errorPage(reply, 429, 'Too many sign-in attempts from your network. Wait a minute, then try again.');
    }
    const form = singleParams(request.body);
    if (!form || fields.some((f) => form[f] === undefined)) return errorPage(reply, 400, 'The form was not sent completely. Go back and try again.');
    return send(reply, await run(form as Record<string, string>), 'POST');
  }

  app.post(authenticateAction, { schema: { hide: true } }, (request, reply) =>
    loginAction(request, reply, ['interaction', 'username', 'password'], (form) =>
      signIn.submitLogin(form.interaction!, browserState(request), form.username!, form.password!),
    ),
  );

  app.post(updatePasswordAction, { schema: { hide: true } }, (request, reply) =>
    loginAction(request, reply, ['interaction', 'password', 'confirm'], (form) =>
      signIn.submitNewPassword(form.interaction!, browserState(request), form.password!, form.confirm!),
    ),
  );

  const logout = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = singleParams(request.method === 'GET' ? request.query : request.body);
    if (!params) return errorPage(reply, 400, 'The sign-out request is malformed: a parameter is repeated or too long.');
    const browser = browserState(request);
    const confirmed =
      request.method === 'POST' &&
      !crossSite(request) &&
      params.confirm === 'yes' &&
      browser.browserSecret !== null &&
      params.csrf !== undefined &&
      deps.equal(params.csrf, logoutCsrf(browser.browserSecret));
    const session = await signIn.browserSession(browser.sessionSecret);
    const outcome = await deps.tokens.endSession(
      {
        ...(params.id_token_hint !== undefined ? { idTokenHint: params.id_token_hint } : {}),
        ...(params.post_logout_redirect_uri !== undefined ? { postLogoutRedirectUri: params.post_logout_redirect_uri } : {}),
        ...(params.client_id !== undefined ? { clientId: params.client_id } : {}),
        ...(params.state !== undefined ? { state: params.state } : {}),
      },
      session && { id: session.id, userId: session.userId },
      confirmed,
    );
    if (outcome.kind === 'error') return errorPage(reply, 400, outcome.message);
    if (outcome.kind === 'confirm') {
      let browserSecret = browser.browserSecret;
      if (!browserSecret) {
        browserSecret = deps.randomSecret();
        reply.header('set-cookie', setCookie(BROWSER_COOKIE, browserSecret, { path: cookiePath, secure, maxAge: BROWSER_COOKIE_MAX_AGE_S }));
      }
      const hidden: Record<string, string> = {};
      for (const key of ['post_logout_redirect_uri', 'client_id', 'state']) if (params[key] !== undefined) hidden[key] = params[key]!;
      const targets = params.post_logout_redirect_uri ? [redirectTarget(params.post_logout_redirect_uri)] : [];
      return sendPage(reply, 200, confirmLogoutPage({ base, action: logoutAction, csrf: logoutCsrf(browserSecret), hidden }), targets);
    }
    reply.header('set-cookie', setCookie(SESSION_COOKIE, '', { path: cookiePath, secure, maxAge: 0 }));
    if (outcome.redirect) return reply.header('cache-control', 'no-store').redirect(outcome.redirect, request.method === 'POST' ? 303 : 302);
    return sendPage(reply, 200, messagePage({ base, title: 'Signed out', message: 'You are signed out. You can close this window.' }));
  };
  app.get(logoutAction, { schema: { hide: true } }, logout);
  app.post(logoutAction, { schema: { hide: true } }, logout);
};
