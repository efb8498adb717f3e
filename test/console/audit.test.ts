import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { auditVerificationFor } from '../../src/audit-verification.ts';
import { createAuditReader } from '../../src/store/audit-store.ts';
import { ADMIN, createUser, json, mintKey } from '../helpers/app.ts';
import { launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { consoleApp, consolePage, pageProblems, signIn, type ConsoleApp } from '../helpers/console.ts';
import { registerClient } from '../helpers/oidc.ts';

// The console's audit trail in a real Chromium: the events of changes made in the console and through the API as
// readable rows (people and things named), filters kept in the address, a row's details, "Load more", the JSON
// Lines download, and the chain's verification state: intact, then broken after an event is edited with SQL.

// A missing Chromium fails these tests (launchBrowser says so): CI installs it, so there is nothing to skip.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let gh: ConsoleApp;
let browser: Browser;
let key: { id: string; key: string };

{
  gh = await consoleApp();
  browser = await launchBrowser();
  // More events than a page (50).
  for (let i = 1; i <= 50; i++) await createUser(gh.app, { email: `person${i}@audit.example`, firstName: 'Person', lastName: `${i}` });
  key = await mintKey(gh.app, ['CHAT-USER']);
  await gh.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Made by the admin key' } });
  await registerClient(gh.app, { client_name: 'Audited app' });
  // A failed sign-in, with its reason.
  await gh.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: 'person1@audit.example', password: 'not-the-password' } });
}

after(async () => {
  await browser?.close();
});

const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });
const events = (page: Page) => page.getByRole('table', { name: /^Audit events/ });
const headSeq = async () => (await createAuditReader(gh.database.db).head()).seq;

async function axeProblems(page: Page): Promise<string[]> {
  await page.evaluate(await readFile(AXE, 'utf8'));
  return page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run();
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
  });
}

describe('the audit trail page', () => {
  test('events of console and API changes as readable rows, filters in the address, details, load more, verified chain', { timeout: 120_000 }, async () => {
    const page = await consolePage(browser);
    // A change made in the console, by the signed-in operator.
    await signIn(page, gh, gh.admin, 'groups');
    await page.getByRole('button', { name: 'New group' }).click();
    await page.getByLabel('Name').fill('Made in the console');
    await page.getByRole('button', { name: 'Create group' }).click();
    await h1(page, 'Made in the console').waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit trail' }).click();
    await h1(page, 'Audit trail').waitFor();
    // The verification state: the server checks the chain and the page shows the result once there is one.
    const verification = page.getByRole('region', { name: 'Chain verification' });
    await verification.getByText('Intact', { exact: true }).first().waitFor();
    await verification.getByText(/^Every event from events 1 to \d+ \(\d+ checked\) is unchanged and in order/).waitFor();
    await verification.getByText('What the states mean').click();
    await verification.getByText('gatehouse audit verify').last().waitFor();

    // Newest first, people and things named, not ids.
    const table = events(page);
    const newest = table.getByRole('row').nth(1);
    assert.deepEqual((await newest.getByRole('cell').allInnerTexts()).slice(1, 5).map((t) => t.trim()), [
      'Olive Operator (operator@example.com)',
      'Group created',
      'Made in the console',
      'Success',
    ]);
    await table.getByRole('row', { name: /Application registered/ }).getByRole('cell', { name: 'Admin key' }).waitFor();
    await table.getByRole('row', { name: /Application registered/ }).getByRole('link', { name: 'Audited app' }).waitFor();
    const failed = table.getByRole('row', { name: /Sign-in/ }).filter({ hasText: 'Failure' });
    await failed.getByRole('link', { name: 'Person 1 (person1@audit.example)' }).waitFor();
    await failed.getByText('wrong password').waitFor();

    // A row's details: request id, user agent, the details as a list, the hash.
    await newest.getByRole('button', { name: /Details of event/ }).click();
    const details = table.getByRole('row').nth(2);
    await details.getByText('Request id').waitFor();
    await details.getByText('User agent').waitFor();
    const seq = await headSeq();
    const stored = (await createAuditReader(gh.database.db).page({}, 1))[0]!;
    assert.equal(stored.seq, seq);
    await details.getByText(stored.hash).waitFor();
    await details.getByText(`#${seq}`).waitFor();
    await saveScreenshot(page, 'console-audit');

    // "Load more" adds the next page.
    assert.equal(await table.getByRole('button', { name: /Details of event/ }).count(), 50);
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByText(`All ${seq} events shown.`).waitFor();
    assert.equal(await table.getByRole('button', { name: /Details of event/ }).count(), seq);

    // Filters go into the address and survive a reload.
    await page.getByLabel('Action').selectOption('api_key.minted');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/action=api_key\.minted/);
    await table.getByRole('row', { name: /API key minted/ }).first().waitFor();
    await page.reload();
    await table.getByRole('row', { name: /API key minted/ }).first().waitFor();
    assert.equal(await page.getByLabel('Action').inputValue(), 'api_key.minted');
    const minted = await table.getByRole('button', { name: /Details of event/ }).count();
    assert.equal(minted, 1, 'the one key minted');
    await table.getByRole('row', { name: /API key minted/ }).getByText(/^API key gk_/).waitFor();
    // Outcome, and the actor of a row as a filter.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Outcome').selectOption('failure');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/outcome=failure/);
    // The filtered list replaces the full one: wait for the last success to go, then the failure is what is left.
    await table.getByText('Success', { exact: true }).first().waitFor({ state: 'detached' });
    await table.getByRole('row', { name: /Sign-in/ }).filter({ hasText: 'Failure' }).waitFor();
    assert.equal(await table.getByRole('button', { name: /Details of event/ }).count(), 1);
    // A time range with nothing in it.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('From').fill('2099-01-01T00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No events match these filters.').waitFor();
    assert.match(new URL(page.url()).searchParams.get('from') ?? '', /^2099-01-01T\d\d:00:00\.000Z$|^2098-12-31T\d\d:00:00\.000Z$/);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForURL((u) => u.search === '');

    // The download: every event, JSON Lines, oldest first, with the chain's hashes and no secret.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JSON Lines' }).click()]);
    assert.match(download.suggestedFilename(), /^gatehouse-audit.*\.jsonl$/);
    const text = await readFile((await download.path())!, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string });
    assert.equal(lines[0]!.seq, 1);
    assert.ok(lines.length >= seq);
    assert.equal(lines.at(-1)!.hash.length, 64);
    assert.ok(!text.includes(key.key), 'no key secret in the export');
    assert.deepEqual(await axeProblems(page), []);
    assert.deepEqual(pageProblems(page), []);
  });

  test('a row edited with SQL: the page says the chain is broken and at which event; dark theme, keyboard', { timeout: 60_000 }, async () => {
    // New events after the verified ones; one of them edited behind Gatehouse's back.
    const verification = auditVerificationFor(gh.database.db);
    await verification.run();
    const before = await headSeq();
    await createUser(gh.app, { email: 'late@audit.example', firstName: 'Late', lastName: 'Comer' });
    await createUser(gh.app, { email: 'later@audit.example', firstName: 'Later', lastName: 'Comer' });
    await sql`update audit_events set outcome = 'failure' where seq = ${before + 1}`.execute(gh.database.db);
    const state = await verification.run();
    assert.equal(state.status, 'broken');

    const page = await consolePage(browser, { colorScheme: 'dark' });
    await signIn(page, gh, gh.admin, 'audit');
    const region = page.getByRole('region', { name: 'Chain verification' });
    await region.getByText('Broken', { exact: true }).first().waitFor();
    await region.getByText(`The chain is broken at event ${before + 1} (modified).`).waitFor();
    await region.getByText(`event ${before + 1} was modified (its content no longer matches its hash)`).waitFor();
    await region.getByText(`events 1 to ${before} did verify`).waitFor();
    // Keyboard: a row's details open with Enter.
    await events(page).getByRole('button', { name: /Details of event/ }).first().focus();
    await page.keyboard.press('Enter');
    await events(page).getByText('Request id').waitFor();
    assert.deepEqual(await axeProblems(page), []);
    await saveScreenshot(page, 'console-audit-broken');
    assert.deepEqual(pageProblems(page), []);
    const api = json(await gh.app.inject({ method: 'GET', url: '/audit/verification', headers: ADMIN }));
    assert.equal(api.problem.seq, before + 1);
  });
});
