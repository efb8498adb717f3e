import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, createUser, json } from '../helpers/app.ts';
import { launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { consoleApp, consolePage, makeOperator, pageProblems, signIn, type ConsoleApp } from '../helpers/console.ts';

// The console's users table in a real Chromium, as an operator uses it: search as you type, count, sort, filters,
// column chooser, pages, bulk changes with confirmation, CSV export, and what an ORG-AUDITOR is (not) offered.

// A missing Chromium fails these tests (launchBrowser says so): CI installs it, so there is nothing to skip.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let gh: ConsoleApp;
let browser: Browser;
let group: string;
const ids: Record<string, string> = {};

// One server for the file, made at the top level (its database closes when the file's tests are done).
{
  gh = await consoleApp();
  browser = await launchBrowser();
  const make = async (key: string, firstName: string, lastName: string, roles: string[]) =>
    (ids[key] = (await createUser(gh.app, { email: `${key}@list.example`, firstName, lastName, roles })).id);
  await make('ada', 'Ada', 'Lovelace', ['TASK-ADMIN']);
  await make('charles', 'Charles', 'Babbage', ['CHAT-USER']);
  await make('mary', 'Mary', 'Somerville', ['CHAT-USER', 'VALIDATION-USER']);
  await make('off', 'Dora', 'Disabled', []);
  await gh.app.inject({ method: 'PATCH', url: `/users/${ids.off}`, headers: ADMIN, payload: { enabled: false } });
  for (let i = 1; i <= 5; i++) await make(`bulk${i}`, 'Bulk', `Person ${i}`, ['CHAT-USER']);
  for (let i = 1; i <= 24; i++) await make(`filler${String(i).padStart(2, '0')}`, 'Filler', `Number ${String(i).padStart(2, '0')}`, []);
  const res = await gh.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Analysts', roles: ['ORG-AUDITOR'] } });
  group = json(res).id;
  await gh.app.inject({ method: 'POST', url: `/groups/${group}/members`, headers: ADMIN, payload: { user_ids: [ids.ada] } });
}

after(async () => {
  await browser?.close();
});

// 1 operator + 4 named + 5 bulk + 24 fillers.
const TOTAL = 34;

const table = (page: Page) => page.getByRole('table');
const ready = (page: Page) => page.locator('table[data-state="ready"]').waitFor();
const count = (page: Page) => page.getByTestId('user-count');
/** The names in the table's rows, top to bottom, once the table has settled. */
async function names(page: Page): Promise<string[]> {
  await ready(page);
  return (await table(page).locator('tbody tr td:nth-child(2)').allInnerTexts()).map((t) => t.trim());
}
async function opened(path = 'users', colorScheme: 'light' | 'dark' = 'light', operator = gh.admin): Promise<Page> {
  const page = await consolePage(browser, { colorScheme });
  await signIn(page, gh, operator, path);
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  await ready(page);
  return page;
}
const userEnabled = async (id: string) => json(await gh.app.inject({ method: 'GET', url: `/users/${id}`, headers: ADMIN })).enabled as boolean;

describe('the users table', () => {
  test('search as you type: matching rows, the count of the match, the address; reload and back keep it', { timeout: 60_000 }, async () => {
    const page = await opened();
    await count(page).getByText(`${TOTAL} users`, { exact: true }).waitFor();
    await page.getByLabel('Search').pressSequentially('love', { delay: 30 });
    await count(page).getByText('1 user matches').waitFor();
    assert.deepEqual(await names(page), ['Ada Lovelace']);
    assert.equal(new URL(page.url()).searchParams.get('q'), 'love');

    // Every term must occur, in any field.
    await page.getByLabel('Search').fill('bulk person');
    await count(page).getByText('5 users match').waitFor();
    assert.equal((await names(page)).length, 5);

    await page.reload();
    await count(page).getByText('5 users match').waitFor();
    assert.equal(await page.getByLabel('Search').inputValue(), 'bulk person');

    await page.getByLabel('Search').fill('zzzz');
    await page.getByText('No users match “zzzz”.').waitFor();
    await count(page).getByText('0 users match').waitFor();

    // A row leads to the user's page, and back returns to the same search.
    await page.getByLabel('Search').fill('lovelace');
    await count(page).getByText('1 user matches').waitFor();
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor();
    await page.goBack();
    await count(page).getByText('1 user matches').waitFor();
    assert.equal(await page.getByLabel('Search').inputValue(), 'lovelace');
    assert.deepEqual(pageProblems(page), []);
  });

  test('sort by created, both directions, with aria-sort', { timeout: 60_000 }, async () => {
    const page = await opened();
    const created = page.getByRole('columnheader', { name: /Created/ });
    assert.equal(await created.getAttribute('aria-sort'), 'descending');
    assert.equal((await names(page))[0], 'Filler Number 24', 'newest first');
    await created.getByRole('button').click();
    await page.waitForURL(/sort=asc/);
    assert.equal(await created.getAttribute('aria-sort'), 'ascending');
    assert.deepEqual((await names(page)).slice(0, 3), ['Olive Operator', 'Ada Lovelace', 'Charles Babbage'], 'oldest first');
    await created.getByRole('button').press('Enter');
    await page.waitForURL((u) => !u.searchParams.has('sort'));
    assert.equal(await created.getAttribute('aria-sort'), 'descending');
    assert.equal((await names(page))[0], 'Filler Number 24');
  });

  test('filters by role (own or through a group), group and enabled, kept in the address', { timeout: 60_000 }, async () => {
    const page = await opened();
    await page.getByLabel('Role', { exact: true }).selectOption('CHAT-USER');
    await count(page).getByText('7 users match').waitFor();
    assert.equal((await names(page)).length, 7);
    assert.ok((await names(page)).includes('Charles Babbage'));

    await page.getByLabel('Role', { exact: true }).selectOption('ORG-AUDITOR');
    await count(page).getByText('1 user matches').waitFor();
    assert.deepEqual(await names(page), ['Ada Lovelace'], 'through the Analysts group');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await count(page).getByText(`${TOTAL} users`, { exact: true }).waitFor();
    await page.getByLabel('Group', { exact: true }).selectOption({ label: 'Analysts' });
    await count(page).getByText('1 user matches').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('group'), group);
    assert.deepEqual(await names(page), ['Ada Lovelace']);

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Disabled only' });
    await count(page).getByText('1 user matches').waitFor();
    assert.deepEqual(await names(page), ['Dora Disabled']);
    await page.reload();
    await count(page).getByText('1 user matches').waitFor();
    assert.equal(await page.getByLabel('Status', { exact: true }).inputValue(), 'false');
    await page.getByLabel('Role', { exact: true }).selectOption('TASK-ADMIN');
    await page.getByText('No users match these filters.').waitFor();
  });

  test('the column chooser hides and shows columns, and remembers the choice', { timeout: 60_000 }, async () => {
    const page = await opened();
    const headers = async () => (await table(page).locator('thead th').allInnerTexts()).map((t) => t.trim()).filter(Boolean);
    assert.deepEqual(await headers(), ['NAME', 'EMAIL', 'ROLES', 'GROUPS', 'ENABLED', 'LOCKED', 'CREATED ↓']);
    await page.getByText('Columns', { exact: true }).click();
    await page.getByRole('group', { name: 'Show columns' }).getByLabel('Email').uncheck();
    await page.getByRole('group', { name: 'Show columns' }).getByLabel('Groups').uncheck();
    assert.deepEqual(await headers(), ['NAME', 'ROLES', 'ENABLED', 'LOCKED', 'CREATED ↓']);
    await page.reload();
    await ready(page);
    assert.deepEqual(await headers(), ['NAME', 'ROLES', 'ENABLED', 'LOCKED', 'CREATED ↓']);
    await page.getByText('Columns', { exact: true }).click();
    await page.getByRole('group', { name: 'Show columns' }).getByLabel('Email').check();
    await page.getByRole('group', { name: 'Show columns' }).getByLabel('Groups').check();
    assert.deepEqual(await headers(), ['NAME', 'EMAIL', 'ROLES', 'GROUPS', 'ENABLED', 'LOCKED', 'CREATED ↓']);
  });

  test('pages: page size, next, previous, first, "page X of Y"', { timeout: 60_000 }, async () => {
    const page = await opened();
    const position = page.getByTestId('page-position');
    await position.getByText('Page 1 of 2').waitFor();
    assert.equal((await names(page)).length, 25);
    const firstPage = await names(page);
    await page.getByRole('button', { name: 'Next' }).click();
    await position.getByText('Page 2 of 2').waitFor();
    const second = await names(page);
    assert.equal(second.length, TOTAL - 25);
    assert.ok(second.every((n) => !firstPage.includes(n)), 'no row on both pages');
    assert.ok(await page.getByRole('button', { name: 'Next' }).isDisabled());
    await page.getByRole('button', { name: 'Previous' }).click();
    await position.getByText('Page 1 of 2').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await position.getByText('Page 2 of 2').waitFor();
    await page.getByRole('button', { name: 'First' }).click();
    await position.getByText('Page 1 of 2').waitFor();
    assert.deepEqual(await names(page), firstPage);
    await page.getByLabel('Per page').selectOption('50');
    await position.getByText('Page 1 of 1').waitFor();
    assert.equal((await names(page)).length, TOTAL);
    assert.equal(new URL(page.url()).searchParams.get('size'), '50');
    await saveScreenshot(page, 'console-users');
  });

  test('bulk disable, enable and delete, each confirmed, with partial failures in words', { timeout: 90_000 }, async () => {
    const page = await opened('users?q=bulk');
    await count(page).getByText('5 users match').waitFor();
    const bulk = ['bulk1', 'bulk2', 'bulk3', 'bulk4', 'bulk5'].map((k) => ids[k]!);

    await page.getByLabel('Select all users on this page').check();
    await page.getByRole('group', { name: 'Selected users' }).getByText('5 selected').waitFor();
    await page.getByRole('group', { name: 'Selected users' }).getByRole('button', { name: 'Disable' }).click();
    const dialog = page.getByRole('dialog', { name: 'Disable 5 users?' });
    await dialog.getByText('can no longer sign in').waitFor();
    // Cancel is the safe default: nothing happens.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await userEnabled(bulk[0]!), true);
    await page.getByRole('group', { name: 'Selected users' }).getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('dialog', { name: 'Disable 5 users?' }).getByRole('button', { name: 'Disable 5 users' }).click();
    await page.getByRole('status').getByText('Disabled 5 users.').waitFor();
    for (const id of bulk) assert.equal(await userEnabled(id), false);
    // The notice can come a frame before the table's rows are redrawn: wait for the fifth badge, then count them all.
    const disabled = table(page).getByText('Disabled', { exact: true });
    await disabled.nth(4).waitFor();
    assert.equal(await disabled.count(), 5);

    // Enable two of them, chosen one by one.
    await page.getByLabel('Select Bulk Person 1').check();
    await page.getByLabel('Select Bulk Person 2').check();
    await page.getByRole('group', { name: 'Selected users' }).getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('dialog', { name: 'Enable 2 users?' }).getByRole('button', { name: 'Enable 2 users' }).click();
    await page.getByRole('status').getByText('Enabled 2 users.').waitFor();
    assert.equal(await userEnabled(ids.bulk1!), true);
    assert.equal(await userEnabled(ids.bulk3!), false);

    // Delete all five, one of which someone else deletes meanwhile.
    await page.getByLabel('Select all users on this page').check();
    await gh.app.inject({ method: 'DELETE', url: `/users/${ids.bulk5}`, headers: ADMIN });
    await page.getByRole('group', { name: 'Selected users' }).getByRole('button', { name: 'Delete' }).click();
    const del = page.getByRole('dialog', { name: 'Delete 5 users?' });
    await del.getByText('This cannot be undone.').waitFor();
    await del.getByRole('button', { name: 'Delete 5 users' }).click();
    await page.getByRole('alert').getByText(/^1 of 5 could not be deleted: Bulk Person 5 \(User .* not found\)\.$/).waitFor();
    await page.getByText('No users match “bulk”.').waitFor();
    const left = json(await gh.app.inject({ method: 'GET', url: '/users/count?search_string=bulk', headers: ADMIN }));
    assert.equal(left.count, 0);
    assert.deepEqual(pageProblems(page), []);
  });

  test('CSV export of the current filter downloads through the browser', { timeout: 60_000 }, async () => {
    const page = await opened('users?role=CHAT-USER&sort=asc');
    await count(page).getByText(/users? match/).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^users-\d{4}-\d{2}-\d{2}\.csv$/);
    const text = await readFile((await download.path())!, 'utf8');
    const lines = text.trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,email,first_name,last_name,roles,groups,enabled,locked_until,created_at,updated_at');
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',')[1]),
      ['charles@list.example', 'mary@list.example'],
      'the CHAT-USERs left, oldest first',
    );
    assert.match(lines[2]!, /,CHAT-USER VALIDATION-USER,,true,,/);
    assert.deepEqual(pageProblems(page), [], 'no CSP violation for the blob: download');
  });

  test('an ORG-AUDITOR sees the users, but no change buttons or selection', { timeout: 60_000 }, async () => {
    const auditor = await makeOperator(gh, 'auditor@list.example');
    const page = await opened('users?q=lovelace', 'light', auditor);
    assert.ok((await names(page)).length > 0);
    assert.equal(await page.getByRole('link', { name: 'New user' }).count(), 0);
    assert.equal(await page.getByRole('checkbox', { name: /^Select/ }).count(), 0);
    await page.getByRole('button', { name: 'Export CSV' }).waitFor();
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    for (const name of ['Disable', 'Delete', 'Reset password', 'Save changes', 'Add', 'Remove', 'End all sessions']) {
      assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `${name} is not offered`);
    }
    assert.ok(await page.getByLabel('Email').evaluate((el) => (el as HTMLInputElement).readOnly));
  });

  test('keyboard, accessibility (axe) and the dark theme', { timeout: 60_000 }, async () => {
    const page = await opened('users', 'dark');
    // Keyboard only: the search field, then on to the filters.
    await page.getByLabel('Search').focus();
    await page.keyboard.type('ada');
    await count(page).getByText('1 user matches').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'user-role');
    await page.getByLabel('Search').fill('');
    await count(page).getByText(/ users$/).waitFor();
    await ready(page);
    await table(page).getByRole('checkbox', { name: /^Select Filler/ }).first().focus();
    await page.keyboard.press('Space');
    await page.getByText('1 selected').waitFor();
    await saveScreenshot(page, 'console-users-dark');
    await page.evaluate(await readFile(AXE, 'utf8'));
    const violations = await page.evaluate(async () => {
      const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run();
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
    });
    assert.deepEqual(violations, []);
  });
});
