import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, json } from '../helpers/app.ts';
import { launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { consoleApp, consolePage, makeOperator, pageProblems, signIn, type ConsoleApp } from '../helpers/console.ts';
import { registerClient } from '../helpers/oidc.ts';

// The console's applications pages in a real Chromium: registering a confidential and a public client (the secret
// shown once), editing name and URIs with an invalid URI refused in words, rotating the secret and deleting the
// client, each confirmed; the built-in console client is not listed but named; ORG-AUDITOR reads only.

// A missing Chromium fails these tests (launchBrowser says so): CI installs it, so there is nothing to skip.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let gh: ConsoleApp;
let browser: Browser;

{
  gh = await consoleApp();
  browser = await launchBrowser();
  await registerClient(gh.app, { client_name: 'Wiki', redirect_uris: ['https://wiki.example.com/callback'] });
}

after(async () => {
  await browser?.close();
});

const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });
const clients = async () => json(await gh.app.inject({ method: 'GET', url: '/auth/clients', headers: ADMIN })) as { client_id: string; client_name: string; redirect_uris: string[]; post_logout_redirect_uris: string[]; token_endpoint_auth_method: string }[];
/** Whether `secret` authenticates `clientId` at the token endpoint (a wrong secret is invalid_client). */
async function secretWorks(clientId: string, secret: string): Promise<boolean> {
  const res = await gh.app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    payload: 'grant_type=authorization_code&code=nothing&redirect_uri=https%3A%2F%2Fcrm.example.com%2Fcb',
  });
  return json(res).error !== 'invalid_client';
}

async function axeProblems(page: Page): Promise<string[]> {
  await page.evaluate(await readFile(AXE, 'utf8'));
  return page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run();
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
  });
}

describe('the applications pages', () => {
  test('register, edit (an invalid URI refused in words), rotate the secret and delete, each change confirmed', { timeout: 90_000 }, async () => {
    const page = await consolePage(browser);
    await signIn(page, gh, gh.admin, 'clients');
    await h1(page, 'Applications').waitFor();
    await page.getByText('gatehouse-console', { exact: true }).waitFor();
    const table = page.getByRole('table', { name: 'Applications' });
    await table.getByRole('link', { name: 'Wiki' }).waitFor();
    assert.equal(await table.getByText('gatehouse-console').count(), 0, 'the built-in client is not listed');

    // Register: an invalid redirect URI is refused, in words next to the field.
    await page.getByRole('button', { name: 'Register an application' }).click();
    await page.getByLabel('Name', { exact: true }).fill('CRM');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://crm.example.com/cb\nnot a uri');
    await page.getByRole('button', { name: 'Register application' }).click();
    await page.locator('#client-redirects-error').getByText('Redirect URIs: "not a uri" is not an absolute URI').waitFor();
    assert.equal(await page.locator('body').innerText().then((t) => t.includes('{"error"')), false);
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://crm.example.com/cb\nhttps://crm.example.com/cb2');
    await page.getByLabel('Post-logout redirect URIs').fill('https://crm.example.com/bye');
    await page.getByRole('button', { name: 'Register application' }).click();
    const firstSecret = (await page.getByTestId('secret').innerText()).trim();
    const crm = (await clients()).find((c) => c.client_name === 'CRM')!;
    assert.deepEqual(crm.redirect_uris, ['https://crm.example.com/cb', 'https://crm.example.com/cb2']);
    assert.deepEqual(crm.post_logout_redirect_uris, ['https://crm.example.com/bye']);
    assert.equal(crm.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(await secretWorks(crm.client_id, firstSecret), true);
    await page.getByRole('status').getByText(crm.client_id).waitFor();
    await table.getByRole('link', { name: 'CRM' }).waitFor();
    await saveScreenshot(page, 'console-clients');

    // A public client gets no secret.
    await page.getByRole('button', { name: 'Done: I have stored it' }).click();
    await page.getByRole('button', { name: 'Register an application' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Mobile app');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('com.example.app:/callback');
    await page.getByRole('radio', { name: /^Public/ }).check();
    await page.getByRole('button', { name: 'Register application' }).click();
    await page.getByRole('status').getByText('Mobile app is registered.').waitFor();
    assert.equal(await page.getByTestId('secret').count(), 0);
    assert.equal((await clients()).find((c) => c.client_name === 'Mobile app')!.token_endpoint_auth_method, 'none');

    // Edit: an invalid post-logout URI is refused in words; then a good change is saved.
    await table.getByRole('link', { name: 'CRM' }).click();
    await h1(page, 'CRM').waitFor();
    await page.getByLabel('Post-logout redirect URIs').fill('https://crm.example.com/bye#top');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('#client-post-logout-error').getByText('Post-logout redirect URIs: "https://crm.example.com/bye#top" must not have a fragment').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('CRM (sales)');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://crm.example.com/cb');
    await page.getByLabel('Post-logout redirect URIs').fill('');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').getByText('Changes saved.').waitFor();
    await h1(page, 'CRM (sales)').waitFor();
    const edited = (await clients()).find((c) => c.client_id === crm.client_id)!;
    assert.deepEqual([edited.client_name, edited.redirect_uris, edited.post_logout_redirect_uris], ['CRM (sales)', ['https://crm.example.com/cb'], []]);

    // Rotate: confirmed, the new secret shown once, the old one refused.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotate = page.getByRole('dialog', { name: 'Give CRM (sales) a new secret?' });
    await rotate.getByText('The current secret stops working at once').waitFor();
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    const secondSecret = (await page.getByTestId('secret').innerText()).trim();
    assert.notEqual(secondSecret, firstSecret);
    assert.equal(await secretWorks(crm.client_id, firstSecret), false);
    assert.equal(await secretWorks(crm.client_id, secondSecret), true);
    await page.getByRole('button', { name: 'Done: I have stored it' }).click();
    assert.equal(await page.getByTestId('secret').count(), 0);
    await saveScreenshot(page, 'console-client');

    // Delete: its users are signed out of it.
    await page.getByRole('button', { name: 'Delete application' }).click();
    const del = page.getByRole('dialog', { name: 'Delete the application CRM (sales)?' });
    await del.getByText('Its users are signed out of it: every token issued to CRM (sales) stops working at once').waitFor();
    assert.deepEqual(await axeProblems(page), []);
    await del.getByRole('button', { name: 'Delete application' }).click();
    await h1(page, 'Applications').waitFor();
    await page.getByRole('status').getByText('The application “CRM (sales)” was deleted.').waitFor();
    assert.equal((await gh.app.inject({ method: 'GET', url: `/auth/clients/${crm.client_id}`, headers: ADMIN })).statusCode, 404);
    assert.deepEqual(pageProblems(page), []);
  });

  test('an ORG-AUDITOR reads applications but is offered no change; keyboard and axe, dark theme', { timeout: 60_000 }, async () => {
    const auditor = await makeOperator(gh, 'auditor@clients.example');
    const page = await consolePage(browser, { colorScheme: 'dark' });
    await signIn(page, gh, auditor, 'clients');
    await page.getByRole('table', { name: 'Applications' }).getByRole('link', { name: 'Wiki' }).focus();
    await page.keyboard.press('Enter');
    await h1(page, 'Wiki').waitFor();
    await page.getByText('https://wiki.example.com/callback').waitFor();
    for (const name of ['Rotate secret', 'Delete application', 'Save changes']) assert.equal(await page.getByRole('button', { name }).count(), 0, name);
    assert.deepEqual(await axeProblems(page), []);
    await saveScreenshot(page, 'console-client-dark');
    await page.getByRole('link', { name: '← All applications' }).click();
    await h1(page, 'Applications').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Register an application' }).count(), 0);
    assert.deepEqual(await axeProblems(page), []);
    assert.deepEqual(pageProblems(page), []);
  });
});
