import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it, test } from 'node:test';
import { startServers } from '../helpers/server-process.ts';

// The server as the README runs it: `npm start` builds src/ into dist/ (tsc, scripts/build-server.mjs) and runs
// `node dist/main.js` — compiled JavaScript, no TypeScript loader. Then the build step itself, on a scratch copy of
// the sources: built when missing or changed, not rebuilt when only copied, one build when several start at once,
// and without TypeScript installed (npm ci --omit=dev) it runs the build that is there or says how to make one.
// The whole production install (npm ci, build, npm ci --omit=dev, npm start in a fresh copy) is
// test/e2e/production-install.check.ts, run by `npm run test:production-install`.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_KEY = 'e2e-compiled-build-admin-key-0123456789abcdef';
const PASSWORD = 'Compiled-And-Checked-2026';
const run = promisify(execFile);

/** The command line and NODE_OPTIONS of a running process, from /proc. */
function processLaunch(pid: number): { argv: string[]; nodeOptions: string } {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return { argv, nodeOptions: env.find((e) => e.startsWith('NODE_OPTIONS='))?.slice('NODE_OPTIONS='.length) ?? '' };
}

test('npm start serves from compiled JavaScript: node dist/main.js, no tsx; hashing, sign-in and the console work from dist/', { timeout: 180_000 }, async (t) => {
  const [server] = await startServers(t, [{ DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_AUTH_RATE_LIMIT: '0' }], { names: ['compiled'], readyTimeoutMs: 150_000 });
  const s = server!;

  const pid = Number(/"pid":(\d+)/.exec(s.stdout())?.[1]);
  assert.ok(pid > 0, `a log line names the server's pid\n${s.logTail()}`);
  const { argv, nodeOptions } = processLaunch(pid);
  assert.deepEqual(argv.slice(1), ['dist/main.js'], `the server process is node dist/main.js: ${JSON.stringify(argv)}`);
  assert.ok(!argv.join(' ').includes('tsx') && !nodeOptions.includes('tsx'), `no tsx loader: ${JSON.stringify({ argv, nodeOptions })}`);
  assert.match(readFileSync(join(ROOT, 'dist', '.sources.sha256'), 'utf8'), /^[0-9a-f]{64}\n$/, 'dist/ records the sources it was built from');

  // A password hashed and verified by the argon2id worker, which the compiled pool loads from dist/security/.
  const created = await fetch(`${s.base}/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'compiled@example.com', password: PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Com', lastName: 'Piled' }),
  });
  assert.equal(created.status, 200, await created.text());
  const signIn = (password: string) =>
    fetch(`${s.base}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'compiled@example.com', password }) });
  const good = await signIn(PASSWORD);
  assert.equal(good.status, 200, await good.clone().text());
  assert.equal(typeof ((await good.json()) as { access_token?: unknown }).access_token, 'string');
  const bad = await signIn('Not-The-Password-2026');
  assert.equal(bad.status, 400, await bad.text());

  // The console's static files (console/dist, built by the same prestart) are found from dist/http/routes/.
  const consolePage = await fetch(`${s.base}/console/`);
  assert.equal(consolePage.status, 200);
  assert.match(await consolePage.text(), /<div id="app"|<script type="module"/);

  await s.stop();
  assert.equal((await s.exited).code, 0, s.logTail());
  assert.ok(!s.stdout().includes(PASSWORD) && !s.stderr().includes(PASSWORD), 'the password is never logged');
});

test('bin/gatehouse.js runs the compiled CLI', { timeout: 120_000 }, async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const { stdout } = await run(process.execPath, ['bin/gatehouse.js', '--version'], { cwd: ROOT, timeout: 110_000 });
  assert.equal(stdout.trim(), version);
  const bin = readFileSync(join(ROOT, 'bin', 'gatehouse.js'), 'utf8');
  assert.doesNotMatch(bin, /tsx|\.\.\/src\//, 'bin/gatehouse.js loads neither tsx nor the TypeScript sources');
});

/**
 * A scratch project holding what the build step reads — src/, package.json (ESM), the tsconfig files,
 * scripts/build-server.mjs — and
 * `node_modules` linked to this repo's (so tsc is there) unless `withTypeScript` is false (an empty node_modules,
 * as after npm ci --omit=dev as far as the build step is concerned).
 */
function scratchProject(t: { after(fn: () => void): void }, withTypeScript = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-build-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, file), join(dir, file));
  mkdirSync(join(dir, 'scripts'));
  cpSync(join(ROOT, 'scripts', 'build-server.mjs'), join(dir, 'scripts', 'build-server.mjs'));
  if (withTypeScript) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  else mkdirSync(join(dir, 'node_modules'));
  return dir;
}

async function build(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(dir, 'scripts', 'build-server.mjs'), ...args], { cwd: dir, timeout: 170_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const stamp = (dir: string) => readFileSync(join(dir, 'dist', '.sources.sha256'), 'utf8').trim();
const builtAt = (dir: string) => statSync(join(dir, 'dist', '.sources.sha256')).mtimeMs;

describe('scripts/build-server.mjs, the build step of npm start', { timeout: 600_000 }, () => {
  it('builds a missing dist/, leaves it alone while src/ is unchanged (also in a copy with new file times), rebuilds when a source changes', async (t) => {
    const dir = scratchProject(t);
    const first = await build(dir);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout + first.stderr, '', 'silent into a pipe: stdout and stderr belong to the server');
    for (const file of ['main.js', 'cli.js', 'server.js', 'security/hash-worker.mjs']) assert.ok(existsSync(join(dir, 'dist', file)), `dist/${file}`);
    assert.doesNotMatch(readFileSync(join(dir, 'dist', 'cli.js'), 'utf8'), /from '\.[^']*\.ts'|import\('\.[^']*\.ts'\)/, 'relative imports end in .js');
    assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('dist.')), [], 'no staging directory or lock left behind');
    const digest = stamp(dir);
    const at = builtAt(dir);

    // The same sources with new modification times (a fresh checkout, a copy): nothing to compile.
    const copy = join(dir, 'src-copy');
    cpSync(join(dir, 'src'), copy, { recursive: true });
    rmSync(join(dir, 'src'), { recursive: true });
    cpSync(copy, join(dir, 'src'), { recursive: true });
    rmSync(copy, { recursive: true });
    const again = await build(dir);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(builtAt(dir), at, 'not rebuilt');

    writeFileSync(join(dir, 'src', 'build-probe.ts'), "export const probe = 'changed';\n");
    const changed = await build(dir);
    assert.equal(changed.code, 0, changed.stderr);
    assert.notEqual(stamp(dir), digest);
    assert.ok(existsSync(join(dir, 'dist', 'build-probe.js')), 'the new source is compiled');

    rmSync(join(dir, 'src', 'build-probe.ts'));
    assert.equal((await build(dir)).code, 0);
    assert.equal(stamp(dir), digest, 'back to the first sources, back to the first digest');
    assert.ok(!existsSync(join(dir, 'dist', 'build-probe.js')), 'a deleted source leaves nothing behind in dist/');
  });

  it('several starts at once: every one gets a whole build, compiled once', async (t) => {
    const dir = scratchProject(t);
    const results = await Promise.all([build(dir), build(dir), build(dir)]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const at = builtAt(dir);
    assert.ok(existsSync(join(dir, 'dist', 'main.js')));
    assert.equal((await build(dir)).code, 0);
    assert.equal(builtAt(dir), at, 'the waiting ones found it built');
    assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('dist.')), [], 'no staging directory or lock left behind');
  });

  it('a builder killed half-way (its lock and staging directory left behind) does not hold up the next start', async (t) => {
    const dir = scratchProject(t);
    const dead = (await run(process.execPath, ['-p', 'process.pid'])).stdout.trim(); // a pid no longer running
    mkdirSync(join(dir, 'dist.lock'));
    writeFileSync(join(dir, 'dist.lock', 'pid'), dead);
    mkdirSync(join(dir, `dist.staging-${dead}`));
    const result = await build(dir);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(join(dir, 'dist', 'main.js')));
    assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('dist.')), [], 'the dead builder\'s lock and staging directory are gone');
  });

  it('a syntax error fails the build with tsc\'s message and keeps the previous build; a type error is compiled (npm run typecheck reports it)', async (t) => {
    const dir = scratchProject(t);
    assert.equal((await build(dir)).code, 0);
    const digest = stamp(dir);
    writeFileSync(join(dir, 'src', 'broken.ts'), 'export const n = ;\n');
    const broken = await build(dir);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^gatehouse: tsc could not compile the server/);
    assert.match(broken.stderr, /src\/broken\.ts.*TS1109/);
    assert.equal(stamp(dir), digest, 'dist/ is still the last good build');
    assert.ok(!existsSync(join(dir, 'dist', 'broken.js')));

    writeFileSync(join(dir, 'src', 'broken.ts'), "export const n: number = 'not a number';\n");
    const typed = await build(dir);
    assert.deepEqual([typed.code, typed.stderr], [0, '']);
    assert.match(readFileSync(join(dir, 'dist', 'broken.js'), 'utf8'), /export const n = 'not a number'/);
  });

  it('without TypeScript (npm ci --omit=dev): no build is one line and exit 1; a build from other sources runs as it is, with a warning', async (t) => {
    const dir = scratchProject(t, false);
    const none = await build(dir);
    assert.equal(none.code, 1);
    const lines = none.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, none.stderr);
    assert.match(lines[0]!, /^gatehouse: the server is not built \(no dist\/\) and TypeScript is not installed: .*npm run build/);

    // A build made elsewhere from these very sources: used without a word.
    const withTs = scratchProject(t);
    assert.equal((await build(withTs)).code, 0);
    cpSync(join(withTs, 'dist'), join(dir, 'dist'), { recursive: true });
    const fresh = await build(dir);
    assert.deepEqual([fresh.code, fresh.stderr], [0, '']);

    writeFileSync(join(dir, 'src', 'edited-after-the-build.ts'), 'export {};\n');
    const stale = await build(dir);
    assert.equal(stale.code, 0, stale.stderr);
    assert.match(stale.stderr, /^Gatehouse: dist\/ was built from other sources than src\/ and TypeScript is not installed/);
  });
});
