/**
 * Signing the operator in: OpenID Connect authorization code flow with PKCE (RFC 7636), the console being
 * Gatehouse's built-in public client. Tokens live in sessionStorage (this tab only, gone when it closes); the
 * strict Content-Security-Policy the console is served with is what keeps other script away from them.
 */

export interface ConsoleConfig {
  issuer: string;
  client_id: string;
  redirect_uri: string;
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint: string;
  revocation_endpoint: string;
}

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  /** Epoch ms when the access token stops working. */
  expires_at: number;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  /** Where the operator was going (a console path), restored after sign-in. */
  return_to: string;
}

const TOKENS = 'gatehouse.console.tokens';
const PENDING = 'gatehouse.console.pending';
/** Refresh a little before expiry, so a request never leaves with a token about to die. */
const EARLY_MS = 30_000;

let config: ConsoleConfig | undefined;

export async function loadConfig(): Promise<ConsoleConfig> {
  if (config) return config;
  const res = await fetch('/console/config.json', { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`The console's configuration could not be loaded (HTTP ${res.status}).`);
  config = (await res.json()) as ConsoleConfig;
  return config;
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

function readTokens(): Tokens | undefined {
  try {
    const raw = sessionStorage.getItem(TOKENS);
    return raw ? (JSON.parse(raw) as Tokens) : undefined;
  } catch {
    return undefined;
  }
}

function saveTokens(response: { access_token: string; refresh_token?: string; id_token?: string; expires_in: number }, previous?: Tokens): void {
  const tokens: Tokens = {
    access_token: response.access_token,
    expires_at: Date.now() + response.expires_in * 1000,
    ...(response.refresh_token ? { refresh_token: response.refresh_token } : previous?.refresh_token ? { refresh_token: previous.refresh_token } : {}),
    ...(response.id_token ? { id_token: response.id_token } : previous?.id_token ? { id_token: previous.id_token } : {}),
  };
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
}

async function tokenRequest(form: Record<string, string>): Promise<{ access_token: string; refresh_token?: string; id_token?: string; expires_in: number }> {
  const cfg = await loadConfig();
  const res = await fetch(cfg.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await res.json().catch(() => ({}))) as { error_description?: string; error?: string };
  if (!res.ok) throw new Error(body.error_description ?? body.error ?? `The token endpoint answered HTTP ${res.status}.`);
  return body as { access_token: string; refresh_token?: string; id_token?: string; expires_in: number };
}

/** Sends the browser to Gatehouse's sign-in page; it comes back to the console with a code. */
export async function signIn(returnTo = location.pathname + location.search): Promise<never> {
  const cfg = await loadConfig();
  const pending: PendingSignIn = { state: randomString(16), verifier: randomString(48), return_to: returnTo };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(cfg.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.client_id,
    redirect_uri: cfg.redirect_uri,
    scope: 'openid',
    state: pending.state,
    code_challenge: await s256(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
  return new Promise<never>(() => {}); // the page is leaving
}

/**
 * On the way back from the sign-in page: exchanges the code for tokens and puts the address the operator wanted
 * back in the location bar. Returns false when this page load is not a sign-in coming back.
 */
export async function completeSignIn(): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const state = params.get('state');
  if (!state || (!params.has('code') && !params.has('error'))) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as PendingSignIn | null;
  sessionStorage.removeItem(PENDING);
  if (!pending || pending.state !== state) throw new Error('This sign-in was not started here, or it was already used. Sign in again.');
  const error = params.get('error');
  if (error) throw new Error(params.get('error_description') ?? `Sign-in failed (${error}).`);
  const cfg = await loadConfig();
  saveTokens(
    await tokenRequest({
      grant_type: 'authorization_code',
      code: params.get('code')!,
      redirect_uri: cfg.redirect_uri,
      client_id: cfg.client_id,
      code_verifier: pending.verifier,
    }),
  );
  history.replaceState(null, '', pending.return_to.startsWith('/console') ? pending.return_to : '/console/');
  return true;
}

let refreshing: Promise<string | undefined> | undefined;

/** A live access token, refreshed when it is about to expire; undefined when the operator must sign in again. */
export async function accessToken(forceRefresh = false): Promise<string | undefined> {
  const tokens = readTokens();
  if (!tokens) return undefined;
  if (!forceRefresh && tokens.expires_at - EARLY_MS > Date.now()) return tokens.access_token;
  if (!tokens.refresh_token) return undefined;
  // One refresh at a time: refresh tokens rotate, and presenting a used one again ends the whole sign-in.
  refreshing ??= (async () => {
    try {
      const cfg = await loadConfig();
      saveTokens(await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: cfg.client_id }), tokens);
      return readTokens()?.access_token;
    } catch {
      sessionStorage.removeItem(TOKENS);
      return undefined;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

export const signedIn = (): boolean => readTokens() !== undefined;

/** Ends the sign-in everywhere it counts: Gatehouse's browser session (RP-initiated logout) and these tokens. */
export async function signOut(): Promise<never> {
  const cfg = await loadConfig();
  const tokens = readTokens();
  sessionStorage.removeItem(TOKENS);
  const url = new URL(cfg.end_session_endpoint);
  url.search = new URLSearchParams({
    client_id: cfg.client_id,
    post_logout_redirect_uri: cfg.redirect_uri,
    ...(tokens?.id_token ? { id_token_hint: tokens.id_token } : {}),
  }).toString();
  location.assign(url.toString());
  return new Promise<never>(() => {});
}
