import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, createUser, json } from '../helpers/app.ts';
import { launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { consoleApp, consolePage, makeOperator, pageProblems, signIn, type ConsoleApp } from '../helpers/console.ts';

// The console's groups pages in a real Chromium: the list and its pages, creating a group, changing its name,
// description and roles, adding members found by typing, removing one and deleting the group (each confirmed),
// and what an ORG-AUDITOR is not offered.

// A missing Chromium fails these tests (launchBrowser says so): CI installs it, so there is nothing to skip.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let gh: ConsoleApp;
let browser: Browser;
const ids: Record<string, string> = {};

{
  gh = await consoleApp();
  browser = await launchBrowser();
  ids.ada = (await createUser(gh.app, { email: 'ada@groups.example', firstName: 'Ada', lastName: 'Lovelace', roles: ['CHAT-USER'] })).id;
  ids.charles = (await createUser(gh.app, { email: 'charles@groups.example', firstName: 'Charles', lastName: 'Babbage', roles: [] })).id;
  await gh.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Existing', description: 'Made through the API', roles: ['CHAT-USER'] } });
  await addTeams(1, 20);
}

/** Groups "Team 01"… made through the API (the list shows groups in the order they were made). */
async function addTeams(first: number, last: number) {
  for (let i = first; i <= last; i++) await gh.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: `Team ${String(i).padStart(2, '0')}` } });
}

after(async () => {
  await browser?.close();
});

const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });
const status = (page: Page) => page.getByRole('status');
const groupNamed = async (name: string) => {
  const all: { id: string; name: string; roles: string[]; description: string | null }[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: typeof all; next_cursor: string | null } = json(await gh.app.inject({ method: 'GET', url: `/groups?page_size=100${cursor ? `&cursor=${cursor}` : ''}`, headers: ADMIN }));
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all.find((g: { name: string }) => g.name === name);
};

async function axeProblems(page: Page): Promise<string[]> {
  await page.evaluate(await readFile(AXE, 'utf8'));
  return page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run();
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
  });
}

describe('the groups pages', () => {
  test('create a group, edit it, add members by search, remove one and delete it, each destructive step confirmed', { timeout: 90_000 }, async () => {
    const page = await consolePage(browser);
    await signIn(page, gh, gh.admin, 'groups');
    await h1(page, 'Groups').waitFor();
    const table = page.getByRole('table', { name: 'Groups' });
    await table.getByRole('row', { name: /Existing/ }).getByText('Made through the API').waitFor();

    // A taken name is refused in words, next to the name.
    await page.getByRole('button', { name: 'New group' }).click();
    await page.getByLabel('Name').fill('Existing');
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('alert').getByText('Group Existing already exists.').waitFor();

    await page.getByLabel('Name').fill('Analysts');
    await page.getByLabel('Description').fill('Read everything, change nothing');
    await page.getByRole('checkbox', { name: /^ORG-AUDITOR/ }).check();
    await page.getByRole('button', { name: 'Create group' }).click();
    await h1(page, 'Analysts').waitFor();
    const created = (await groupNamed('Analysts'))!;
    assert.ok(created, 'the group was made');
    assert.deepEqual(created.roles, ['ORG-AUDITOR']);
    assert.equal(created.description, 'Read everything, change nothing');

    // Edit: name, description and roles.
    await page.getByLabel('Description').fill('Auditors of the finance team');
    await page.getByRole('checkbox', { name: /^TASK-ADMIN/ }).check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await status(page).getByText('Changes saved.').waitFor();
    const edited = json(await gh.app.inject({ method: 'GET', url: `/groups/${created.id}`, headers: ADMIN }));
    assert.deepEqual([...edited.roles].sort(), ['ORG-AUDITOR', 'TASK-ADMIN']);
    assert.equal(edited.description, 'Auditors of the finance team');

    // Add members by typing part of a name or email, and picking them.
    await page.getByLabel('Add a member').fill('lovel');
    await page.getByRole('button', { name: 'Add Ada Lovelace to Analysts' }).click();
    await status(page).getByText('Ada Lovelace was added to Analysts.').waitFor();
    await page.getByLabel('Add a member').fill('charles@groups');
    await page.getByRole('button', { name: 'Add Charles Babbage to Analysts' }).click();
    await status(page).getByText('Charles Babbage was added to Analysts.').waitFor();
    await page.getByRole('heading', { name: 'Members (2)' }).waitFor();
    const members = page.getByRole('table', { name: 'Members of Analysts' });
    await members.getByRole('link', { name: 'Ada Lovelace' }).waitFor();
    await members.getByRole('link', { name: 'Charles Babbage' }).waitFor();
    // Someone already in the group is marked, not offered again.
    await page.getByLabel('Add a member').fill('ada lovelace');
    await page.getByRole('list', { name: 'Matching users' }).getByText('Member', { exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add Ada Lovelace to Analysts' }).count(), 0);
    await page.getByLabel('Add a member').fill('');
    // Ada now holds the group's roles too.
    const ada = json(await gh.app.inject({ method: 'GET', url: `/users/${ids.ada}`, headers: ADMIN }));
    assert.deepEqual(ada.groups.map((g: { name: string }) => g.name), ['Analysts']);
    await saveScreenshot(page, 'console-group');

    // Remove Charles: the dialog says what he loses; Cancel keeps him, the button removes him.
    await members.getByRole('button', { name: 'Remove Charles Babbage from Analysts' }).click();
    const removeDialog = page.getByRole('dialog', { name: 'Remove Charles Babbage from Analysts?' });
    await removeDialog.getByText('They lose the roles this group gives (ORG-AUDITOR, TASK-ADMIN) on their next request').waitFor();
    await removeDialog.getByRole('button', { name: 'Cancel' }).click();
    await removeDialog.waitFor({ state: 'hidden' });
    assert.equal(json(await gh.app.inject({ method: 'GET', url: `/groups/${created.id}`, headers: ADMIN })).member_count, 2);
    await members.getByRole('button', { name: 'Remove Charles Babbage from Analysts' }).click();
    await removeDialog.getByRole('button', { name: 'Remove member' }).click();
    await status(page).getByText('Charles Babbage was removed from Analysts.').waitFor();
    await page.getByRole('heading', { name: 'Members (1)' }).waitFor();
    assert.equal(await members.getByRole('link', { name: 'Charles Babbage' }).count(), 0);

    // The list shows the new group with its roles and member count.
    await page.getByRole('link', { name: '← All groups' }).click();
    await h1(page, 'Groups').waitFor();
    const row = table.getByRole('row', { name: /Analysts/ });
    await row.getByText('Auditors of the finance team').waitFor();
    assert.deepEqual(await row.getByRole('cell').allInnerTexts().then((cells) => cells.map((c) => c.trim().replace(/\s+/g, ' '))).then((c) => c.slice(0, 4)), [
      'Analysts',
      'Auditors of the finance team',
      'ORG-AUDITOR TASK-ADMIN',
      '1',
    ]);
    await saveScreenshot(page, 'console-groups');

    // Delete: the dialog says the members lose the group's roles.
    await row.getByRole('link', { name: 'Analysts' }).click();
    await h1(page, 'Analysts').waitFor();
    await page.getByRole('button', { name: 'Delete group' }).click();
    const deleteDialog = page.getByRole('dialog', { name: 'Delete the group Analysts?' });
    await deleteDialog.getByText("Its 1 member loses the group's roles (ORG-AUDITOR, TASK-ADMIN) on their next request").waitFor();
    await deleteDialog.getByRole('button', { name: 'Delete group' }).click();
    await h1(page, 'Groups').waitFor();
    await status(page).getByText('Group “Analysts” was deleted.').waitFor();
    assert.equal((await gh.app.inject({ method: 'GET', url: `/groups/${created.id}`, headers: ADMIN })).statusCode, 404);
    assert.deepEqual(json(await gh.app.inject({ method: 'GET', url: `/users/${ids.ada}`, headers: ADMIN })).groups, []);
    assert.deepEqual(pageProblems(page), []);
  });

  test('the list pages through next_cursor and back', { timeout: 60_000 }, async () => {
    await addTeams(21, 30); // now more than one page (25)
    const page = await consolePage(browser);
    await signIn(page, gh, gh.admin, 'groups');
    const table = page.getByRole('table', { name: 'Groups' });
    await table.getByRole('link', { name: 'Existing' }).waitFor();
    assert.equal(await table.getByRole('row').count(), 26, 'a header and 25 groups');
    const pager = page.getByRole('navigation', { name: 'Pages of groups' });
    await pager.getByRole('button', { name: 'Next page' }).click();
    await pager.getByText('Page 2').waitFor();
    await table.getByRole('link', { name: 'Team 25' }).waitFor();
    assert.equal(await table.getByRole('link', { name: 'Existing' }).count(), 0);
    await pager.getByRole('button', { name: 'Previous page' }).click();
    await table.getByRole('link', { name: 'Existing' }).waitFor();
    assert.deepEqual(pageProblems(page), []);
  });

  test('an ORG-AUDITOR reads groups and members but is offered no change', { timeout: 60_000 }, async () => {
    const auditor = await makeOperator(gh, 'auditor@groups.example');
    const res = await gh.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Readers', roles: ['CHAT-USER'] } });
    await gh.app.inject({ method: 'POST', url: `/groups/${json(res).id}/members`, headers: ADMIN, payload: { user_ids: [ids.ada] } });
    const page = await consolePage(browser);
    await signIn(page, gh, auditor, `groups/${json(res).id}`);
    await h1(page, 'Readers').waitFor();
    await page.getByRole('table', { name: 'Members of Readers' }).getByRole('link', { name: 'Ada Lovelace' }).waitFor();
    for (const name of ['Delete group', 'Save changes', 'Remove']) assert.equal(await page.getByRole('button', { name }).count(), 0, name);
    assert.equal(await page.getByLabel('Add a member').count(), 0);
    await page.getByRole('link', { name: '← All groups' }).click();
    await h1(page, 'Groups').waitFor();
    assert.equal(await page.getByRole('button', { name: 'New group' }).count(), 0);
    assert.deepEqual(pageProblems(page), []);
  });

  test('keyboard only, accessibility (axe) and the dark theme', { timeout: 60_000 }, async () => {
    const page = await consolePage(browser, { colorScheme: 'dark' });
    await signIn(page, gh, gh.admin, 'groups');
    await page.getByRole('table', { name: 'Groups' }).getByRole('link', { name: 'Existing' }).waitFor();
    // Keyboard: the New group button opens the form; typing and Enter create the group.
    await page.getByRole('button', { name: 'New group' }).focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('Name').focus();
    await page.keyboard.type('Keyboard people');
    await page.keyboard.press('Enter');
    await h1(page, 'Keyboard people').waitFor();
    await page.getByLabel('Add a member').focus();
    await page.keyboard.type('babbage');
    await page.getByRole('button', { name: 'Add Charles Babbage to Keyboard people' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Members (1)' }).waitFor();
    // The delete dialog opens with Cancel focused; Escape closes it and deletes nothing.
    await page.getByRole('button', { name: 'Delete group' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Delete the group Keyboard people?' });
    await dialog.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
    assert.deepEqual(await axeProblems(page), []);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await h1(page, 'Keyboard people').waitFor();
    assert.deepEqual(await axeProblems(page), []);
    await saveScreenshot(page, 'console-group-dark');
    assert.deepEqual(pageProblems(page), []);
  });
});
