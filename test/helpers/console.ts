import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { createUser, GOOD_PASSWORD } from './app.ts';
import { listeningApp, type ListeningApp } from './oidc.ts';

// The admin console in a real Chromium: a Gatehouse listening on a free port with the console built and served,
// and an operator who signs in through the real login page.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let built = false;

/** Builds console/dist when it is missing or stale (the same step `npm start` runs), once per test process. */
export function ensureConsoleBuilt(): void {
  if (built) return;
  const run = spawnSync(process.execPath, ['scripts/build-console.mjs'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, `console build failed:\n${run.stdout}\n${run.stderr}`);
  built = true;
}

export interface Operator {
  id: string;
  email: string;
  password: string;
}

export interface ConsoleApp extends ListeningApp {
  /** The console's address: http://127.0.0.1:<port>/console/ */
  consoleUrl: string;
  /** An ORG-ADMIN with a permanent password. */
  admin: Operator;
}

/** A fresh Gatehouse (SQLite or PostgreSQL, as the suite runs) serving the console, with one ORG-ADMIN operator. */
export async function consoleApp(env: Record<string, string> = {}): Promise<ConsoleApp> {
  ensureConsoleBuilt();
  const gh = await listeningApp(env);
  const admin = await createUser(gh.app, { email: 'operator@example.com', password: GOOD_PASSWORD, temporary: false, roles: ['ORG-ADMIN'], firstName: 'Olive', lastName: 'Operator' });
  return { ...gh, consoleUrl: `${gh.origin}/console/`, admin: { id: admin.id, email: admin.email, password: GOOD_PASSWORD } };
}

/** Makes another operator (ORG-AUDITOR by default) with a permanent password. */
export async function makeOperator(gh: ConsoleApp, email: string, roles: string[] = ['ORG-AUDITOR']): Promise<Operator> {
  const user = await createUser(gh.app, { email, password: GOOD_PASSWORD, temporary: false, roles, firstName: 'Otto', lastName: 'Other' });
  return { id: user.id, email: user.email, password: GOOD_PASSWORD };
}

/** A page in a fresh browser context (no cookies, no storage), failing the test on any script error in the page. */
export async function consolePage(browser: Browser, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: options.colorScheme ?? 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => {
    // A CSP violation is reported on the console: the console must need nothing its policy forbids.
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
  });
  (page as Page & { consoleProblems: string[] }).consoleProblems = problems;
  return page;
}

/** Script errors and CSP violations the page reported so far. */
export const pageProblems = (page: Page): string[] => (page as Page & { consoleProblems?: string[] }).consoleProblems ?? [];

/** Opens the console, signs in on Gatehouse's login page, and waits for the console's navigation. */
export async function signIn(page: Page, gh: ConsoleApp, operator: Operator = gh.admin, path = ''): Promise<void> {
  await page.goto(gh.consoleUrl + path);
  await page.getByLabel('Email').fill(operator.email);
  await page.getByLabel('Password', { exact: true }).fill(operator.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}
