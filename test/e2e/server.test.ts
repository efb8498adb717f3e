import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { freePort } from '../helpers/server-process.ts';

// The real server, started the way the README does (`npm start`), spoken to over real HTTP.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UUID = /^\(?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)?$/i;

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}


/** Spawns `npm start` in its own process group (so cleanup can reach every process it started). */
function start(t: TestContext, env: Record<string, string>): Started {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(base)) {
    if (name.startsWith('GATEHOUSE_') || ['PORT', 'HOST', 'DATABASE_URL', 'NODE_TEST_CONTEXT'].includes(name)) delete base[name];
  }
  const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...base, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    // Whatever happened, nothing this test started may outlive it: signal the whole group, by its id.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is already gone
    }
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref())]);
}

async function waitFor<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('npm start: bootstrap key, the seed operations over HTTP, graceful SIGTERM', { timeout: 90_000 }, async (t) => {
  const port = await freePort();
  const dir = tempDir(t);
  const server = start(t, { PORT: String(port), DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}` });
  const base = `http://127.0.0.1:${port}`;

  await waitFor(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 45_000, `the server on ${port}: ${server.stderr()}`);
  const key = await waitFor(
    async () => server.stderr().split(/\s+/).find((w) => w.length >= 32 && !/^[=\-_*#]+$/.test(w) && !UUID.test(w)),
    5_000,
    'the bootstrap key on stderr',
  );
  const call = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as any };
  };

  const me = await call('GET', '/users/me');
  assert.equal(me.status, 200);
  assert.deepEqual(me.body.roles, ['ORG-ADMIN']);

  const tag = `e2e${Date.now()}`;
  const created = await call('POST', '/users', {
    email: `Ada.${tag}@Example.com`,
    password: 'Vivid-Harbor-42-Lantern',
    temporary: false,
    roles: ['CHAT-USER'],
    firstName: 'Ada',
    lastName: 'Lovelace',
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.equal(created.body.email, `ada.${tag}@example.com`);
  assert.deepEqual(created.body.roles.map((r: { name: string }) => r.name), ['CHAT-USER']);
  const id: string = created.body.id;

  const found = await call('GET', `/users?search_string=${encodeURIComponent(`${tag.toUpperCase()} love`)}`);
  assert.equal(found.status, 200);
  assert.deepEqual(found.body.map((u: { id: string }) => u.id), [id]);

  const allowed = await call('GET', '/users/permissions/check?action=create&resource=prompts');
  assert.equal(allowed.status, 200);
  assert.deepEqual(allowed.body, { allowed: true, action: 'create', resource: 'prompts', granted_by: ['ORG-ADMIN'] });

  const reset = await call('POST', `/users/${id}/reset_password`, { password: 'Quiet-Meadow-77-Compass' });
  assert.equal(reset.status, 200);
  assert.deepEqual(reset.body, { id, temporary: true });

  const deleted = await call('DELETE', `/users/${id}`);
  assert.equal(deleted.status, 200);
  assert.equal(deleted.body.id, id);
  assert.deepEqual((await call('GET', `/users?search_string=${tag}`)).body, []);
  assert.equal((await call('DELETE', `/users/${id}`)).status, 404);

  const text = server.stdout() + server.stderr().replace(key, '');
  assert.ok(!text.includes(key), 'the key is printed once, in the banner, and never logged');
  assert.ok(!text.includes('Vivid-Harbor-42-Lantern') && !text.includes('Quiet-Meadow-77-Compass'), 'no password in the output');

  server.child.kill('SIGTERM');
  const exit = await within(server.exited, 20_000, 'exit after SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM; stderr: ${server.stderr().slice(-500)}`);
  await assert.rejects(fetch(`${base}/healthz`), 'nothing answers on the port once the process has exited');
});

test('npm start with a bad PORT exits non-zero with one line on stderr', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const server = start(t, { PORT: 'abc', DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}` });
  const exit = await within(server.exited, 45_000, 'exit on bad config');
  assert.notEqual(exit.code, 0);
  assert.ok(exit.code !== null, `exited by itself, not by ${exit.signal}`);
  const lines = server.stderr().split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(server.stderr())}`);
  assert.match(lines[0]!, /PORT/);
});
