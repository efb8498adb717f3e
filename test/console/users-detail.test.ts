import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, createUser, GOOD_PASSWORD, json } from '../helpers/app.ts';
import { launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { consoleApp, consolePage, pageProblems, signIn, type ConsoleApp } from '../helpers/console.ts';

// One user's page and the new-user form in a real Chromium: edit and see it saved, groups, disable/enable, unlock,
// password reset shown once (and temporary for the API), sessions, the activity in sentences, deletion; and the
// create form's policy feedback, a 422 by its field, and a generated first password.

// A missing Chromium fails these tests (launchBrowser says so): CI installs it, so there is nothing to skip.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let gh: ConsoleApp;
let browser: Browser;
{
  // Two failed sign-ins lock an account, so a lock is quick to make.
  gh = await consoleApp({ GATEHOUSE_LOCKOUT_THRESHOLD: '2' });
  browser = await launchBrowser();
  await gh.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Analysts', roles: ['ORG-AUDITOR'] } });
  await gh.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Writers', roles: ['CHAT-USER'] } });
}
after(async () => {
  await browser?.close();
});

const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });
const getUser = async (id: string) => json(await gh.app.inject({ method: 'GET', url: `/users/${id}`, headers: ADMIN }));
const passwordGrant = (username: string, password: string) =>
  gh.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username, password } });

async function userPage(id: string, name: string): Promise<Page> {
  const page = await consolePage(browser);
  await signIn(page, gh, gh.admin, `users/${id}`);
  await h1(page, name).waitFor();
  return page;
}

async function axeProblems(page: Page): Promise<string[]> {
  await page.evaluate(await readFile(AXE, 'utf8'));
  return page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run();
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
  });
}

describe('one user', () => {
  test('edit names, email, roles and groups; saved (reload); a bad email is shown by its field', { timeout: 90_000 }, async () => {
    const u = await createUser(gh.app, { email: 'grace@detail.example', firstName: 'Grace', lastName: 'Hopper', roles: ['CHAT-USER'] });
    const page = await userPage(u.id, 'Grace Hopper');
    const profile = page.getByRole('form', { name: 'Profile and roles' });
    await profile.getByLabel('Email').fill('not-an-email');
    await profile.getByRole('button', { name: 'Save changes' }).click();
    const error = page.locator('#user-email-error');
    await error.waitFor();
    assert.match(await error.innerText(), /email/i);
    assert.equal(await profile.getByLabel('Email').getAttribute('aria-invalid'), 'true');

    await profile.getByLabel('First name').fill('Grace Brewster');
    await profile.getByLabel('Last name').fill('Murray Hopper');
    await profile.getByLabel('Email').fill('grace.hopper@detail.example');
    await profile.getByLabel('TASK-ADMIN').check();
    await profile.getByLabel('CHAT-USER').uncheck();
    await profile.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').getByText('Changes saved.').waitFor();
    await h1(page, 'Grace Brewster Murray Hopper').waitFor();

    const groups = page.getByRole('region', { name: 'Groups' });
    await groups.getByText('Not in any group.').waitFor();
    await groups.getByLabel('Add to group').selectOption({ label: 'Analysts' });
    await groups.getByRole('button', { name: 'Add' }).click();
    await groups.getByRole('link', { name: 'Analysts' }).waitFor();
    await groups.getByLabel('Add to group').selectOption({ label: 'Writers' });
    await groups.getByRole('button', { name: 'Add' }).click();
    await groups.getByRole('link', { name: 'Writers' }).waitFor();
    await groups.getByRole('button', { name: 'Remove from Writers' }).click();
    const dialog = page.getByRole('dialog', { name: /Remove Grace Brewster Murray Hopper from Writers\?/ });
    await dialog.getByText('loses the roles that come with Writers (CHAT-USER)').waitFor();
    await dialog.getByRole('button', { name: 'Remove from group' }).click();
    await groups.getByRole('link', { name: 'Writers' }).waitFor({ state: 'detached' });

    await page.reload();
    await h1(page, 'Grace Brewster Murray Hopper').waitFor();
    assert.equal(await profile.getByLabel('Email').inputValue(), 'grace.hopper@detail.example');
    assert.ok(await profile.getByLabel('TASK-ADMIN').isChecked());
    assert.ok(!(await profile.getByLabel('CHAT-USER').isChecked()));
    await groups.getByRole('link', { name: 'Analysts' }).waitFor();
    const saved = await getUser(u.id);
    assert.equal(saved.first_name, 'Grace Brewster');
    assert.deepEqual(saved.roles.map((r: { name: string }) => r.name), ['TASK-ADMIN']);
    assert.deepEqual(saved.groups.map((g: { name: string }) => g.name), ['Analysts']);

    // The activity, in sentences.
    const activity = page.getByTestId('user-audit');
    await activity.getByText('Olive Operator changed this user’s roles from CHAT-USER to TASK-ADMIN').waitFor();
    await activity.getByText('Olive Operator changed this user’s email, first name, last name').waitFor();
    await saveScreenshot(page, 'console-user');
    assert.deepEqual(await axeProblems(page), []);
    assert.deepEqual(pageProblems(page), []);
  });

  test('disable (confirmed) and enable; unlock a locked user', { timeout: 60_000 }, async () => {
    const u = await createUser(gh.app, { email: 'linus@detail.example', firstName: 'Linus', lastName: 'Locked', roles: [] });
    for (let i = 0; i < 2; i++) await passwordGrant('linus@detail.example', 'Wrong-Password-99!');
    const page = await userPage(u.id, 'Linus Locked');
    const state = page.getByTestId('user-state');
    await state.getByText(/^Locked until/).waitFor();
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('status').getByText('Linus Locked is unlocked and may sign in again.').waitFor();
    await state.getByText(/^Locked until/).waitFor({ state: 'detached' });
    assert.equal((await getUser(u.id)).locked_until, null);
    assert.equal((await passwordGrant('linus@detail.example', GOOD_PASSWORD)).statusCode, 200, 'signs in again');

    await page.getByRole('button', { name: 'Disable' }).click();
    const dialog = page.getByRole('dialog', { name: 'Disable Linus Locked?' });
    await dialog.getByText('every session and token they hold ends at once').waitFor();
    await dialog.getByRole('button', { name: 'Disable user' }).click();
    await state.getByText('Disabled', { exact: true }).waitFor();
    assert.equal((await getUser(u.id)).enabled, false);
    await page.getByTestId('user-audit').getByText('Olive Operator disabled this user').waitFor();
    await page.getByRole('button', { name: 'Enable' }).click();
    await state.getByText('Enabled', { exact: true }).waitFor();
    assert.equal((await getUser(u.id)).enabled, true);
    await page.getByTestId('user-audit').getByText('Olive Operator enabled this user').waitFor();
  });

  test('reset password: shown once, temporary for the API; sessions end one by one or all at once', { timeout: 60_000 }, async () => {
    const u = await createUser(gh.app, { email: 'reset@detail.example', firstName: 'Rita', lastName: 'Reset', roles: [] });
    // Two logins (password grant): two sessions.
    for (let i = 0; i < 2; i++) assert.equal((await passwordGrant('reset@detail.example', GOOD_PASSWORD)).statusCode, 200);
    const page = await userPage(u.id, 'Rita Reset');
    const sessions = page.getByRole('region', { name: 'Sessions' });
    await sessions.getByRole('row').nth(2).waitFor();
    assert.equal(await sessions.getByRole('row').count(), 3, 'a header and two sessions');
    await sessions.getByRole('button', { name: /^End the session/ }).first().click();
    await page.getByRole('dialog', { name: 'End this session of Rita Reset?' }).getByRole('button', { name: 'End session' }).click();
    await sessions.getByText('The session ended.').waitFor();
    assert.equal(await sessions.getByRole('row').count(), 2);
    await sessions.getByRole('button', { name: 'End all sessions' }).click();
    await page.getByRole('dialog', { name: 'End all 1 sessions of Rita Reset?' }).getByRole('button', { name: 'End all sessions' }).click();
    await sessions.getByText('No live sessions: Rita Reset is not signed in anywhere.').waitFor();

    await page.getByRole('button', { name: 'Reset password' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset the password of Rita Reset?' });
    await dialog.getByText('They must choose a new password at their next sign-in.').waitFor();
    await dialog.getByRole('button', { name: 'Reset password' }).click();
    const secret = await page.getByTestId('secret').innerText();
    assert.ok(secret.length >= 20 && /[a-z]/.test(secret) && /[A-Z]/.test(secret) && /\d/.test(secret) && /[^A-Za-z0-9]/.test(secret), secret);
    assert.equal((await passwordGrant('reset@detail.example', GOOD_PASSWORD)).statusCode, 400, 'the old password is gone');
    const withNew = await passwordGrant('reset@detail.example', secret);
    assert.equal(withNew.statusCode, 400);
    assert.deepEqual(json(withNew), { error: 'invalid_grant', error_description: 'Password change required' });
    await page.getByTestId('user-audit').getByText(/Olive Operator reset this user’s password/).waitFor();
    // Shown once: gone after a reload.
    await page.reload();
    await h1(page, 'Rita Reset').waitFor();
    assert.equal(await page.getByTestId('secret').count(), 0);
  });

  test('delete (confirmed), then back on the list with a notice', { timeout: 60_000 }, async () => {
    const u = await createUser(gh.app, { email: 'dan@detail.example', firstName: 'Dan', lastName: 'Deleted', roles: [] });
    const page = await userPage(u.id, 'Dan Deleted');
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Dan Deleted?' });
    await dialog.getByText('This cannot be undone.').waitFor();
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await h1(page, 'Users').waitFor();
    await page.getByRole('status').getByText('Deleted Dan Deleted (dan@detail.example).').waitFor();
    assert.equal((await gh.app.inject({ method: 'GET', url: `/users/${u.id}`, headers: ADMIN })).statusCode, 404);
  });
});

describe('a new user', () => {
  test('the policy checked as you type, a 422 by its field, then a generated temporary password shown once', { timeout: 60_000 }, async () => {
    const page = await consolePage(browser);
    await signIn(page, gh, gh.admin, 'users');
    await page.getByRole('link', { name: 'New user' }).click();
    await h1(page, 'New user').waitFor();
    const rule = (id: string) => page.locator(`.password-rules li[data-rule="${id}"]`);
    await page.getByLabel('Email').fill('new.person@detail.example');
    await page.getByLabel('First name').fill('Nora');
    await page.getByLabel('Last name').fill('New');
    await page.getByLabel('CHAT-USER').check();
    const password = page.getByLabel('Password', { exact: true });
    await password.fill('short');
    assert.match(await rule('length').innerText(), /not met/);
    assert.match(await rule('lower').innerText(), /\(met\)/);
    assert.match(await rule('upper').innerText(), /not met/);
    // Meets every rule the browser can check, but is a common password: only the server knows, and says so by the field.
    await password.fill('Password123!');
    for (const id of ['length', 'lower', 'upper', 'digit', 'symbol']) assert.match(await rule(id).innerText(), /\(met\)/, id);
    await saveScreenshot(page, 'console-user-create');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.locator('#new-password-error').getByText('Password is too common').waitFor();
    assert.equal(await password.getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await axeProblems(page), []);

    await page.getByRole('button', { name: 'Generate a temporary password' }).click();
    const generated = await password.inputValue();
    assert.ok(generated.length === 20, generated);
    assert.ok(await page.getByLabel(/^Temporary/).isChecked());
    await page.getByRole('button', { name: 'Create user' }).click();
    await h1(page, 'Nora New').waitFor();
    assert.equal(await page.getByTestId('secret').innerText(), generated, 'shown once on the new user’s page');
    const res = await passwordGrant('new.person@detail.example', generated);
    assert.deepEqual(json(res), { error: 'invalid_grant', error_description: 'Password change required' });
    const id = new URL(page.url()).pathname.split('/').pop()!;
    assert.deepEqual((await getUser(id)).roles.map((r: { name: string }) => r.name), ['CHAT-USER']);
    await page.reload();
    await h1(page, 'Nora New').waitFor();
    assert.equal(await page.getByTestId('secret').count(), 0, 'and never again');

    // A taken email is said by the email field.
    await page.goto(`${gh.consoleUrl}users/new`);
    await h1(page, 'New user').waitFor();
    await page.getByLabel('Email').fill('new.person@detail.example');
    await page.getByLabel('Password', { exact: true }).fill('Another-Good-Pass-42');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.locator('#new-email-error').getByText('User new.person@detail.example already exists.').waitFor();
    assert.deepEqual(pageProblems(page), []);
  });
});
