import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { launchBrowser, saveScreenshot } from '../helpers/browser.ts';
import { freePorts } from '../helpers/server-process.ts';

// The README is tested like code: its walkthrough blocks (each marked `<!-- walkthrough -->`) run top to bottom in
// one bash, as a newcomer would paste them, against a real `npm start`. Only ports and file locations are swapped,
// so the run cannot collide with a server or a database already on this machine. Where the README says "open the
// app in a browser", Chromium does it.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function walkthroughBlocks(readme: string): string[] {
  const blocks = [...readme.matchAll(/<!-- walkthrough -->\s*```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 5, `the README has its walkthrough blocks (found ${blocks.length})`);
  return blocks;
}

function waitForFile(path: string, timeoutMs: number, failed: () => string | null): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (existsSync(path)) return resolve();
      const why = failed();
      if (why !== null) return reject(new Error(why));
      if (Date.now() - start > timeoutMs) return reject(new Error(`timed out waiting for ${path}`));
      setTimeout(tick, 200);
    };
    tick();
  });
}

test('the README walkthrough runs as written, top to bottom, and its example app signs Ada in', { timeout: 240_000 }, async (t) => {
  const [serverPort, appPort] = await freePorts(2);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const appReady = join(dir, 'app-ready');
  const resume = join(dir, 'resume');

  const blocks = walkthroughBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((block) =>
    block
      .replaceAll('localhost:8000', `localhost:${serverPort}`)
      .replaceAll('127.0.0.1:8000', `127.0.0.1:${serverPort}`)
      .replaceAll('127.0.0.1:3000', `127.0.0.1:${appPort}`)
      .replaceAll('./data/walkthrough.db', join(dir, 'walkthrough.db'))
      .replaceAll('walkthrough.log', join(dir, 'walkthrough.log'))
      .replaceAll('npm start', `PORT=${serverPort} npm start`)
      .replaceAll('node docs/examples/sign-in-app.mjs', `PORT=${appPort} node docs/examples/sign-in-app.mjs`),
  );
  // After the block that starts the example app, the script waits while the test uses the app in a browser.
  const appBlock = blocks.findIndex((b) => b.includes('docs/examples/sign-in-app.mjs'));
  assert.ok(appBlock > 0, 'the walkthrough starts the example app');
  const script = [
    'set -euo pipefail',
    ...blocks.flatMap((block, i) => [
      `echo "::block ${i}"`,
      block,
      ...(i === appBlock ? [`touch ${appReady}`, `while [ ! -e ${resume} ]; do sleep 0.2; done`] : []),
    ]),
    'wait || true',
    'echo "::done"',
  ].join('\n');
  writeFileSync(join(dir, 'walkthrough.sh'), script);

  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('GATEHOUSE_') || ['PORT', 'HOST', 'DATABASE_URL', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS'].includes(name)) delete env[name];
  }
  const child = spawn('bash', [join(dir, 'walkthrough.sh')], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  t.after(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // the walkthrough's server and app too: nothing outlives the test
    } catch {
      // already gone
    }
  });
  const tail = () => `stdout:\n${out.slice(-3000)}\nstderr:\n${err.slice(-2000)}\nserver log:\n${safeRead(join(dir, 'walkthrough.log')).slice(-2000)}`;

  await waitForFile(appReady, 180_000, () => (exitCode !== undefined ? `the walkthrough stopped early (exit ${exitCode})\n${tail()}` : null));

  // "Open http://127.0.0.1:3000, choose Sign in with Gatehouse, and sign in as ada@example.com"
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${appPort}/`);
    await page.getByRole('link', { name: 'Sign in with Gatehouse' }).click();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('Poetical-Science-1842');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Signed in as Ada Lovelace' }).waitFor({ timeout: 15_000 });
    assert.match(await page.textContent('body') ?? '', /TASK-ADMIN/);
    await saveScreenshot(page, 'readme-example-app-signed-in');
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in with Gatehouse' }).waitFor({ timeout: 15_000 });
  } finally {
    await browser.close();
  }
  writeFileSync(resume, '');

  const code = await exited;
  assert.equal(code, 0, `the walkthrough failed\n${tail()}`);
  assert.match(out, /::done/);

  // What a newcomer would see at each step.
  const block = (i: number) => out.slice(out.indexOf(`::block ${i}\n`), out.indexOf(`::block ${i + 1}\n`) === -1 ? undefined : out.indexOf(`::block ${i + 1}\n`));
  const all = blocks.map((_, i) => block(i)).join('\n');
  assert.match(all, /"email":"ada@example.com"/, 'the search finds Ada');
  assert.match(all, /"allowed":true/, 'the permission check answers');
  assert.match(all, /Password change required/, 'the temporary password is refused by the password grant');
  assert.match(all, /"user_id":"[0-9a-f-]{36}","kind":"user"[^}]*"email":"ada@example.com"/, 'Ada uses her own access token');
  assert.match(all, /"client_secret": ?"gcs_/, 'the CLI prints the new client with its secret');
  assert.doesNotMatch(all, /"detail":"(Bad credentials|Requires authentication|Not Found)"/, `no step failed:\n${all}`);
});

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
