import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Clock } from '../../src/domain/ports.ts';
import { startServer } from '../../src/server.ts';
import { createUser, GOOD_PASSWORD, TEST_DIALECT } from '../helpers/app.ts';
import { launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { consoleApp, consolePage, ensureConsoleBuilt, makeOperator, pageProblems, signIn, type ConsoleApp } from '../helpers/console.ts';
import { listeningApp } from '../helpers/oidc.ts';
import { freshSchema } from '../helpers/postgres.ts';
import { freePort } from '../helpers/server-process.ts';

// Signing in to the console as a person does: from a fresh installation whose first operator comes from
// GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL/_PASSWORD, through Gatehouse's own login page and its set-a-new-password step, to
// the console; staying in across a reload and an expired access token; signing out; and what each role sees.

// A missing Chromium fails these tests (launchBrowser says so): CI installs it, so there is nothing to skip.
const FIRST = { email: 'first.admin@example.com', password: 'Amber-Falcon-93-Meadow' };
const NEW_PASSWORD = 'Copper-Lantern-58-Orchard';

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });
const mainNav = (page: Page) => page.getByRole('navigation', { name: 'Main' });
const navNames = async (page: Page) => (await mainNav(page).getByRole('link').allInnerTexts()).map((t) => t.trim());
const storedTokens = (page: Page) =>
  page.evaluate(() => JSON.parse(sessionStorage.getItem('gatehouse.console.tokens') ?? 'null') as { access_token: string; refresh_token?: string } | null);

/** A database URL for a real server start on the dialect under test: a new SQLite file, or a new PostgreSQL schema. */
async function freshDatabaseUrl(t: TestContext): Promise<string> {
  if (TEST_DIALECT === 'postgres') {
    const schema = await freshSchema();
    t.after(() => schema.drop());
    return schema.url;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-console-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'gatehouse.db')}`;
}

describe('the first operator signs in to the console', () => {
  test('sign in with the temporary password, choose a new one, land in the console; reload stays; sign out ends it', { timeout: 90_000 }, async (t) => {
    ensureConsoleBuilt();
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    // The server as `npm start` runs it (startServer: migrate, bootstrap, listen) on a database nobody has used.
    const server = await startServer({
      PORT: String(port),
      DATABASE_URL: await freshDatabaseUrl(t),
      GATEHOUSE_LOG_LEVEL: 'silent',
      GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: FIRST.email,
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: FIRST.password,
    });
    t.after(() => server.stop());
    const browser = await launchBrowser();
    t.after(() => browser.close());

    const page = await consolePage(browser);
    const consoleUrl = `${origin}/console/`;
    await page.goto(consoleUrl);

    // Gatehouse's login page, for the console.
    await heading(page, 'Sign in').waitFor();
    await page.getByLabel('Email', { exact: true }).fill(FIRST.email);
    await page.getByLabel('Password', { exact: true }).fill(FIRST.password);
    await saveScreenshot(page, 'console-sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();

    // The bootstrap password is temporary: the first sign-in asks for a new one.
    await heading(page, 'Choose a new password').waitFor();
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat the new password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password and continue' }).click();

    // In the console, signed in: the operator is named in the header, the overview counts the one user.
    await mainNav(page).waitFor();
    await heading(page, 'Overview').waitFor();
    assert.equal(new URL(page.url()).pathname, '/console/');
    await page.getByRole('banner').getByText(FIRST.email).waitFor();
    await page.getByTestId('user-total').getByText('1', { exact: true }).waitFor();
    assert.deepEqual(await navNames(page), ['Users', 'Groups', 'API keys', 'Applications', 'Audit trail']);
    await saveScreenshot(page, 'console-overview');

    // A reload keeps the sign-in (tokens are in this tab's sessionStorage): no login page.
    const tokens = await storedTokens(page);
    assert.ok(tokens?.access_token);
    await page.reload();
    await heading(page, 'Overview').waitFor();
    await page.getByRole('banner').getByText(FIRST.email).waitFor();
    assert.equal(new URL(page.url()).pathname, '/console/');

    // Sign out: Gatehouse's session ends, and opening the console again asks to sign in.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading(page, 'Sign in').waitFor();
    assert.equal(await storedTokens(page), null, 'the tokens are gone from the tab');
    await page.goto(consoleUrl);
    await heading(page, 'Sign in').waitFor();

    // The access token the console held is refused by the API from now on.
    const me = await fetch(`${origin}/users/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(me.status, 401);
    assert.deepEqual(pageProblems(page), []);

    // The new password is the one that signs in now.
    await page.getByLabel('Email', { exact: true }).fill(FIRST.email);
    await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading(page, 'Overview').waitFor();
    assert.deepEqual(pageProblems(page), []);
  });
});

describe('what each role sees', () => {
  let browser: Browser;

  before(async () => {
    browser = await launchBrowser();
  });
  after(() => browser?.close());

  test('opened under another name for the server (localhost), the console moves to the issuer and signs in there', { timeout: 60_000 }, async () => {
    const gh = await consoleApp();
    const page = await consolePage(browser);
    const elsewhere = gh.consoleUrl.replace('//127.0.0.1:', '//localhost:') + 'users?q=olive';
    assert.notEqual(new URL(elsewhere).origin, new URL(gh.consoleUrl).origin);
    await page.goto(elsewhere);
    await page.getByLabel('Email', { exact: true }).fill(gh.admin.email);
    await page.getByLabel('Password', { exact: true }).fill(gh.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading(page, 'Users').waitFor();
    assert.equal(page.url(), gh.consoleUrl + 'users?q=olive', 'on the issuer’s origin, at the page that was asked for');
    assert.deepEqual(pageProblems(page), []);
  });

  test('an ORG-AUDITOR gets the reading pages and no way to change anything', { timeout: 60_000 }, async () => {
    const gh = await consoleApp();
    const auditor = await makeOperator(gh, 'auditor@example.com', ['ORG-AUDITOR']);
    const page = await consolePage(browser);
    await signIn(page, gh, auditor);
    await heading(page, 'Overview').waitFor();
    await page.getByRole('banner').getByText('Otto Other').waitFor();
    assert.deepEqual(await navNames(page), ['Users', 'Groups', 'API keys', 'Applications', 'Audit trail']);

    // The one page that only changes things is not theirs: the console says so rather than showing a form.
    await page.goto(`${gh.consoleUrl}users/new`);
    await heading(page, 'Not allowed').waitFor();
    await page.getByText('Your roles do not allow this page.').waitFor();

    // No page offers a change: no create, delete, mint, register, disable or reset control anywhere.
    const changes = /^(new user|create|add|delete|remove|mint|register|disable|enable|deactivate|reset|rotate|save|edit)\b/i;
    for (const path of ['users', 'groups', 'keys', 'clients', 'audit']) {
      await page.goto(gh.consoleUrl + path);
      await page.getByRole('main').getByRole('heading', { level: 1 }).waitFor();
      const controls = [...(await page.getByRole('main').getByRole('button').allInnerTexts()), ...(await page.getByRole('main').getByRole('link').allInnerTexts())];
      assert.deepEqual(controls.filter((c) => changes.test(c.trim())), [], `no change controls on ${path}`);
    }
    assert.deepEqual(pageProblems(page), []);
  });

  test('a CHAT-USER is signed in but told the console has no pages for their roles', { timeout: 60_000 }, async () => {
    const gh = await consoleApp();
    const chatUser = await makeOperator(gh, 'chat@example.com', ['CHAT-USER']);
    const page = await consolePage(browser);
    // By hand rather than signIn(): that waits for the navigation, which is empty (so hidden) for this user.
    await page.goto(gh.consoleUrl);
    await page.getByLabel('Email', { exact: true }).fill(chatUser.email);
    await page.getByLabel('Password', { exact: true }).fill(chatUser.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading(page, 'Overview').waitFor();
    await page.getByText('Your roles give you no console pages. An administrator can grant ORG-ADMIN or ORG-AUDITOR.').waitFor();
    assert.deepEqual(await navNames(page), [], 'no page in the navigation');
    await page.goto(`${gh.consoleUrl}users`);
    await heading(page, 'Not allowed').waitFor();
    assert.deepEqual(pageProblems(page), []);
  });
});

/** A server clock the test moves forward: the tokens Gatehouse issued expire without anyone waiting. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
}

describe('an expired access token', () => {
  test('is refreshed silently: the console keeps working without a sign-in page', { timeout: 60_000 }, async (t) => {
    ensureConsoleBuilt();
    const clock = movableClock();
    const gh = await listeningApp({ GATEHOUSE_ACCESS_TOKEN_TTL: '60' }, { clock });
    const admin = await createUser(gh.app, { email: 'olive@example.com', password: GOOD_PASSWORD, temporary: false, roles: ['ORG-ADMIN'], firstName: 'Olive', lastName: 'Operator' });
    const browser = await launchBrowser();
    t.after(() => browser.close());
    const page = await consolePage(browser);
    const refreshes: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && /\/token$/.test(new URL(request.url()).pathname) && /grant_type=refresh_token/.test(request.postData() ?? '')) refreshes.push(request.url());
    });

    const app: ConsoleApp = { ...gh, consoleUrl: `${gh.origin}/console/`, admin: { id: admin.id, email: admin.email, password: GOOD_PASSWORD } };
    await signIn(page, app);
    await heading(page, 'Overview').waitFor();
    const before = await storedTokens(page);
    assert.ok(before);
    assert.equal(refreshes.length, 0);

    // Five minutes on at the server: the 60-second access token is dead there, while the tab still thinks it good.
    clock.advance(5 * 60_000);
    const dead = await gh.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${before.access_token}` } });
    assert.equal(dead.statusCode, 401, 'the old access token is expired');

    // The next thing the operator does needs the API: it is answered 401, refreshed once, and retried unseen.
    await page.getByRole('link', { name: 'Users' }).first().click();
    await heading(page, 'Users').waitFor();
    await page.getByRole('link', { name: 'Gatehouse' }).click();
    await heading(page, 'Overview').waitFor();
    await page.getByTestId('user-total').waitFor();
    await page.getByRole('banner').getByText('Olive Operator').waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Sign in' }).count(), 0, 'no login page');
    assert.equal(await page.getByRole('alert').count(), 0, 'no error on screen');
    const afterRefresh = await storedTokens(page);
    assert.ok(afterRefresh && afterRefresh.access_token !== before.access_token, 'a new access token');
    assert.ok(refreshes.length >= 1, 'the refresh token was used');
    const live = await gh.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${afterRefresh.access_token}` } });
    assert.equal(live.statusCode, 200);
    assert.deepEqual(pageProblems(page), []);
  });
});
