import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { ADMIN, createUser, GOOD_PASSWORD } from '../helpers/app.ts';
import { launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { consoleApp, consolePage, pageProblems, signIn, type ConsoleApp } from '../helpers/console.ts';
import { registerClient } from '../helpers/oidc.ts';

// The console's quality bar, checked in a real Chromium: no serious or critical axe-core violation on any page in
// either theme; everything reachable by keyboard, with focus visible and dialogs that trap and give back focus;
// nothing the strict Content-Security-Policy forbids; and a first page whose JavaScript is at most 200 KB gzipped.

// A missing Chromium fails these tests (launchBrowser says so): CI installs it, so there is nothing to skip.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const AXE_SOURCE = readFileSync(`${ROOT}node_modules/axe-core/axe.min.js`, 'utf8');
const JS_BUDGET_BYTES = 200 * 1024;

/** The page patterns console/src/routes.ts declares: the test fails when a page is added that it does not visit. */
function declaredPatterns(): string[] {
  const source = readFileSync(`${ROOT}console/src/routes.ts`, 'utf8');
  return [...source.matchAll(/pattern:\s*'([^']*)'/g)].map((m) => m[1]!);
}

interface Seeded {
  userId: string;
  groupId: string;
  clientId: string;
}

/** Something on every page: a second user (named, in a group), a group, an API key and a registered client. */
async function seed(gh: ConsoleApp): Promise<Seeded> {
  const user = await createUser(gh.app, { email: 'ulla.keyboard@example.com', password: GOOD_PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Ulla', lastName: 'Keyboard' });
  const group = await gh.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Support', description: 'The support desk', roles: ['CHAT-USER'] } });
  assert.equal(group.statusCode, 201, group.body);
  const groupId = group.json().id as string;
  const members = await gh.app.inject({ method: 'POST', url: `/groups/${groupId}/members`, headers: ADMIN, payload: { user_ids: [user.id] } });
  assert.ok(members.statusCode < 300, members.body);
  const key = await gh.app.inject({ method: 'POST', url: '/auth/api_keys', headers: ADMIN, payload: { roles: ['ORG-AUDITOR'], description: 'Reporting job' } });
  assert.equal(key.statusCode, 200, key.body);
  const client = await registerClient(gh.app, { client_name: 'Chat app' });
  return { userId: user.id, groupId, clientId: client.client_id };
}

/** Every page, as an address below /console/, for each pattern of routes.ts. */
function pagesOf(s: Seeded): Record<string, string> {
  return {
    '': '',
    users: 'users',
    'users/new': 'users/new',
    'users/:id': `users/${s.userId}`,
    groups: 'groups',
    'groups/:id': `groups/${s.groupId}`,
    keys: 'keys',
    clients: 'clients',
    'clients/:id': `clients/${encodeURIComponent(s.clientId)}`,
    audit: 'audit',
  };
}

/** Opens a console page by address and waits until it has its heading and nothing on it is still loading. */
async function openPage(page: Page, gh: ConsoleApp, path: string): Promise<void> {
  await page.goto(gh.consoleUrl + path);
  await page.getByRole('main').getByRole('heading', { level: 1 }).first().waitFor();
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]') && !/\b(Loading|Counting)[^\n]*…/.test(document.body.innerText));
}

interface AxeResult {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's serious and critical violations on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  // page.evaluate runs through the DevTools protocol, which the page's CSP does not govern (an added <script> would be).
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeResult[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
}

describe('console quality', () => {
  let browser: Browser;

  before(async () => {
    browser = await launchBrowser();
  });
  after(() => browser?.close());

  test('every page routes.ts declares is visited here', () => {
    assert.deepEqual(declaredPatterns().sort(), Object.keys(pagesOf({ userId: 'u', groupId: 'g', clientId: 'c' })).sort());
  });

  for (const theme of ['light', 'dark'] as const) {
    test(`axe-core: no serious or critical violation on any page, ${theme} theme; no CSP violation or script error`, { timeout: 180_000 }, async () => {
      const gh = await consoleApp();
      const seeded = await seed(gh);
      const page = await consolePage(browser, { colorScheme: theme });
      await signIn(page, gh);
      const found: string[] = [];
      for (const [pattern, path] of Object.entries(pagesOf(seeded))) {
        await openPage(page, gh, path);
        for (const v of await seriousViolations(page)) found.push(`/console/${pattern}: ${v}`);
        await saveScreenshot(page, `console-quality-${theme}-${pattern.replace(/[/:]+/g, '-') || 'overview'}`);
      }
      assert.deepEqual(found, [], `axe-core found:\n${found.join('\n')}`);
      assert.deepEqual(pageProblems(page), [], 'no script error and nothing the Content-Security-Policy refused');
    });
  }

  test('the keyboard alone: sign in, go to Users, open a user, open and cancel a dialog, focus visible and returned', { timeout: 120_000 }, async () => {
    const gh = await consoleApp();
    const seeded = await seed(gh);
    const page = await consolePage(browser);

    /** Presses Tab until `target` has the focus (at most `limit` times): how a keyboard user gets there. */
    async function tabTo(target: Locator, limit = 60): Promise<void> {
      for (let i = 0; i < limit; i++) {
        if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
        await page.keyboard.press('Tab');
      }
      assert.fail(`Tab never reached ${target}`);
    }
    /** The focused element shows it: an outline or a ring (box-shadow), not the browser default removed. */
    const focusVisible = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return false;
        const style = getComputedStyle(el);
        const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
        return outline || (style.boxShadow !== 'none' && style.boxShadow !== '');
      });

    await page.goto(gh.consoleUrl);
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await tabTo(page.getByLabel('Email', { exact: true }));
    await page.keyboard.type(gh.admin.email);
    await tabTo(page.getByLabel('Password', { exact: true }));
    await page.keyboard.type(gh.admin.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();

    // The first Tab offers the skip link, which moves focus to the page itself.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Skip to content');
    assert.ok(await focusVisible(), 'the skip link shows its focus');

    const usersLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' });
    await tabTo(usersLink);
    assert.ok(await focusVisible(), 'the navigation link shows its focus');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();

    const userLink = page.getByRole('main').getByRole('link', { name: 'Ulla Keyboard' });
    await userLink.waitFor();
    await tabTo(userLink);
    assert.ok(await focusVisible(), 'the user link shows its focus');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Ulla Keyboard' }).waitFor();

    // A destructive action: its dialog takes the focus (Cancel first), keeps it inside, and Escape cancels.
    const deleteButton = page.getByRole('main').getByRole('button', { name: 'Delete', exact: true });
    await tabTo(deleteButton);
    assert.ok(await focusVisible(), 'the Delete button shows its focus');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: /Delete Ulla Keyboard/ }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Cancel', 'Cancel has the focus, so Enter destroys nothing');
    assert.ok(await focusVisible(), 'Cancel shows its focus');
    // A modal <dialog> makes the rest of the page inert: Tab cycles through the dialog's controls, and past the last
    // one the browser may take the focus to its own toolbar (document.body here) before coming back. It never lands
    // on the page behind.
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      const where = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return 'outside the page';
        return el.closest('dialog') ? `dialog: ${el.textContent?.trim()}` : `page: ${el.outerHTML.slice(0, 80)}`;
      });
      assert.ok(!where.startsWith('page:'), `Tab ${i + 1} left the dialog for the page behind it (${where})`);
      seen.add(where);
    }
    assert.ok(seen.has('dialog: Cancel') && seen.has('dialog: Delete user'), `Tab reaches both buttons: ${[...seen].join(', ')}`);
    await tabTo(dialog.getByRole('button', { name: 'Cancel' }));
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(await deleteButton.evaluate((el) => el === document.activeElement), 'focus returns to the Delete button');
    const still = await gh.app.inject({ method: 'GET', url: `/users/${seeded.userId}`, headers: ADMIN });
    assert.equal(still.statusCode, 200, 'Escape deleted nothing');
    assert.deepEqual(pageProblems(page), []);
  });

  test('the Content-Security-Policy is on every console response, and the markup needs nothing it forbids', async () => {
    const gh = await consoleApp();
    const index = await fetch(gh.consoleUrl);
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith('.js')), `the page loads its script from a file: ${assets.join(', ')}`);
    for (const url of [gh.consoleUrl, `${gh.consoleUrl}users/some-id`, `${gh.consoleUrl}audit?action=user.created`, ...assets.map((a) => gh.origin + a)]) {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/, `${url}: ${csp}`);
      assert.match(csp, /style-src 'self'(;|$)/, `${url}: ${csp}`);
      assert.match(csp, /img-src 'self'(;|$)/, `${url}: ${csp}`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|data:/, url);
      await res.arrayBuffer();
    }
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
    assert.doesNotMatch(html, /<style[\s>]/i, 'no <style> element');
    assert.doesNotMatch(html, /\sstyle=/i, 'no style attribute');
  });

  test('the JavaScript loaded for the first page is at most 200 KB gzipped', { timeout: 60_000 }, async () => {
    const gh = await consoleApp();
    const page = await consolePage(browser);
    const scripts = new Set<string>();
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (url.origin === gh.origin && url.pathname.startsWith('/console/') && url.pathname.endsWith('.js')) scripts.add(url.pathname);
    });
    await signIn(page, gh);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.getByTestId('user-total').waitFor();
    assert.ok(scripts.size > 0, 'some script was loaded');
    let total = 0;
    const sizes: string[] = [];
    for (const path of scripts) {
      const gz = gzipSync(readFileSync(`${ROOT}console/dist/${path.slice('/console/'.length)}`), { level: 9 }).length;
      total += gz;
      sizes.push(`${path}: ${(gz / 1024).toFixed(1)} KB`);
    }
    process.stdout.write(`# first page JavaScript, gzipped: ${(total / 1024).toFixed(1)} KB (${sizes.join('; ')})\n`);
    assert.ok(total <= JS_BUDGET_BYTES, `first page JavaScript is ${(total / 1024).toFixed(1)} KB gzipped, over 200 KB: ${sizes.join('; ')}`);
  });
});
