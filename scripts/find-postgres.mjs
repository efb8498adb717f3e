// Finds a PostgreSQL server for the tests, in this order: TEST_DATABASE_URL; the local server on 127.0.0.1:5432;
// a throwaway cluster started from the installed binaries (initdb, pg_ctl) in a temporary directory. Returns null
// only when none of these exist. Plain JavaScript so the test runner can use it before tsx is loaded.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

async function answers(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function findBinary(name) {
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  for (const version of readdirSync(root).sort().reverse()) {
    const candidate = join(root, version, 'bin', name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** Runs a PostgreSQL binary; as root, as the `postgres` OS user (the server refuses to run as root). */
function runPg(binary, args, uid, gid) {
  const options = { stdio: 'pipe', encoding: 'utf8', ...(uid !== undefined ? { uid, gid } : {}) };
  return execFileSync(binary, args, options);
}

function postgresUser() {
  if (process.getuid?.() !== 0) return {};
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('running as root and there is no postgres OS user to run a cluster as');
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Starts a private PostgreSQL cluster; `stop()` ends it and removes its files. Null when the binaries are missing. */
export async function startThrowawayCluster() {
  const initdb = findBinary('initdb');
  const pgCtl = findBinary('pg_ctl');
  if (!initdb || !pgCtl) return null;
  const { uid, gid } = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  if (uid !== undefined) chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const port = await freePort();
  runPg(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], uid, gid);
  const start = () =>
    runPg(pgCtl, ['-D', data, '-w', '-t', '30', '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'], uid, gid);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    /** Stops the server (fast shutdown) but keeps its files, so `start()` brings the same data back. */
    pause: () => runPg(pgCtl, ['-D', data, '-w', '-m', 'fast', 'stop'], uid, gid),
    start,
    stop() {
      try {
        runPg(pgCtl, ['-D', data, '-w', '-m', 'immediate', 'stop'], uid, gid);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The admin URL of a PostgreSQL to test against, with a `stop` for a cluster this call started; null if none. */
export async function findPostgres() {
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    if (!(await answers(given))) throw new Error(`TEST_DATABASE_URL is set but does not answer`);
    return { url: given, source: 'TEST_DATABASE_URL', stop() {} };
  }
  const local = 'postgres://postgres@127.0.0.1:5432/postgres';
  if (await answers(local)) return { url: local, source: 'local server on 127.0.0.1:5432', stop() {} };
  const cluster = await startThrowawayCluster().catch((err) => {
    process.stderr.write(`could not start a throwaway PostgreSQL: ${err.message}\n`);
    return null;
  });
  if (cluster) return { url: cluster.url, source: `throwaway cluster on port ${cluster.port}`, stop: cluster.stop };
  return null;
}
