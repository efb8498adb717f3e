import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import { ConfigError } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { describeConnectError, looseSqliteFileMode, openSqlite } from '../src/store/database.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { ADMIN_KEY } from './helpers/app.ts';
import { freePort } from './helpers/server-process.ts';

// What happens before the server serves anything: the SQLite file it creates is private, a bad setting (also an
// empty one, a HOST it cannot listen on, a PostgreSQL it cannot reach) stops it with one line naming the variable.

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-startup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const modeOf = (path: string) => statSync(path).mode & 0o777;
const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** Runs `body` with the process umask set to `mask` (this test file's process only), then restores it. */
async function withUmask<T>(mask: number, body: () => Promise<T>): Promise<T> {
  const saved = process.umask(mask);
  try {
    return await body();
  } finally {
    process.umask(saved);
  }
}

describe('the SQLite database file is private', { skip: process.platform === 'win32' ? 'POSIX modes' : false }, () => {
  for (const umask of [0o022, 0o000]) {
    test(`a new file is 0600, its -wal and -shm too, and the directories made for it 0700 (umask ${octal(umask)})`, async (t) => {
      const dir = tempDir(t);
      const path = join(dir, 'data', 'nested', 'gatehouse.db');
      await withUmask(umask, async () => {
        const database = openSqlite(path);
        try {
          await migrateToLatest(database.db); // writes, so the WAL and its index exist
          assert.ok(existsSync(`${path}-wal`) && existsSync(`${path}-shm`), 'WAL mode made its files');
          for (const file of [path, `${path}-wal`, `${path}-shm`]) assert.equal(octal(modeOf(file)), '0600', file);
          assert.equal(octal(modeOf(join(dir, 'data'))), '0700', 'data/');
          assert.equal(octal(modeOf(join(dir, 'data', 'nested'))), '0700', 'data/nested/');
        } finally {
          await database.close();
        }
      });
      assert.equal(octal(modeOf(dir)), '0700', 'mkdtemp made it so; an existing directory is not touched either way');
    });
  }

  test('the default, relative path (./data/gatehouse.db) gets the same modes', async (t) => {
    const dir = tempDir(t);
    const saved = process.cwd();
    process.chdir(dir);
    t.after(() => process.chdir(saved));
    const database = openSqlite('./data/gatehouse.db');
    await database.close();
    assert.equal(octal(modeOf(join(dir, 'data'))), '0700');
    assert.equal(octal(modeOf(join(dir, 'data', 'gatehouse.db'))), '0600');
    assert.equal(octal(modeOf(dir)), '0700', 'the directory above is not touched (mkdtemp made it 0700)');
  });

  test('an existing file and directory keep their modes, and a loose file mode is recognised', async (t) => {
    const dir = join(tempDir(t), 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const path = join(dir, 'gatehouse.db');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    assert.equal(looseSqliteFileMode(path), 0o644);
    const database = openSqlite(path);
    try {
      await migrateToLatest(database.db);
    } finally {
      await database.close();
    }
    assert.equal(octal(modeOf(path)), '0644', 'left alone (the log warns about it)');
    assert.equal(octal(modeOf(dir)), '0755');
    chmodSync(path, 0o600);
    assert.equal(looseSqliteFileMode(path), null);
    assert.equal(looseSqliteFileMode(':memory:'), null);
  });

  test('the server creates its database file 0600', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'data', 'gatehouse.db');
    const server = await startServer({ DATABASE_URL: `sqlite:${path}`, PORT: '0', GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'silent' });
    try {
      assert.equal(octal(modeOf(path)), '0600');
      assert.equal(octal(modeOf(`${path}-wal`)), '0600');
      assert.equal(octal(modeOf(join(dir, 'data'))), '0700');
    } finally {
      await server.stop();
    }
  });
});

/** Asserts that starting with `env` fails with a ConfigError: one line that names `variable`; returns the message. */
async function refusesToStart(env: Record<string, string>, variable: string): Promise<string> {
  let caught: unknown;
  try {
    const server = await startServer({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'silent', DATABASE_URL: 'sqlite::memory:', PORT: '0', ...env });
    await server.stop();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(caught)}`);
  assert.ok(caught.message.startsWith(variable) || caught.message.includes(` ${variable}`), `names ${variable}: ${caught.message}`);
  assert.ok(!/[\r\n]/.test(caught.message), `one line: ${JSON.stringify(caught.message)}`);
  return caught.message;
}

describe('startServer refuses bad settings with one line naming the variable', () => {
  test('an empty PORT (and any other empty setting) stops it, rather than meaning the default', async () => {
    await refusesToStart({ PORT: '' }, 'PORT');
    await refusesToStart({ HOST: '' }, 'HOST');
    await refusesToStart({ DATABASE_URL: '' }, 'DATABASE_URL');
    await refusesToStart({ GATEHOUSE_AUTH_RATE_LIMIT: ' ' }, 'GATEHOUSE_AUTH_RATE_LIMIT');
  });

  test('a HOST that is not an address or a host name', async () => {
    await refusesToStart({ HOST: 'not a host' }, 'HOST');
    await refusesToStart({ HOST: 'http://0.0.0.0' }, 'HOST');
  });

  test('a HOST that is no address of this machine (EADDRNOTAVAIL)', async () => {
    const message = await refusesToStart({ HOST: '192.0.2.1' }, 'HOST'); // TEST-NET-1: never a local address
    assert.match(message, /192\.0\.2\.1/);
  });

  test('a HOST name that does not resolve (ENOTFOUND)', { timeout: 60_000 }, async () => {
    const message = await refusesToStart({ HOST: 'no-such-host.invalid' }, 'HOST');
    assert.match(message, /no-such-host\.invalid/);
  });

  test('a PORT already in use', async (t) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as { port: number }).port;
    await refusesToStart({ HOST: '127.0.0.1', PORT: String(port) }, 'PORT');
  });

  test('a SQLite path that cannot be opened', async (t) => {
    const dir = tempDir(t); // a directory is not a database file
    await refusesToStart({ DATABASE_URL: `sqlite:${dir}` }, 'DATABASE_URL');
  });

  test('a PostgreSQL that cannot be reached names DATABASE_URL and never prints the password', async () => {
    const port = await freePort(); // nothing listens there now
    const password = 'Sup3r-Secret-Pa55';
    const message = await refusesToStart({ DATABASE_URL: `postgres://gatehouse:${password}@127.0.0.1:${port}/gatehouse` }, 'DATABASE_URL');
    assert.equal(message, `DATABASE_URL: cannot reach the database at 127.0.0.1:${port} (connection refused)`);
    assert.ok(!message.includes(password));
  });

  test('describeConnectError: refusals by the server keep their reason but lose the password', () => {
    const url = 'postgres://app:p%40ss-W0rd@db.example:6543/gatehouse';
    const refused = describeConnectError(url, Object.assign(new Error('password authentication failed for user "app" (p@ss-W0rd)'), { code: '28P01' }));
    assert.equal(refused, 'DATABASE_URL: the database at db.example:6543 refused the connection (password authentication failed for user "app" (***))');
    const timeout = describeConnectError(url, new Error('timeout exceeded when trying to connect'));
    assert.equal(timeout, 'DATABASE_URL: cannot reach the database at db.example:6543 (timed out)');
    const aggregate = new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })], '');
    assert.equal(describeConnectError('postgres://localhost/g', aggregate), 'DATABASE_URL: cannot reach the database at localhost:5432 (connection refused)');
  });

  test('a failed start releases what it opened: the same SQLite file starts cleanly right after', async (t) => {
    const path = join(tempDir(t), 'gatehouse.db');
    const env = { DATABASE_URL: `sqlite:${path}`, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'silent' as const };
    await refusesToStart({ ...env, HOST: '192.0.2.1' }, 'HOST');
    const server = await startServer({ ...env, PORT: '0' });
    await server.stop();
  });
});

/** `npm start` with `env` on top of this environment minus Gatehouse's settings; resolves with its exit and output. */
function npmStart(env: Record<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(base)) {
    if (name.startsWith('GATEHOUSE_') || ['PORT', 'HOST', 'DATABASE_URL', 'NODE_TEST_CONTEXT'].includes(name)) delete base[name];
  }
  const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...base, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // its own process group, by id: a server that did start is ended
    } catch {
      // already gone
    }
  }, 45_000);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

describe('npm start with a bad setting exits non-zero with one line on stderr', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['an empty PORT', { PORT: '' }, /^gatehouse: PORT /],
    ['a HOST that is not a host', { HOST: 'not a host' }, /^gatehouse: HOST /],
    ['an unreachable PostgreSQL', { DATABASE_URL: 'postgres://gatehouse:Sup3r-Secret-Pa55@127.0.0.1:1/gatehouse' }, /^gatehouse: DATABASE_URL: cannot reach the database at 127\.0\.0\.1:1 \(connection refused\)$/],
  ];
  for (const [what, env, expected] of cases) {
    test(what, { timeout: 60_000 }, async (t) => {
      const dir = tempDir(t);
      const exit = await npmStart({ DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, ...env });
      assert.ok(exit.code !== null && exit.code !== 0, `exited non-zero by itself: ${JSON.stringify({ code: exit.code, signal: exit.signal })}`);
      const lines = exit.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(exit.stderr)}`);
      assert.match(lines[0]!, expected);
      assert.ok(!exit.stderr.includes('Sup3r-Secret') && !exit.stdout.includes('Sup3r-Secret'), 'no password printed');
      assert.ok(!existsSync(join(dir, 'gatehouse.db')), 'it stopped before making a database file');
    });
  }
});
