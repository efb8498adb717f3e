import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, json, mintKey } from '../helpers/app.ts';
import { launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { consoleApp, consolePage, makeOperator, pageProblems, signIn, type ConsoleApp } from '../helpers/console.ts';

// The console's API keys page in a real Chromium: the list with last use and expiry, minting a key whose secret is
// shown once (then only its prefix), deactivating one after confirmation, the filter for deactivated keys, and
// what an ORG-AUDITOR is not offered.

// A missing Chromium fails these tests (launchBrowser says so): CI installs it, so there is nothing to skip.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let gh: ConsoleApp;
let browser: Browser;
let used: { id: string; key: string };

{
  gh = await consoleApp();
  browser = await launchBrowser();
  used = await mintKey(gh.app, ['CHAT-USER']);
  // A request with it: its last use is recorded (in the background).
  await gh.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${used.key}` } });
  const retired = await mintKey(gh.app, ['TASK-ADMIN']);
  await gh.app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${retired.id}`, headers: ADMIN });
}

after(async () => {
  await browser?.close();
});

const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });
const keyInfo = async (id: string) => json(await gh.app.inject({ method: 'GET', url: `/auth/api_keys/${id}`, headers: ADMIN }));

async function axeProblems(page: Page): Promise<string[]> {
  await page.evaluate(await readFile(AXE, 'utf8'));
  return page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run();
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
  });
}

describe('the API keys page', () => {
  test('mint a key (secret shown once, then only its prefix), deactivate it after confirmation', { timeout: 90_000 }, async () => {
    const page = await consolePage(browser);
    await signIn(page, gh, gh.admin, 'keys');
    await h1(page, 'API keys').waitFor();
    const table = page.getByRole('table', { name: 'API keys' });
    const usedInfo = await keyInfo(used.id);
    const usedRow = table.getByRole('row', { name: new RegExp(usedInfo.prefix) });
    await usedRow.getByText('Active').waitFor();
    assert.notEqual(usedInfo.last_used_at, null, 'the key was used');
    assert.doesNotMatch(await usedRow.innerText(), /Never\s+Never/, 'last use shown as a date');

    // Minting: a past expiry is refused in words, next to the field.
    await page.getByRole('button', { name: 'Mint a key' }).click();
    await page.getByLabel('Description').fill('Nightly report job');
    await page.getByRole('checkbox', { name: /^ORG-AUDITOR/ }).check();
    await page.getByLabel('Expires').fill('2020-01-01T09:00');
    await page.getByRole('button', { name: 'Mint key' }).click();
    await page.getByText('expires_at must be in the future').first().waitFor();
    await page.getByLabel('Expires').fill('2099-06-30T18:00');
    await page.getByRole('button', { name: 'Mint key' }).click();
    const secret = (await page.getByTestId('secret').innerText()).trim();
    assert.match(secret, /^gk_/);
    const minted = json(await gh.app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN })).find((k: { description: string }) => k.description === 'Nightly report job');
    assert.deepEqual(minted.roles, ['ORG-AUDITOR']);
    assert.equal(new Date(minted.expires_at).getFullYear(), 2099);
    // The secret works, and the list shows the prefix only.
    assert.equal((await gh.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${secret}` } })).statusCode, 200);
    const row = table.getByRole('row', { name: /Nightly report job/ });
    await row.getByText(`${minted.prefix}…`).waitFor();
    await row.getByText('Active').waitFor();
    await saveScreenshot(page, 'console-keys');
    await page.getByRole('button', { name: 'Done: I have stored it' }).click();
    assert.equal(await page.getByTestId('secret').count(), 0);
    await page.reload();
    await row.waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret is nowhere on the page any more');

    // Deactivate: the dialog says what stops working; Cancel changes nothing.
    await row.getByRole('button', { name: `Deactivate ${minted.prefix}…` }).click();
    const dialog = page.getByRole('dialog', { name: `Deactivate the key ${minted.prefix}…?` });
    await dialog.getByText(`Applications using ${minted.prefix}… stop working at once`).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await keyInfo(minted.id)).is_active, true);
    await row.getByRole('button', { name: `Deactivate ${minted.prefix}…` }).click();
    await dialog.getByRole('button', { name: 'Deactivate key' }).click();
    await page.getByRole('status').getByText(`The key ${minted.prefix}… was deactivated.`).waitFor();
    assert.equal((await keyInfo(minted.id)).is_active, false);
    assert.equal((await gh.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${secret}` } })).statusCode, 401);

    // Deactivated keys are hidden unless asked for; the choice is remembered.
    await row.waitFor({ state: 'hidden' });
    await page.getByText('2 deactivated keys hidden').waitFor();
    await page.getByLabel('Show deactivated keys').check();
    await row.getByText(/^Deactivated /).waitFor();
    assert.equal(await row.getByRole('button', { name: /Deactivate/ }).count(), 0);
    await page.reload();
    await row.getByText(/^Deactivated /).waitFor();
    assert.deepEqual(pageProblems(page), []);
  });

  test('an ORG-AUDITOR sees the keys but may not mint or deactivate; keyboard and axe', { timeout: 60_000 }, async () => {
    const auditor = await makeOperator(gh, 'auditor@keys.example');
    const page = await consolePage(browser, { colorScheme: 'dark' });
    await signIn(page, gh, auditor, 'keys');
    await h1(page, 'API keys').waitFor();
    await page.getByRole('table', { name: 'API keys' }).getByRole('row', { name: new RegExp((await keyInfo(used.id)).prefix) }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Mint a key' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Deactivate/ }).count(), 0);
    await page.getByLabel('Show deactivated keys').focus();
    await page.keyboard.press('Space');
    assert.equal(await page.getByLabel('Show deactivated keys').isChecked(), true);
    assert.deepEqual(await axeProblems(page), []);
    await saveScreenshot(page, 'console-keys-dark');

    // The admin's mint form, by keyboard, and axe on it.
    const admin = await consolePage(browser);
    await signIn(admin, gh, gh.admin, 'keys');
    await admin.getByRole('button', { name: 'Mint a key' }).focus();
    await admin.keyboard.press('Enter');
    await admin.getByLabel('Description').focus();
    await admin.keyboard.type('Typed key');
    await admin.keyboard.press('Enter');
    await admin.getByText('Choose at least one role.').waitFor();
    await admin.getByRole('checkbox', { name: /^CHAT-USER/ }).focus();
    await admin.keyboard.press('Space');
    await admin.getByRole('button', { name: 'Mint key' }).focus();
    await admin.keyboard.press('Enter');
    await admin.getByTestId('secret').waitFor();
    assert.deepEqual(await axeProblems(admin), []);
    assert.deepEqual([...pageProblems(page), ...pageProblems(admin)], []);
  });
});
