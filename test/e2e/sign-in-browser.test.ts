import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as oidc from 'openid-client';
import type { Browser, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { createUser, GOOD_PASSWORD } from '../helpers/app.ts';
import { browserAvailable, launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { listeningApp, registerClient } from '../helpers/oidc.ts';

// The login pages in a real Chromium, driven the way a person would (by label and role, mouse and keyboard), with
// openid-client as the relying party and a real little HTTP server as its redirect target, so every hop — including
// the browser honouring the pages' Content-Security-Policy on form posts and redirects — is the real thing.

const APP_NAME = 'Harbor Notes';
const NEW_PASSWORD = 'Brand-New-Harbor-77-Lamp';
const DOCS_IMAGE = fileURLToPath(new URL('../../docs/images/login-page.png', import.meta.url));

let browser: Browser;
let rp: { server: Server; callback: string; signedOut: string; hits: URL[] };

before(async () => {
  // CI installs Chromium: a missing one is a broken machine, not a reason to skip the only real-browser suite.
  assert.ok(browserAvailable(), 'Chromium is missing: apt-get install chromium, or set CHROMIUM_PATH');
  browser = await launchBrowser();
  rp = await startRelyingParty();
});

after(async () => {
  await browser?.close();
  rp?.server.closeAllConnections();
  await new Promise((resolve) => rp?.server.close(resolve));
});

/** The application's side: records every hit and answers with a page, so the browser lands somewhere real. */
async function startRelyingParty(): Promise<typeof rp> {
  const hits: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    hits.push(url);
    const text = url.pathname === '/signed-out' ? 'Signed out of the test app' : 'Signed in to the test app';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Test app</title><h1>${text}</h1>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, callback: `http://127.0.0.1:${port}/callback`, signedOut: `http://127.0.0.1:${port}/signed-out`, hits };
}

/** A fresh Gatehouse with a client registered for the little server, and a page in a fresh browser context. */
async function setup(t: TestContext, contextOptions: BrowserContextOptions = {}) {
  const gh = await listeningApp();
  const client = await registerClient(gh.app, { client_name: APP_NAME, redirect_uris: [rp.callback], post_logout_redirect_uris: [rp.signedOut] });
  const secret = client.client_secret!;
  const config = await oidc.discovery(new URL(gh.issuer), client.client_id, secret, oidc.ClientSecretBasic(secret), {
    execute: [oidc.allowInsecureRequests], // plain HTTP on loopback
  });
  return { gh, config, page: await newPage(t, contextOptions) };
}

async function newPage(t: TestContext, contextOptions: BrowserContextOptions): Promise<Page> {
  const context = await browser.newContext(contextOptions);
  context.setDefaultTimeout(10_000); // a missing element should fail in seconds, not hang for Playwright's 30 s
  t.after(() => context.close());
  const page = await context.newPage();
  // A CSP violation (a blocked stylesheet, a refused form target) shows up as a console error: none is allowed.
  // Except Chromium's own probe for /favicon.ico, which the pages do not declare and Gatehouse does not serve.
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) consoleErrors.push(`${m.text()} at ${m.location().url}`);
  });
  page.on('pageerror', (e) => void consoleErrors.push(String(e)));
  t.after(() => assert.deepEqual(consoleErrors, [], 'no console errors (CSP violations, failed loads)'));
  return page;
}

/** A fresh authorization request (code + PKCE + state + nonce) and the exchange of wherever the browser lands. */
async function authorization(config: oidc.Configuration, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: rp.callback,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const exchange = (landed: string) => oidc.authorizationCodeGrant(config, new URL(landed), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  return { url: url.href, state, exchange };
}

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });
const isFocused = (locator: Locator) => locator.evaluate((el) => el === document.activeElement);
const backAtApp = (page: Page) => page.waitForURL((u) => u.href.startsWith(`${rp.callback}?`));

async function submitLogin(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function alertText(page: Page): Promise<string> {
  return (await page.getByRole('alert').textContent())!.trim();
}

async function bodyBackground(page: Page): Promise<string> {
  return page.locator('body').evaluate((el) => getComputedStyle(el).backgroundColor);
}

async function usersMe(origin: string, accessToken: string): Promise<number> {
  return (await fetch(`${origin}/users/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

test('sign in: an accessible, script-free login page; a wrong password, then the keyboard alone, and a code exchange', async (t) => {
  const { gh, config, page } = await setup(t);
  const user = await createUser(gh.app, { firstName: 'Grace', lastName: 'Hopper' });
  const auth = await authorization(config);

  const response = (await page.goto(auth.url))!;
  assert.equal(response.status(), 200);
  await heading(page, 'Sign in').waitFor();
  assert.match(await page.getByRole('main').innerText(), new RegExp(`to continue to ${APP_NAME}`), "the client's name is shown");
  const email = page.getByLabel('Email', { exact: true });
  const password = page.getByLabel('Password', { exact: true });
  assert.equal(await email.getAttribute('autocomplete'), 'username', 'password managers find the account name');
  assert.equal(await password.getAttribute('autocomplete'), 'current-password');

  // No script may run here: no inline allowance, no script source at all (default-src 'none' covers it), none used.
  const csp = response.headers()['content-security-policy'] ?? '';
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values] as const));
  assert.deepEqual(directives.get('default-src'), ["'none'"], csp);
  assert.equal(directives.has('script-src'), false, csp);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, csp);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"], 'the login page cannot be framed (clickjacking)');
  assert.equal(await page.locator('script').count(), 0);
  assert.equal(await bodyBackground(page), 'rgb(244, 245, 247)', 'the stylesheet loaded under the CSP');

  // A wrong password: a non-enumerating alert, and the email survives so only the password needs typing again.
  await submitLogin(page, user.email, 'Wrong-Password-123-Zebra');
  assert.equal(await alertText(page), 'Invalid username or password.');
  assert.equal(await email.inputValue(), user.email);
  assert.equal(await password.inputValue(), '', 'a typed password is never sent back in the page');

  // The keyboard alone, as without a mouse: the email field, Tab to the password, Enter submits.
  await email.focus();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(user.email);
  await page.keyboard.press('Tab');
  assert.ok(await isFocused(password), 'Tab moves from Email to Password');
  await page.keyboard.type(GOOD_PASSWORD);
  await page.keyboard.press('Enter');
  await backAtApp(page);
  await page.getByText('Signed in to the test app').waitFor();

  const landed = new URL(page.url());
  assert.ok(landed.searchParams.get('code'));
  assert.equal(landed.searchParams.get('state'), auth.state);
  assert.equal(landed.searchParams.get('iss'), gh.issuer, 'RFC 9207: the response names its issuer');
  assert.ok(rp.hits.some((h) => h.searchParams.get('state') === auth.state), 'the application really received the redirect');
  const tokens = await auth.exchange(page.url());
  const claims = tokens.claims()!;
  assert.equal(claims.sub, user.id);
  assert.equal(claims.email, user.email);
  assert.equal(claims.name, 'Grace Hopper');
  assert.equal(await usersMe(gh.origin, tokens.access_token), 200);
});

test('a temporary password is replaced inside the flow, and stops working', async (t) => {
  const { gh, config, page } = await setup(t);
  const user = await createUser(gh.app, { temporary: true });
  const auth = await authorization(config);

  await page.goto(auth.url);
  await submitLogin(page, user.email, GOOD_PASSWORD);
  await heading(page, 'Choose a new password').waitFor();
  const fresh = page.getByLabel('New password', { exact: true });
  const repeat = page.getByLabel('Repeat the new password', { exact: true });
  assert.ok(await isFocused(fresh), 'the first field has focus');
  assert.equal(await fresh.getAttribute('autocomplete'), 'new-password', 'password managers offer to generate one');

  await fresh.fill(NEW_PASSWORD);
  await repeat.fill(`${NEW_PASSWORD}x`);
  await page.getByRole('button', { name: 'Set password and continue' }).click();
  assert.equal(await alertText(page), 'The two passwords do not match.');
  await heading(page, 'Choose a new password').waitFor();

  await fresh.fill(NEW_PASSWORD);
  await repeat.fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set password and continue' }).click();
  await backAtApp(page);
  const tokens = await auth.exchange(page.url());
  assert.equal(tokens.claims()!.sub, user.id);
  assert.equal(await usersMe(gh.origin, tokens.access_token), 200);

  // prompt=login asks for the password again in the same browser: the temporary one is refused, the new one works.
  const again = await authorization(config, { prompt: 'login' });
  await page.goto(again.url);
  await submitLogin(page, user.email, GOOD_PASSWORD);
  assert.equal(await alertText(page), 'Invalid username or password.');
  await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await backAtApp(page);
  assert.equal((await again.exchange(page.url())).claims()!.sub, user.id);
});

test('single sign-on, prompt=login, and RP-initiated logout that ends the session and its tokens', async (t) => {
  const { gh, config, page } = await setup(t);
  const user = await createUser(gh.app);

  const first = await authorization(config);
  await page.goto(first.url);
  await submitLogin(page, user.email, GOOD_PASSWORD);
  await backAtApp(page);
  const tokens = await first.exchange(page.url());
  const sessionCookie = async () => (await page.context().cookies()).find((c) => c.name === 'GATEHOUSE_SESSION');
  const cookie = await sessionCookie();
  assert.ok(cookie?.httpOnly && cookie.sameSite === 'Lax', `the session cookie is out of scripts' reach: ${JSON.stringify(cookie)}`);

  // Signed in already: straight back to the application, one redirect, no page of ours in between.
  const second = await authorization(config);
  const landing = (await page.goto(second.url))!;
  assert.ok(page.url().startsWith(`${rp.callback}?`), `expected the app, got ${page.url()}`);
  assert.equal(landing.request().redirectedFrom()?.url(), second.url, 'exactly one hop: the authorization endpoint redirected');
  assert.equal(landing.request().redirectedFrom()?.redirectedFrom(), null);
  const silent = await second.exchange(page.url());
  assert.equal(silent.claims()!.sub, user.id);
  assert.equal(silent.claims()!.sid, tokens.claims()!.sid, 'the same browser session');

  // prompt=login insists on the password even though the session is live.
  await page.goto((await authorization(config, { prompt: 'login' })).url);
  await heading(page, 'Sign in').waitFor();

  const logout = oidc.buildEndSessionUrl(config, { id_token_hint: silent.id_token!, post_logout_redirect_uri: rp.signedOut, state: 'bye' });
  await page.goto(logout.href);
  assert.equal(page.url(), `${rp.signedOut}?state=bye`);
  await page.getByText('Signed out of the test app').waitFor();
  assert.equal(await sessionCookie(), undefined, 'the session cookie is deleted');

  // The session's tokens are dead, and the browser must sign in again.
  assert.equal(await usersMe(gh.origin, tokens.access_token), 401);
  assert.equal(await usersMe(gh.origin, silent.access_token), 401);
  await page.goto((await authorization(config)).url);
  await heading(page, 'Sign in').waitFor();
  assert.ok(page.url().startsWith(gh.issuer), 'the login page, not a silent redirect');
});

test('screenshots: login (light, error, dark) and choose-a-new-password, for a person to look at', async (t) => {
  const viewport = { width: 900, height: 700 }; // the README shows the light one: big enough to read, not huge
  const { gh, config, page } = await setup(t, { viewport, colorScheme: 'light' });
  const temporary = await createUser(gh.app, { temporary: true });

  await page.goto((await authorization(config)).url);
  await heading(page, 'Sign in').waitFor();
  assert.equal(await bodyBackground(page), 'rgb(244, 245, 247)');
  // The card sits in the middle of the window, whatever the font metrics (a screenshot alone would not fail a run).
  const card = (await page.getByRole('main').boundingBox())!;
  assert.ok(Math.abs(card.x + card.width / 2 - viewport.width / 2) <= 2, `card centred horizontally: ${JSON.stringify(card)}`);
  assert.ok(Math.abs(card.y + card.height / 2 - viewport.height / 2) <= 2, `card centred vertically: ${JSON.stringify(card)}`);
  const light = await saveScreenshot(page, 'login-page-light');
  // docs/images/ is committed: rewritten only on request, so test runs leave the work tree clean.
  if (process.env.GATEHOUSE_UPDATE_DOCS_IMAGES === '1') {
    await mkdir(dirname(DOCS_IMAGE), { recursive: true });
    await copyFile(light, DOCS_IMAGE);
  }

  await submitLogin(page, temporary.email, 'Wrong-Password-123-Zebra');
  await page.getByRole('alert').waitFor();
  await saveScreenshot(page, 'login-page-error');

  await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Choose a new password').waitFor();
  await saveScreenshot(page, 'choose-new-password');

  const dark = await newPage(t, { viewport, colorScheme: 'dark' });
  await dark.goto((await authorization(config)).url);
  await heading(dark, 'Sign in').waitFor();
  assert.equal(await bodyBackground(dark), 'rgb(20, 22, 26)', 'the dark palette applies');
  await saveScreenshot(dark, 'login-page-dark');
});
