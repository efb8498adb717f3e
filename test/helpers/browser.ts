import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

// Browser tests drive the distribution's Chromium (apt's `chromium`, which .ci/run installs) through playwright-core,
// so no browser download is needed: playwright's own builds come from a CDN the CI machine cannot reach.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where `saveScreenshot` writes; under test-artifacts/, which .gitignore keeps out of commits. */
export const screenshotDir = join(ROOT, 'test-artifacts', 'screenshots');

function executablePath(): string {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

/** True when the Chromium executable is there, so a suite can skip (rather than fail) on a machine without it. */
export function browserAvailable(): boolean {
  try {
    accessSync(executablePath(), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A headless Chromium; the caller closes it (`t.after(() => browser.close())`). */
export async function launchBrowser(): Promise<Browser> {
  const path = executablePath();
  if (!browserAvailable()) {
    throw new Error(`no Chromium executable at ${path}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: path,
    headless: true,
    // --no-sandbox: CI runs as root, and Chromium refuses to start its sandbox as root. --disable-dev-shm-usage:
    // container /dev/shm is often tiny (64 MB in Docker), and Chromium crashes when it runs out there.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/**
 * Saves a full-page PNG as test-artifacts/screenshots/<name>.png and returns its path. Characters that would make
 * `name` a path (or an awkward file name) become "-", so a test's title can be passed as it is.
 */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const file = join(screenshotDir, `${name.replace(/[^\w.-]+/g, '-').replace(/^[.-]+/, '') || 'screenshot'}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
