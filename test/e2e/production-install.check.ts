import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { freePort } from '../helpers/server-process.ts';

// The production install, for real, in a fresh copy of this working tree (what git would check out, without
// node_modules, dist/ or console/dist): the README's two commands `npm ci && npm start` (which compile), then
// `npm ci --omit=dev && npm start` on that build — no TypeScript, tsx or Vite installed — serving /readyz, the console
// and a password sign-in. Neither npm ci prints an engine warning on the Node version the project is tested on.
//
// Two `npm ci` runs compile better-sqlite3 from source (1–2 min each), so this file is not a `*.test.ts` that
// `npm test` picks up: `npm run test:production-install` runs it, and CI (.ci/run) runs that after `npm test`.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_KEY = 'production-install-admin-key-0123456789abcdef';
const PASSWORD = 'Installed-For-Real-2026';

function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('GATEHOUSE_') || name.startsWith('npm_') || ['PORT', 'HOST', 'DATABASE_URL', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS'].includes(name)) delete env[name];
  }
  return { ...env, ...extra };
}

/** The working tree as git sees it: tracked and untracked files, minus what .gitignore leaves out. */
function copyWorkingTree(to: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  for (const file of new Set(listed.split('\0').filter((f) => f !== ''))) {
    const from = join(ROOT, file);
    if (!existsSync(from) || !lstatSync(from).isFile()) continue; // deleted in the working tree, or a link
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(from, join(to, file));
  }
}

function npm(cwd: string, args: string[]): { status: number | null; output: string } {
  try {
    const output = execFileSync('npm', args, { cwd, env: cleanEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000, maxBuffer: 64 << 20 });
    return { status: 0, output };
  } catch (err) {
    const e = err as { status: number | null; stdout?: string; stderr?: string };
    return { status: e.status, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** `npm start` in `cwd`, in its own process group; resolves once /readyz answers 200. */
async function npmStart(cwd: string, env: Record<string, string>): Promise<{ child: ChildProcess; base: string; output(): string; stop(): Promise<number | null> }> {
  const port = await freePort();
  const child = spawn('npm', ['start'], { cwd, env: cleanEnv({ ...env, PORT: String(port), HOST: '127.0.0.1' }), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    assert.ok(!done, `npm start exited before it was ready:\n${out}`);
    assert.ok(Date.now() < deadline, `npm start not ready within 300 s:\n${out}`);
    const ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    base,
    output: () => out,
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

test('a fresh copy: npm ci && npm start compiles and serves; npm ci --omit=dev && npm start then serves that build', { timeout: 1_500_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-install-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyWorkingTree(dir);
  assert.ok(!existsSync(join(dir, 'dist')) && !existsSync(join(dir, 'node_modules')), 'the copy starts without a build or dependencies');

  const full = npm(dir, ['ci']);
  assert.equal(full.status, 0, full.output);
  assert.doesNotMatch(full.output, /EBADENGINE/, `npm ci warns of no engine on Node ${process.version}`);

  // The README's two commands: the first npm start compiles the console and the server.
  const first = await npmStart(dir, { DATABASE_URL: `sqlite:${join(dir, 'first.db')}`, GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
  const firstCode = await first.stop();
  assert.equal(firstCode, 0, first.output());
  for (const built of ['dist/main.js', 'dist/cli.js', 'dist/security/hash-worker.mjs', 'console/dist/index.html']) assert.ok(existsSync(join(dir, built)), built);

  const production = npm(dir, ['ci', '--omit=dev']);
  assert.equal(production.status, 0, production.output);
  assert.doesNotMatch(production.output, /EBADENGINE/);
  for (const dev of ['typescript', 'tsx', 'vite', 'esbuild']) assert.ok(!existsSync(join(dir, 'node_modules', dev)), `${dev} is not installed with --omit=dev`);

  const server = await npmStart(dir, { DATABASE_URL: `sqlite:${join(dir, 'production.db')}`, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_AUTH_RATE_LIMIT: '0' });
  try {
    const created = await fetch(`${server.base}/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'prod@example.com', password: PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Pro', lastName: 'Duction' }),
    });
    assert.equal(created.status, 200, await created.text());
    const token = await fetch(`${server.base}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'prod@example.com', password: PASSWORD }) });
    assert.equal(token.status, 200, await token.text());
    const consolePage = await fetch(`${server.base}/console/`);
    assert.equal(consolePage.status, 200, 'the console built before --omit=dev is served');
  } finally {
    const code = await server.stop();
    assert.equal(code, 0, server.output());
  }
  assert.doesNotMatch(server.output(), /not installed|built from other sources/, `the build matched its sources: nothing to compile\n${server.output()}`);

  const version = execFileSync(process.execPath, ['bin/gatehouse.js', '--version'], { cwd: dir, env: cleanEnv(), encoding: 'utf8' });
  assert.match(version.trim(), /^\d+\.\d+\.\d+/, 'the compiled CLI runs without dev dependencies');
});
