/**
 * How fast `gatehouse import keycloak` brings in a large export (issue 14: 1M users in under 5 minutes on SQLite).
 * Generates a `kc.sh export --dir` export (streamed to disk, a realm file and `<realm>-users-<N>.json` files), then
 * imports it into a fresh SQLite database file and prints users/s, total time and peak RSS.
 *
 *   npx tsx bench/import-keycloak.ts [--users 1000000] [--per-file 500] [--dir /tmp/x] [--keep]
 *
 * Passwords: each user carries a real Keycloak credential (PBKDF2-SHA256, PBKDF2-SHA512, argon2 or bcrypt, both
 * credential formats), hashed once per kind up front: importing copies hashes, it never computes them.
 */
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { credential, kcUser, writeDirectoryExport } from '../test/import/keycloak-fixtures.ts';
import { importKeycloak } from '../src/import/keycloak-import.ts';
import { createArgon2Hasher } from '../src/security/argon2-hasher.ts';
import { openSqlite } from '../src/store/database.ts';
import { migrateToLatest } from '../src/store/migrate.ts';

const { values } = parseArgs({
  options: { users: { type: 'string', default: '1000000' }, 'per-file': { type: 'string', default: '500' }, dir: { type: 'string' }, keep: { type: 'boolean', default: false } },
});
const count = Number(values.users);
const perFile = Number(values['per-file']);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'gatehouse-kc-bench-'));

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 200);
sampler.unref();

const kinds = [
  credential('bench-password', 'pbkdf2-sha256', 'modern', { iterations: 27500 }),
  credential('bench-password', 'pbkdf2-sha512', 'modern', { iterations: 1000 }),
  credential('bench-password', 'argon2', 'modern'),
  credential('bench-password', 'bcrypt', 'modern'),
  credential('bench-password', 'pbkdf2', 'legacy', { iterations: 1000 }),
];
const groups = [{ name: 'Staff', path: '/Staff', realmRoles: ['staff'], subGroups: [{ name: 'Support', path: '/Staff/Support', realmRoles: [] }] }];

let t0 = performance.now();
if (readdirSync(dir).length === 0) {
  await writeDirectoryExport(dir, 'bench', count, perFile, (i) =>
    kcUser({
      id: randomUUID(),
      username: `user${i}`,
      email: `user${i}@bench.example.com`,
      firstName: `First${i % 5000}`,
      lastName: `Last${i % 7919}`,
      credentials: [kinds[i % kinds.length]],
      realmRoles: i % 100 === 0 ? ['default-roles-bench', 'admin'] : ['default-roles-bench', 'staff'],
      requiredActions: i % 50 === 0 ? ['UPDATE_PASSWORD'] : [],
      groups: i % 10 === 0 ? ['/Staff/Support'] : [],
    }),
    groups,
  );
}
const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
console.log(`export: ${count} users in ${readdirSync(dir).length} files, ${(bytes / 2 ** 20).toFixed(0)} MiB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s (${dir})`);

const dbFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-kc-db-')), 'gatehouse.db');
const database = openSqlite(dbFile);
await migrateToLatest(database.db);
peakRss = process.memoryUsage.rss();
const rssBefore = peakRss;
t0 = performance.now();
const cpu0 = process.cpuUsage();
let lastPrint = 0;
const report = await importKeycloak({
  path: dir,
  database,
  hasher: createArgon2Hasher(),
  roleMap: ['admin=ORG-ADMIN', 'staff=CHAT-USER'],
  onProgress: (read) => {
    if (performance.now() - lastPrint > 10_000) {
      lastPrint = performance.now();
      console.log(`  ${read} read, ${((performance.now() - t0) / 1000).toFixed(0)} s, rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB`);
    }
  },
});
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
// The machine may be shared: CPU time says what the import itself cost, wall time what it took here.
peakRss = Math.max(peakRss, process.memoryUsage.rss());
await database.close();
console.log(`import: ${report.totals.imported} imported, ${report.totals.skipped} skipped in ${seconds.toFixed(1)} s = ${Math.round(report.totals.imported / seconds)} users/s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s: user ${(cpu.user / 1e6).toFixed(1)}, system ${(cpu.system / 1e6).toFixed(1)}; load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)} on ${(await import('node:os')).availableParallelism()} cores)`);
console.log(`peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (before the import: ${(rssBefore / 2 ** 20).toFixed(0)} MiB); database ${(statSync(dbFile).size / 2 ** 20).toFixed(0)} MiB`);
rmSync(dbFile.replace(/gatehouse\.db$/, ''), { recursive: true, force: true });
if (!values.keep && !values.dir) rmSync(dir, { recursive: true, force: true });
