import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../src/domain/ports.ts';
import { ADMIN, json, testApp, type TestApp } from './app.ts';
import { freePort } from './server-process.ts';

export const REALM_PATH = '/realms/test';

export interface ListeningApp extends TestApp {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** The issuer: `<origin>/realms/test`, as a Keycloak realm would be. */
  issuer: string;
}

/**
 * A fresh app (fresh database of the dialect under test) listening on a real port, with an issuer that carries a
 * Keycloak-style realm path: relying-party libraries talk to it over real HTTP.
 */
export async function listeningApp(env: Record<string, string> = {}, opts: { clock?: Clock } = {}): Promise<ListeningApp> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}${REALM_PATH}`;
  const t = await testApp({ GATEHOUSE_ISSUER: issuer, PORT: String(port), GATEHOUSE_AUTH_RATE_LIMIT: '0', ...env }, opts);
  await t.app.listen({ port, host: '127.0.0.1' });
  return { ...t, origin, issuer };
}

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method: string;
}

/** Registers a client through the API (as an ORG-ADMIN would). */
export async function registerClient(app: FastifyInstance, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/clients',
    headers: ADMIN,
    payload: {
      client_name: 'Test App',
      redirect_uris: ['http://app.example.test/callback'],
      post_logout_redirect_uris: ['http://app.example.test/signed-out'],
      ...metadata,
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  return json<RegisteredClient>(res);
}

export interface BrowserResponse {
  status: number;
  location: string | null;
  body: string;
  headers: Headers;
}

/**
 * A minimal browser over real HTTP: it keeps cookies (per name, ignoring paths, which is enough for one server) and
 * never follows redirects, so tests see every hop. Playwright drives a real one in the browser suite.
 */
export class CookieBrowser {
  readonly cookies = new Map<string, string>();

  constructor(readonly origin: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(method: 'GET' | 'POST', url: string, form?: Record<string, string>, extraHeaders: Record<string, string> = {}): Promise<BrowserResponse> {
    const absolute = new URL(url, this.origin).toString();
    const headers: Record<string, string> = { ...extraHeaders };
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(absolute, { method, headers, body, redirect: 'manual' });
    this.remember(res.headers);
    return { status: res.status, location: res.headers.get('location'), body: await res.text(), headers: res.headers };
  }

  get(url: string) {
    return this.request('GET', url);
  }

  post(url: string, form: Record<string, string>, headers?: Record<string, string>) {
    return this.request('POST', url, form, headers);
  }
}

/** The hidden fields and action of the first form on a page. */
export function formOf(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1];
  assert.ok(action, `no form on the page: ${html.slice(0, 500)}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields[m[1]!] = decodeEntities(m[2]!);
  return { action: decodeEntities(action), fields };
}

function decodeEntities(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Signs `username` in through the login page in `browser`, starting from an authorization URL; returns the redirect
 * back to the application (a URL with `code` or `error`).
 */
export async function signInThroughPage(browser: CookieBrowser, authorizationUrl: string, username: string, password: string): Promise<URL> {
  const page = await browser.get(authorizationUrl);
  assert.equal(page.status, 200, `login page expected, got ${page.status} ${page.location ?? ''} ${page.body.slice(0, 300)}`);
  const form = formOf(page.body);
  const done = await browser.post(form.action, { ...form.fields, username, password });
  assert.equal(done.status, 303, `redirect expected after login, got ${done.status}: ${done.body.slice(0, 400)}`);
  return new URL(done.location!);
}
