// `npx tsx bench/scim-provisioning.ts [--users N] [--rounds R] [--dialect sqlite|postgres]`: an Okta-style and an
// Entra-style provisioning run, replayed against a directory of N seeded users (default 1M) over real HTTP, each
// request timed. The request shapes are the ones the test suites replay (test/scim/okta-provisioning.test.ts and
// entra-provisioning.test.ts): look-up by userName, create, read, update (PUT for Okta, PATCH without a path and with
// value paths for Entra), deactivate, group push (create, look-up by displayName, add and remove members), delete.
// Every answer is checked, so a fast wrong answer cannot pass for a result. Prints a Markdown table per dialect.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { seedPerson } from '../scripts/seed-data.ts';
import { runTsx, startGatehouse } from './processes.ts';

const { values } = parseArgs({
  options: { users: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '100' }, dialect: { type: 'string', default: 'sqlite' } },
});
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);
const ADMIN_KEY = 'bench-admin-key-0123456789abcdefghijklmnopqrstuvwxyz';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const samples = new Map<string, number[]>();
let base = '';
let scimAuth = '';

/** One timed request; `expect` is the status it must answer (or the statuses it may). */
async function call(step: string, method: string, path: string, expect: number | number[], body?: unknown): Promise<any> {
  const started = performance.now();
  const res = await fetch(base + '/scim/v2' + path, {
    method,
    headers: { authorization: scimAuth, ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  if (!(Array.isArray(expect) ? expect : [expect]).includes(res.status)) throw new Error(`${step}: ${method} ${path} answered ${res.status}, expected ${expect}: ${text.slice(0, 300)}`);
  const list = samples.get(step) ?? [];
  list.push(ms);
  samples.set(step, list);
  return text ? JSON.parse(text) : undefined;
}

const q = (filter: string, extra = '') => `?filter=${encodeURIComponent(filter)}${extra}`;

async function oktaRound(i: number, existing: string): Promise<void> {
  const userName = `okta.bench.${Date.now().toString(36)}.${i}@example.com`;
  // Okta's import and "does this user exist" checks: one for a seeded user, one for the newcomer.
  const found = await call('Okta: GET Users?filter=userName eq (a seeded user)', 'GET', `/Users${q(`userName eq "${existing}"`, '&startIndex=1&count=100')}`, 200);
  if (found.totalResults !== 1) throw new Error(`seeded user ${existing} not found: ${JSON.stringify(found).slice(0, 200)}`);
  const none = await call('Okta: GET Users?filter=userName eq (absent)', 'GET', `/Users${q(`userName eq "${userName}"`, '&startIndex=1&count=100')}`, 200);
  if (none.totalResults !== 0) throw new Error('absent user found');
  const created = await call('Okta: POST Users', 'POST', '/Users', 201, {
    schemas: [USER], userName, name: { givenName: 'Okta', familyName: `Bench ${i}` }, emails: [{ primary: true, value: userName, type: 'work' }], displayName: `Okta Bench ${i}`, locale: 'en-US', externalId: `00u${i}`, groups: [], active: true,
  });
  await call('Okta: GET Users/{id}', 'GET', `/Users/${created.id}`, 200);
  await call('Okta: PUT Users/{id} (profile update)', 'PUT', `/Users/${created.id}`, 200, {
    schemas: [USER], id: created.id, userName, name: { givenName: 'Okta', familyName: `Renamed ${i}` }, emails: [{ primary: true, value: userName, type: 'work' }], active: true,
  });
  const off = await call('Okta: PATCH active false (deactivate)', 'PATCH', `/Users/${created.id}`, 200, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] });
  if (off.active !== false) throw new Error('deactivation did not hold');
  // Group push: create, then membership by PATCH.
  const group = await call('Okta: POST Groups (push)', 'POST', '/Groups', 201, { schemas: [GROUP], displayName: `okta-push-${Date.now().toString(36)}-${i}`, members: [] });
  await call('Okta: PATCH Groups add member', 'PATCH', `/Groups/${group.id}`, [200, 204], { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: created.id, display: userName }] }] });
  await call('Okta: DELETE Groups/{id}', 'DELETE', `/Groups/${group.id}`, 204);
  await call('Okta: DELETE Users/{id}', 'DELETE', `/Users/${created.id}`, 204);
}

async function entraRound(i: number, existing: string): Promise<void> {
  const userName = `entra.bench.${Date.now().toString(36)}.${i}@example.com`;
  const found = await call('Entra: GET Users?filter=userName eq (a seeded user)', 'GET', `/Users${q(`userName eq "${existing.toUpperCase()}"`)}`, 200);
  if (found.totalResults !== 1) throw new Error(`seeded user ${existing} not found`);
  await call('Entra: GET Users?filter=userName eq (absent)', 'GET', `/Users${q(`userName eq "${userName}"`)}`, 200);
  const created = await call('Entra: POST Users', 'POST', '/Users', 201, {
    schemas: [USER, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], externalId: `entra-${i}`, userName, active: true,
    emails: [{ primary: true, type: 'work', value: userName }], meta: { resourceType: 'User' }, name: { formatted: 'Entra Bench', familyName: 'Bench', givenName: 'Entra' }, roles: [],
  });
  const byExternal = await call('Entra: GET Users?filter=externalId eq', 'GET', `/Users${q(`externalId eq "entra-${i}"`)}`, 200);
  if (byExternal.totalResults !== 1) throw new Error('externalId look-up failed');
  await call('Entra: PATCH Replace, no path, dotted keys', 'PATCH', `/Users/${created.id}`, 200, {
    schemas: [PATCH], Operations: [{ op: 'Replace', value: { 'name.givenName': 'Renamed', 'name.familyName': `Entra ${i}` } }],
  });
  await call('Entra: PATCH emails[type eq "work"].value', 'PATCH', `/Users/${created.id}`, 200, {
    schemas: [PATCH], Operations: [{ op: 'Replace', path: 'emails[type eq "work"].value', value: userName.replace('entra.', 'entra.moved.') }],
  });
  const off = await call('Entra: PATCH active "False"', 'PATCH', `/Users/${created.id}`, 200, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
  if (off.active !== false) throw new Error('deactivation did not hold');
  const displayName = `entra-group-${Date.now().toString(36)}-${i}`;
  await call('Entra: GET Groups?filter=displayName eq&excludedAttributes=members', 'GET', `/Groups${q(`displayName eq "${displayName}"`, '&excludedAttributes=members')}`, 200);
  const group = await call('Entra: POST Groups', 'POST', '/Groups', 201, { schemas: [GROUP], externalId: `eg-${i}`, displayName, members: [] });
  await call('Entra: PATCH Groups Add members', 'PATCH', `/Groups/${group.id}`, [200, 204], { schemas: [PATCH], Operations: [{ op: 'Add', path: 'members', value: [{ value: created.id }] }] });
  await call('Entra: PATCH Groups Remove members[value eq]', 'PATCH', `/Groups/${group.id}`, [200, 204], { schemas: [PATCH], Operations: [{ op: 'Remove', path: `members[value eq "${created.id}"]` }] });
  await call('Entra: DELETE Groups/{id}', 'DELETE', `/Groups/${group.id}`, 204);
  await call('Entra: DELETE Users/{id}', 'DELETE', `/Users/${created.id}`, 204);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function databaseFor(dialect: string, work: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === 'sqlite') return { url: `sqlite:${join(work, 'scim.db')}`, drop: async () => {} };
  const admin = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `gatehouse_bench_scim_${process.pid}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-scim-'));
const database = await databaseFor(values.dialect!, work);
try {
  const t = Date.now();
  await runTsx('scripts/seed.ts', ['--users', String(USERS)], { DATABASE_URL: database.url });
  process.stdout.write(`(${values.dialect}: ${USERS} users seeded in ${((Date.now() - t) / 1000).toFixed(0)} s)\n`);
  const gh = await startGatehouse({ DATABASE_URL: database.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'warn' });
  try {
    base = gh.url;
    const minted = await fetch(base + '/auth/api_keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'bench provisioning', roles: ['SCIM-PROVISIONER'] }),
    });
    scimAuth = `Bearer ${((await minted.json()) as { key: string }).key}`;
    // Warm-up rounds are not counted.
    for (let i = 0; i < 5; i += 1) {
      await oktaRound(-1 - i, seedPerson(1 + i).email);
      await entraRound(-1 - i, seedPerson(2 + i).email);
    }
    samples.clear();
    for (let i = 0; i < ROUNDS; i += 1) {
      // Seeded users spread over the whole directory, so look-ups do not hit one cached page.
      await oktaRound(i, seedPerson(1 + ((i * 7919) % USERS)).email);
      await entraRound(i, seedPerson(1 + ((i * 104_729) % USERS)).email);
    }
  } finally {
    await gh.stop();
  }
  process.stdout.write(`\n### SCIM provisioning replay: ${values.dialect}, ${USERS.toLocaleString('en')} users, ${ROUNDS} rounds each\n\n`);
  process.stdout.write('| request | p50 ms | p99 ms |\n|---|---:|---:|\n');
  for (const [step, list] of samples) {
    const sorted = [...list].sort((a, b) => a - b);
    process.stdout.write(`| ${step} | ${percentile(sorted, 50).toFixed(2)} | ${percentile(sorted, 99).toFixed(2)} |\n`);
  }
} finally {
  await database.drop();
  rmSync(work, { recursive: true, force: true });
}
