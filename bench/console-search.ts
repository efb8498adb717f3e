// The console's search as a person sees it: a real Chromium signed in to the Users page of a Gatehouse holding the
// seeded users, a term typed into Search, and the time from the last keystroke until the matching rows are on
// screen (debounce, the address update, GET /users, and the render together).
import { spawnSync } from 'node:child_process';
import { chromium, type Page } from 'playwright-core';
import { BENCH_TERMS, seedPerson } from '../scripts/seed-data.ts';
import { ROOT, startGatehouse } from './processes.ts';

export interface ConsoleSearchResult {
  searches: number;
  typed: number;
  /** From the last keystroke until the rows are painted, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Of that, the GET /users request alone (the browser's resource timing), ms. */
  requestP50: number;
  requestP99: number;
  /** Searches whose rows did not all contain the term (should be none). */
  wrong: string[];
}

const OPERATOR = { email: 'bench.operator@example.com', password: 'Bench-Console-Operator-42' };

/**
 * Distinct terms of every kind a person searches for: the benchmark's known ones (common, mail domain, rare, short,
 * two words) and surnames and first names drawn from the seeded population, so most are real and some are common.
 */
export function consoleSearchTerms(count: number): string[] {
  const terms = new Set<string>(Object.values(BENCH_TERMS));
  for (let n = 1; terms.size < count; n += 7919) {
    const person = seedPerson(n);
    terms.add((terms.size % 3 === 0 ? person.firstName : person.lastName).toLowerCase());
  }
  return [...terms].slice(0, count);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** Replaces the search field's text with `term` (typed key by key, or at once like a paste) and times the result. */
async function timeSearch(page: Page, term: string, typed: boolean): Promise<{ total: number; request: number; ok: boolean }> {
  const field = page.getByLabel('Search', { exact: true });
  await page.evaluate(() => performance.clearResourceTimings());
  await field.focus();
  await page.keyboard.press('Control+A');
  if (typed) await page.keyboard.type(term, { delay: 70 }); // a quick typist: keys 70 ms apart, inside the debounce
  else await field.fill(term);
  // Done when the GET /users for exactly this term has completed and the table is ready again, on the next frame:
  // older searches are aborted by the page, so a ready table after this response shows this term's rows.
  const handle = await page.waitForFunction(
    (wanted) => {
      const w = window as unknown as { benchLastInput: number };
      const entry = performance
        .getEntriesByType('resource')
        .find((e) => {
          const url = new URL(e.name);
          return url.pathname === '/users' && url.searchParams.get('search_string') === wanted;
        });
      const table = document.querySelector('table[data-state]');
      if (!entry || table?.getAttribute('data-state') !== 'ready') return false;
      const rows = [...document.querySelectorAll('tbody tr')].map((r) => (r.textContent ?? '').toLowerCase());
      const words = wanted.toLowerCase().split(/\s+/);
      const ok = rows.length > 0 && rows.every((r) => r.includes('no users match') || words.every((word) => r.includes(word)));
      return { total: performance.now() - w.benchLastInput, request: entry.duration, ok };
    },
    term,
    { polling: 'raf', timeout: 60_000 },
  );
  return (await handle.jsonValue()) as { total: number; request: number; ok: boolean };
}

/**
 * Starts Gatehouse on `databaseUrl` (already seeded), adds an ORG-ADMIN operator, signs in through the login page
 * and runs `searches` searches on the Users page, every other one typed key by key.
 */
export async function consoleSearchBench(databaseUrl: string, env: Record<string, string>, admin: Record<string, string>, searches = 40): Promise<ConsoleSearchResult> {
  const build = spawnSync(process.execPath, ['scripts/build-console.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`console build failed: ${build.stderr}`);
  const gh = await startGatehouse({ ...env, DATABASE_URL: databaseUrl });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const created = await fetch(`${gh.url}/users`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ ...OPERATOR, temporary: false, roles: ['ORG-ADMIN'], firstName: 'Bench', lastName: 'Operator' }),
    });
    if (!created.ok && created.status !== 409) throw new Error(`operator: ${created.status} ${await created.text()}`);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${gh.url}/console/users`);
    await page.getByLabel('Email', { exact: true }).fill(OPERATOR.email);
    await page.getByLabel('Password', { exact: true }).fill(OPERATOR.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('table[data-state="ready"]').waitFor({ timeout: 120_000 });
    // The moment of each keystroke, as the page sees it.
    await page.evaluate(() => {
      document.addEventListener('input', () => ((window as unknown as { benchLastInput: number }).benchLastInput = performance.now()), true);
    });

    const terms = consoleSearchTerms(searches);
    // One unmeasured search first: the server's and the browser's first search compile code paths.
    await timeSearch(page, 'warmup', false);
    const totals: number[] = [];
    const requests: number[] = [];
    const wrong: string[] = [];
    let typed = 0;
    for (const [i, term] of terms.entries()) {
      const byKey = i % 2 === 1;
      if (byKey) typed += 1;
      const r = await timeSearch(page, term, byKey);
      totals.push(r.total);
      requests.push(r.request);
      if (!r.ok) wrong.push(term);
    }
    totals.sort((a, b) => a - b);
    requests.sort((a, b) => a - b);
    return {
      searches: totals.length,
      typed,
      p50: percentile(totals, 50),
      p99: percentile(totals, 99),
      max: totals.at(-1)!,
      requestP50: percentile(requests, 50),
      requestP99: percentile(requests, 99),
      wrong,
    };
  } finally {
    await browser.close();
    await gh.stop();
  }
}
