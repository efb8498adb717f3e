import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { uuidv7 } from '../../src/domain/ids.ts';
import { createArgon2Hasher } from '../../src/security/argon2-hasher.ts';
import { bulkTarget } from '../../src/store/bulk-load.ts';
import { GOOD_PASSWORD } from '../helpers/app.ts';
import { freshSchema, postgresSkipReason, postgresUrl } from '../helpers/postgres.ts';
import { restartServer, startServers, type ServerProcess } from '../helpers/server-process.ts';

// Crash consistency (CONTRACT.md §3.1: "User, password and roles are written atomically: on any error nothing is
// stored"). A real server takes concurrent creates, deletes and password resets; mid-stream it is killed with
// SIGKILL (no handler runs, nothing is flushed or closed), restarted on the same database, and checked:
//   - every acknowledged write (a complete 200) is there: a created user with exactly its roles and its password,
//     a deleted user gone, a reset password in force;
//   - a request in flight at the kill (no answer) either took effect or did not, never partly: no user without
//     its roles, no roles without their user, no user nobody asked for, no half-applied reset;
//   - the database itself is sound (SQLite: integrity_check, foreign keys, and the FTS5 search index holds exactly
//     the users), and search over the API finds each user exactly once.
// The client keeps the ledger: what it asked, what was acknowledged, what was in flight at the kill.

const ADMIN_KEY = 'e2e-crash-admin-key-0123456789abcdefghijklmn';
const KILLS = 4;
const WRITERS = 6;
/**
 * Creates and resets spend most of their time in argon2 and write last, so a kill mostly finds them before their
 * write. Deletes hash nothing: their request is their transaction. Deleters work through a stock of users loaded
 * straight into the database before the first cycle, so deletes are in flight at every kill.
 */
const DELETERS = 3;
const STOCK = 2_000;
/** Traffic runs for a random time in this range before each kill: the kill lands anywhere in the stream. */
const TRAFFIC_MS: [number, number] = [1_500, 2_500];
/** Logins (one argon2 verification each) spent per cycle on users whose only change was their creation. */
const CREATED_LOGIN_SAMPLE = 12;
/** Users searched for after each restart, besides every user of the cycle that still exists: so many of those
 *  deleted in the cycle, and so many of the others. */
const SEARCH_SAMPLE = 40;
const ROLES = ['ORG-ADMIN', 'ORG-AUDITOR', 'TASK-ADMIN', 'CHAT-USER', 'DEFAULT-RULE-ADMIN', 'VALIDATION-USER'];

const pgSkip = await postgresSkipReason();

// ---------------------------------------------------------------------------------------------------------------
// HTTP

type Outcome =
  | { answered: true; status: number; body: any; text: string }
  | { answered: false; error: string };

/** One request; a network failure (the kill) is an outcome, not an exception. */
async function send(server: ServerProcess, method: string, path: string, opts: { auth?: string | null; body?: unknown } = {}): Promise<Outcome> {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? ADMIN_KEY : opts.auth;
  if (auth !== null) headers.authorization = `Bearer ${auth}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(`${server.base}${path}`, {
      method,
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { answered: true, status: res.status, body, text };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return { answered: false, error: e.cause?.code ?? e.cause?.message ?? e.message };
  }
}

/** For the checks after a restart, when the server is idle: an answer is required (retried on a network error). */
async function ask(server: ServerProcess, method: string, path: string, opts: { auth?: string | null; body?: unknown } = {}) {
  let last: Outcome | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    last = await send(server, method, path, opts);
    if (last.answered) return last;
  }
  assert.fail(`${method} ${path}: no answer after 3 attempts (${last && !last.answered ? last.error : ''})\n${server.logTail(20)}`);
}

const showOutcome = (o: Outcome) => (o.answered ? `${o.status} ${o.text.slice(0, 300)}` : `no answer (${o.error})`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function sample<T>(items: T[], n: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

// ---------------------------------------------------------------------------------------------------------------
// The client's ledger

/** yes: acknowledged (or found applied after a restart); no: known not applied; unknown: in flight at the kill. */
type Fate = 'yes' | 'no' | 'unknown';

interface Password {
  value: string;
  /** An admin reset leaves a temporary password: a login with it answers "Password change required". */
  temporary: boolean;
}

interface Tracked {
  n: number;
  email: string;
  roles: string[];
  /** The writer that owns this user: one request at a time per user, so its history is a sequence. */
  owner: number;
  id: string | null;
  created: Fate;
  deleted: Fate;
  /** The password in force as far as acknowledged writes go. */
  password: Password;
  /** A reset that was in flight at the kill: after the restart either it or `password` is in force. */
  pendingReset: Password | null;
  /** Acknowledged resets: each moves the token version. */
  resets: number;
  /** The stored hash once a login proved the password; a later change without an acknowledged reset is a bug. */
  provenHash: string | null;
  /** Touched in the current cycle (created, reset, deleted or in flight), so checked closely after the restart. */
  touched: boolean;
  history: string[];
}

interface Cycle {
  stopped: boolean;
  /** Set when the kill should land on the next delete: deletes hash no password, so their write is right there. */
  armed: boolean;
  /** Called by the delete that is to be killed, as its request leaves. */
  onArmedDelete: () => void;
  /** How long after the armed delete left the kill was sent. */
  killDelayMs: number | null;
  deleteMs: number[];
  acked: { create: number; delete: number; reset: number };
  inFlightAtKill: { create: number; delete: number; reset: number };
  /** Answers other than 200 during traffic: each is a failure of its own, and proves its operation did nothing. */
  unexpected: string[];
}

const describe = (u: Tracked) => `user #${u.n} ${u.email} (id ${u.id ?? '?'}; created ${u.created}, deleted ${u.deleted}; history: ${u.history.join(' → ')})`;
const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

function randomRoles(): string[] {
  return sample(ROLES, 1 + randomInt(3));
}

// ---------------------------------------------------------------------------------------------------------------
// What the database holds, read directly (not through the server)

interface StoredUser {
  id: string;
  email: string;
  passwordHash: string;
  tokenVersion: number;
  roles: string[];
}

interface Snapshot {
  users: Map<string, StoredUser>; // by email
  /** Structural problems: integrity, orphans, search index disagreement. */
  problems: string[];
  notes: string[];
}

function collectUsers(users: { id: string; email: string; password_hash: string; token_version: number | string }[], roles: { user_id: string; role: string }[]) {
  const byId = new Map<string, StoredUser>();
  for (const u of users) byId.set(u.id, { id: u.id, email: u.email, passwordHash: u.password_hash, tokenVersion: Number(u.token_version), roles: [] });
  for (const r of roles) byId.get(r.user_id)?.roles.push(r.role);
  return new Map([...byId.values()].map((u) => [u.email, u]));
}

/** SQLite, opened read-only beside the running server (WAL allows it). */
function inspectSqlite(path: string, scratchDir: string): Snapshot {
  const problems: string[] = [];
  const notes: string[] = [];
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
    if (integrity.join() !== 'ok') problems.push(`PRAGMA integrity_check: ${JSON.stringify(integrity.slice(0, 20))}`);
    const fk = db.pragma('foreign_key_check') as unknown[];
    if (fk.length > 0) problems.push(`PRAGMA foreign_key_check: ${JSON.stringify(fk.slice(0, 20))}`);

    const users = db.prepare('select id, email, password_hash, token_version, seq from users').all() as {
      id: string;
      email: string;
      password_hash: string;
      token_version: number;
      seq: number | null;
    }[];
    const roles = db.prepare('select user_id, role from user_roles').all() as { user_id: string; role: string }[];
    const orphanRoles = db.prepare('select r.user_id, r.role from user_roles r left join users u on u.id = r.user_id where u.id is null').all();
    if (orphanRoles.length > 0) problems.push(`user_roles rows without a user: ${JSON.stringify(orphanRoles.slice(0, 20))}`);
    const orphanTokens = db.prepare('select t.id, t.user_id from refresh_tokens t left join users u on u.id = t.user_id where u.id is null').all();
    if (orphanTokens.length > 0) problems.push(`refresh_tokens rows without a user: ${JSON.stringify(orphanTokens.slice(0, 20))}`);

    // The FTS5 index is contentless, but its rowids can be listed: they must be exactly the users' seq values.
    const noSeq = users.filter((u) => u.seq === null);
    if (noSeq.length > 0) problems.push(`users without a search key (seq null): ${noSeq.map((u) => u.email).join(', ')}`);
    const indexed = (db.prepare('select rowid from users_search').all() as { rowid: number }[]).map((r) => Number(r.rowid));
    const indexCount = Number((db.prepare('select count(*) as n from users_search').get() as { n: number }).n);
    if (indexCount !== users.length) problems.push(`users_search holds ${indexCount} rows, users ${users.length}`);
    const seqs = new Set(users.flatMap((u) => (u.seq === null ? [] : [Number(u.seq)])));
    const indexedSet = new Set(indexed);
    const missing = [...seqs].filter((s) => !indexedSet.has(s));
    const stale = indexed.filter((s) => !seqs.has(s));
    if (missing.length > 0) problems.push(`users missing from users_search (seq): ${missing.slice(0, 20).join(', ')}`);
    if (stale.length > 0) problems.push(`users_search rows for no user (rowid): ${stale.slice(0, 20).join(', ')}`);

    // FTS5's own structural check writes (it is an INSERT command), so it runs on an exact copy of the database.
    const copy = join(scratchDir, `copy-${Date.now()}-${randomBytes(3).toString('hex')}.db`);
    db.prepare('vacuum into ?').run(copy);
    const scratch = new Database(copy);
    try {
      scratch.prepare("insert into users_search (users_search, rank) values ('integrity-check', 1)").run();
    } catch (err) {
      problems.push(`FTS5 integrity-check of users_search: ${(err as Error).message}`);
    } finally {
      scratch.close();
      rmSync(copy, { force: true });
    }
    notes.push(`${users.length} users, ${roles.length} role rows, ${indexCount} search rows`);
    return { users: collectUsers(users, roles), problems, notes };
  } finally {
    db.close();
  }
}

async function inspectPostgres(baseUrl: string, schema: string): Promise<Snapshot> {
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    const users = (await client.query(`select id, email, password_hash, token_version from ${schema}.users`)).rows;
    const roles = (await client.query(`select user_id, role from ${schema}.user_roles`)).rows;
    const orphanRoles = (await client.query(`select r.user_id, r.role from ${schema}.user_roles r left join ${schema}.users u on u.id = r.user_id where u.id is null`)).rows;
    if (orphanRoles.length > 0) problems.push(`user_roles rows without a user: ${JSON.stringify(orphanRoles.slice(0, 20))}`);
    const orphanTokens = (await client.query(`select t.id, t.user_id from ${schema}.refresh_tokens t left join ${schema}.users u on u.id = t.user_id where u.id is null`)).rows;
    if (orphanTokens.length > 0) problems.push(`refresh_tokens rows without a user: ${JSON.stringify(orphanTokens.slice(0, 20))}`);
    return { users: collectUsers(users, roles), problems, notes: [`${users.length} users, ${roles.length} role rows`] };
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Traffic

interface Traffic {
  server: ServerProcess;
  ledger: Tracked[];
  cycle: Cycle;
  tag: string;
  nextUser: () => number;
}

async function createOne(tr: Traffic, owner: number): Promise<void> {
  const n = tr.nextUser();
  const u: Tracked = {
    n,
    email: `crash.${tr.tag}.${n}@example.com`,
    roles: randomRoles(),
    owner,
    id: null,
    created: 'unknown',
    deleted: 'no',
    password: { value: GOOD_PASSWORD, temporary: false },
    pendingReset: null,
    resets: 0,
    provenHash: null,
    touched: true,
    history: [],
  };
  tr.ledger.push(u);
  const body = { email: u.email, password: GOOD_PASSWORD, temporary: false, roles: u.roles, firstName: 'Crash', lastName: `Writer${owner} User${n}` };
  const o = await send(tr.server, 'POST', '/users', { body });
  if (!o.answered) {
    tr.cycle.inFlightAtKill.create++;
    u.history.push(`create [${u.roles.join(',')}] in flight at the kill (${o.error})`);
    return;
  }
  if (o.status === 200 && o.body?.id) {
    u.id = o.body.id;
    u.created = 'yes';
    tr.cycle.acked.create++;
    u.history.push(`create [${u.roles.join(',')}] → 200`);
    return;
  }
  u.created = 'no'; // an error answer: the contract says nothing was stored
  u.history.push(`create → ${o.status}`);
  tr.cycle.unexpected.push(`POST /users for ${u.email} answered ${showOutcome(o)}`);
}

async function deleteOne(tr: Traffic, u: Tracked): Promise<void> {
  u.touched = true;
  u.deleted = 'unknown';
  const sentAt = Date.now();
  const answer = send(tr.server, 'DELETE', `/users/${u.id}`);
  if (tr.cycle.armed) {
    tr.cycle.armed = false;
    tr.cycle.onArmedDelete();
  }
  const o = await answer;
  if (o.answered) tr.cycle.deleteMs.push(Date.now() - sentAt);
  if (!o.answered) {
    tr.cycle.inFlightAtKill.delete++;
    u.history.push(`delete in flight at the kill (${o.error})`);
    return;
  }
  if (o.status === 200) {
    u.deleted = 'yes';
    tr.cycle.acked.delete++;
    u.history.push('delete → 200');
    return;
  }
  u.deleted = 'no';
  u.history.push(`delete → ${o.status}`);
  tr.cycle.unexpected.push(`DELETE /users/${u.id} (${u.email}) answered ${showOutcome(o)}`);
}

async function resetOne(tr: Traffic, u: Tracked): Promise<void> {
  u.touched = true;
  const next: Password = { value: `Reset-${randomBytes(5).toString('hex')}-Qz7`, temporary: true };
  u.pendingReset = next;
  u.provenHash = null;
  const o = await send(tr.server, 'POST', `/users/${u.id}/reset_password`, { body: { password: next.value } });
  if (!o.answered) {
    tr.cycle.inFlightAtKill.reset++;
    u.history.push(`reset in flight at the kill (${o.error})`);
    return;
  }
  u.pendingReset = null;
  if (o.status === 200 && o.body?.temporary === true) {
    u.password = next;
    u.resets++;
    tr.cycle.acked.reset++;
    u.history.push('reset → 200');
    return;
  }
  u.history.push(`reset → ${o.status}`);
  tr.cycle.unexpected.push(`POST /users/${u.id}/reset_password (${u.email}) answered ${showOutcome(o)}`);
}

/** One writer: creates, deletes and resets its own users, one request at a time, until the cycle stops. */
async function writer(tr: Traffic, owner: number): Promise<void> {
  while (!tr.cycle.stopped) {
    const mine = tr.ledger.filter((u) => u.owner === owner && u.created === 'yes' && u.deleted === 'no' && u.pendingReset === null);
    const roll = Math.random();
    if (mine.length < 3 || roll < 0.45) await createOne(tr, owner);
    else if (roll < 0.75) await deleteOne(tr, mine[randomInt(mine.length)]!);
    else await resetOne(tr, mine[randomInt(mine.length)]!);
  }
}

/** A deleter: deletes users of the stock, one request at a time, until the cycle stops or the stock runs out. */
async function deleter(tr: Traffic, stock: Tracked[]): Promise<void> {
  while (!tr.cycle.stopped) {
    const u = stock.pop();
    if (!u) return;
    await deleteOne(tr, u);
  }
}

/** A reader beside the writers, so the kill also lands on searches (their answers are not part of the ledger). */
async function searcher(tr: Traffic): Promise<void> {
  while (!tr.cycle.stopped) {
    const o = await send(tr.server, 'GET', `/users?search_string=${encodeURIComponent(`crash.${tr.tag}.${randomInt(1, 10)}`)}&page_size=20`);
    if (o.answered && o.status !== 200) tr.cycle.unexpected.push(`GET /users answered ${showOutcome(o)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Checks after a restart

type LoginResult = 'permanent' | 'temporary' | 'refused';

async function login(server: ServerProcess, email: string, password: string): Promise<{ result: LoginResult | null; outcome: Outcome }> {
  const o = await ask(server, 'POST', '/auth/token', { auth: null, body: { grant_type: 'password', username: email, password } });
  if (!o.answered) return { result: null, outcome: o };
  if (o.status === 200 && typeof o.body?.access_token === 'string') return { result: 'permanent', outcome: o };
  if (o.status === 400 && o.body?.error === 'invalid_grant') {
    if (o.body.error_description === 'Password change required') return { result: 'temporary', outcome: o };
    if (o.body.error_description === 'Invalid username or password') return { result: 'refused', outcome: o };
  }
  return { result: null, outcome: o };
}

const expected = (p: Password): LoginResult => (p.temporary ? 'temporary' : 'permanent');

/**
 * Resolves the ledger against the stored state after a restart and returns every violation found. Users whose fate
 * was unknown get the fate the database shows, provided it is a whole one.
 */
async function verify(server: ServerProcess, ledger: Tracked[], snapshot: Snapshot): Promise<{ problems: string[]; notes: string[] }> {
  const problems = [...snapshot.problems];
  const stored = snapshot.users;
  const tracked = new Map(ledger.map((u) => [u.email, u]));
  let resolvedApplied = 0;
  let resolvedNotApplied = 0;

  for (const [email, s] of stored) {
    if (!tracked.has(email)) problems.push(`a stored user nobody created: ${email} (id ${s.id})`);
  }

  const loginChecks: Tracked[] = [];
  const foundCreated = new Set<Tracked>();
  for (const u of ledger) {
    const s = stored.get(u.email);
    if (s && u.id !== null && s.id !== u.id) problems.push(`${describe(u)}: stored under another id ${s.id}`);

    // Existence. A user that never came to be, or is gone, must stay so for good.
    if (u.created === 'no') {
      if (s) problems.push(`${describe(u)}: its create did not take effect (an error answer, or not stored after an earlier restart), yet the user is stored now`);
      continue;
    }
    if (u.created === 'unknown') {
      if (s) {
        u.created = 'yes';
        u.id = s.id;
        foundCreated.add(u);
        resolvedApplied++;
        u.history.push('(found stored after the restart)');
      } else {
        u.created = 'no';
        resolvedNotApplied++;
        u.history.push('(not stored after the restart)');
        continue;
      }
    }
    if (u.deleted === 'yes') {
      if (s) problems.push(`${describe(u)}: deleted (acknowledged, or found gone after an earlier restart), yet stored with roles ${JSON.stringify(s.roles)}`);
      continue;
    }
    if (u.deleted === 'unknown') {
      if (s) {
        u.deleted = 'no';
        resolvedNotApplied++;
        u.history.push('(still stored after the restart)');
      } else {
        u.deleted = 'yes';
        resolvedApplied++;
        u.history.push('(gone after the restart)');
        continue;
      }
    }
    // From here on the user must exist, whole.
    if (!s) {
      problems.push(`${describe(u)}: LOST — acknowledged as existing, but not stored after the restart`);
      continue;
    }
    if (!sameSet(s.roles, u.roles)) {
      problems.push(`${describe(u)}: stored with roles ${JSON.stringify(s.roles)}, created with ${JSON.stringify(u.roles)}`);
    }
    const maxVersion = u.resets + (u.pendingReset ? 1 : 0);
    if (s.tokenVersion < u.resets || s.tokenVersion > maxVersion) {
      problems.push(`${describe(u)}: token_version ${s.tokenVersion}, expected ${u.resets}${u.pendingReset ? ` or ${maxVersion}` : ''} after ${u.resets} acknowledged reset(s)`);
    }
    if (u.provenHash !== null && s.passwordHash !== u.provenHash) {
      problems.push(`${describe(u)}: its stored password hash changed although no reset was made since its password was proven`);
    }
    if (u.provenHash === null) loginChecks.push(u);
  }

  // Passwords: every in-flight reset is resolved, every acknowledged reset proven, and so is the password of every
  // in-flight create found stored; of users whose only change was an acknowledged creation, a sample (each login
  // costs an argon2 verification on the server).
  const mustLogin = loginChecks.filter((u) => u.pendingReset !== null || u.resets > 0 || foundCreated.has(u));
  const createdOnly = loginChecks.filter((u) => !mustLogin.includes(u));
  const logins = [...mustLogin, ...sample(createdOnly, CREATED_LOGIN_SAMPLE)];
  await eachLimited(logins, 4, async (u) => {
    const s = stored.get(u.email)!;
    const pending = u.pendingReset;
    if (pending) {
      // Either the reset took effect (its password, temporary) or not (the previous one works): never neither.
      u.pendingReset = null;
      const tryNew = await login(server, u.email, pending.value);
      if (tryNew.result === expected(pending)) {
        u.password = pending;
        u.resets++;
        resolvedApplied++;
        u.history.push('(the in-flight reset is in force after the restart)');
      } else if (tryNew.result === 'refused') {
        const old = await login(server, u.email, u.password.value);
        if (old.result !== expected(u.password)) {
          problems.push(`${describe(u)}: PARTIAL — neither the in-flight reset's password nor the previous one works; the previous one answered ${showOutcome(old.outcome)}`);
          return;
        }
        resolvedNotApplied++;
        u.history.push('(the in-flight reset is not in force after the restart)');
      } else {
        problems.push(`${describe(u)}: login with the in-flight reset's password answered ${showOutcome(tryNew.outcome)}`);
        return;
      }
      if (s.tokenVersion !== u.resets) problems.push(`${describe(u)}: token_version ${s.tokenVersion} disagrees with the password in force (${u.resets} reset(s) applied)`);
    } else {
      const r = await login(server, u.email, u.password.value);
      if (r.result !== expected(u.password)) {
        const what = u.resets > 0 ? `the password of its acknowledged reset #${u.resets}` : 'its creation password';
        problems.push(`${describe(u)}: login with ${what} answered ${showOutcome(r.outcome)}, expected ${expected(u.password)}`);
        return;
      }
    }
    u.provenHash = s.passwordHash;
  });

  // Search over the API: each user of this cycle, and a sample of the rest, is found exactly once by its email
  // (on SQLite by way of the FTS5 index), with its roles; a user that is gone is not found at all.
  const searchable = ledger.filter((u) => u.created === 'yes');
  const touched = searchable.filter((u) => u.touched);
  const searches = [
    ...touched.filter((u) => u.deleted !== 'yes'),
    ...sample(touched.filter((u) => u.deleted === 'yes'), SEARCH_SAMPLE),
    ...sample(searchable.filter((u) => !u.touched), SEARCH_SAMPLE),
  ];
  await eachLimited(searches, 8, async (u) => {
    const o = await ask(server, 'GET', `/users?search_string=${encodeURIComponent(u.email)}&page_size=5`);
    if (!o.answered || o.status !== 200 || !Array.isArray(o.body)) {
      problems.push(`${describe(u)}: search answered ${showOutcome(o)}`);
      return;
    }
    const found = o.body as { id: string; email: string; roles: { name: string }[] }[];
    if (u.deleted === 'yes') {
      if (found.length > 0) problems.push(`${describe(u)}: deleted, but search by its email finds ${JSON.stringify(found)}`);
      return;
    }
    if (found.length !== 1 || found[0]!.id !== u.id || found[0]!.email !== u.email) {
      problems.push(`${describe(u)}: search by its email should find exactly this user, found ${JSON.stringify(found)}`);
      return;
    }
    const roles = found[0]!.roles.map((r) => r.name);
    if (!sameSet(roles, u.roles)) problems.push(`${describe(u)}: search shows roles ${JSON.stringify(roles)}, created with ${JSON.stringify(u.roles)}`);
  });

  for (const u of ledger) u.touched = false;
  const notes = [
    ...snapshot.notes,
    `in-flight writes resolved: ${resolvedApplied} applied, ${resolvedNotApplied} not applied`,
    `${logins.length} logins and ${searches.length} searches checked`,
  ];
  return { problems, notes };
}

// ---------------------------------------------------------------------------------------------------------------
// The suite, per dialect

interface Target {
  env: Record<string, string>;
  inspect(): Promise<Snapshot>;
}

async function crashCycles(t: TestContext, target: Target, cleanup: () => unknown): Promise<void> {
  const env = {
    ...target.env,
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
    GATEHOUSE_AUTH_RATE_LIMIT: '0',
    // The checks log in with wrong passwords at most once per user per cycle; a lockout must not blur the picture.
    GATEHOUSE_LOCKOUT_THRESHOLD: '1000',
    GATEHOUSE_LOG_LEVEL: 'warn',
  };
  const newest: { server?: ServerProcess } = {};
  // Registered first, so it runs first: the newest server stops before the database it uses goes away.
  t.after(async () => {
    try {
      await newest.server?.stop();
    } finally {
      await cleanup();
    }
  });
  const startedAt = Date.now();
  let current = (await startServers(t, [env], { names: ['crash'] }))[0]!;
  newest.server = current;
  t.diagnostic(`server ready in ${Date.now() - startedAt} ms on port ${current.port}`);

  const ledger: Tracked[] = [];
  let counter = 0;
  const tag = randomBytes(3).toString('hex');

  // The stock, loaded the way `npm run seed` loads users (rows and indexes as the repositories write them), with a
  // real argon2id hash of the password, and ledgered as acknowledged creates: the first check proves them stored.
  const seedAt = Date.now();
  const passwordHash = await createArgon2Hasher().hash(GOOD_PASSWORD);
  const stock: Tracked[] = [];
  const loader = bulkTarget(target.env.DATABASE_URL!);
  try {
    await loader.load(
      STOCK,
      (i) => {
        const createdAt = seedAt - STOCK + i;
        const u: Tracked = {
          n: ++counter,
          email: `crash.${tag}.${counter}@example.com`,
          roles: randomRoles(),
          owner: -1,
          id: uuidv7(createdAt),
          created: 'yes',
          deleted: 'no',
          password: { value: GOOD_PASSWORD, temporary: false },
          pendingReset: null,
          resets: 0,
          provenHash: null,
          touched: false, // checked in the database like every user; by search and login, a sample each cycle
          history: ['loaded into the database before the first cycle'],
        };
        ledger.push(u);
        stock.push(u);
        return { id: u.id!, email: u.email, firstName: 'Stock', lastName: `User${u.n}`, passwordHash, roles: u.roles, createdAt };
      },
      () => {},
    );
  } finally {
    await loader.close();
  }
  t.diagnostic(`${STOCK} users loaded for the deleters in ${Date.now() - seedAt} ms`);

  // A kill that happens to land between requests proves nothing about in-flight writes; on a busy machine that can
  // happen, so such a kill is still checked but not counted, and the cycle runs again (a bounded number of times).
  let counted = 0;
  for (let kill = 1; counted < KILLS; kill++) {
    assert.ok(kill <= KILLS * 3, `${KILLS} kills should have caught a write in flight within ${KILLS * 3} attempts`);
    // Odd kills land at a random moment (mostly on creates and resets waiting for their argon2 hash, whose writes
    // come last); even ones a random fraction of a delete's usual round trip after a delete leaves the client, to
    // land before, in or right after its transaction (deletes hash no password: their write is all they do).
    const onDelete = kill % 2 === 0;
    let fire!: () => void;
    const fired = new Promise<void>((resolve) => (fire = resolve));
    const cycle: Cycle = {
      stopped: false,
      armed: false,
      onArmedDelete: () => {
        cycle.killDelayMs = randomInt(0, Math.max(2, Math.round(1.5 * median(cycle.deleteMs))));
        setTimeout(fire, cycle.killDelayMs);
      },
      killDelayMs: null,
      deleteMs: [],
      acked: { create: 0, delete: 0, reset: 0 },
      inFlightAtKill: { create: 0, delete: 0, reset: 0 },
      unexpected: [],
    };
    const traffic: Traffic = { server: current, ledger, cycle, tag, nextUser: () => ++counter };
    const workers = [
      ...Array.from({ length: WRITERS }, (_, i) => writer(traffic, i)),
      ...Array.from({ length: DELETERS }, () => deleter(traffic, stock)),
      searcher(traffic),
    ];
    // The random moment of the kill is the point of the test: it lands on whatever is in flight.
    const trafficMs = randomInt(TRAFFIC_MS[0], TRAFFIC_MS[1]);
    await new Promise((r) => setTimeout(r, trafficMs));
    if (onDelete) {
      cycle.armed = true;
      const fallback = setTimeout(fire, 2_000); // should no delete come (it always does: writers keep a stock)
      await fired;
      clearTimeout(fallback);
    }
    cycle.stopped = true;
    const killed = current;
    await killed.kill();
    await Promise.all(workers);
    const inFlight = cycle.inFlightAtKill.create + cycle.inFlightAtKill.delete + cycle.inFlightAtKill.reset;

    const restartAt = Date.now();
    current = await restartServer(t, killed);
    newest.server = current;
    const restartMs = Date.now() - restartAt;
    const checkAt = Date.now();
    const snapshot = await target.inspect();
    const { problems, notes } = await verify(current, ledger, snapshot);
    t.diagnostic(
      `kill ${kill} (${counted + (inFlight > 0 ? 1 : 0)}/${KILLS} that caught a write) ${onDelete ? `${cycle.killDelayMs} ms after a delete was sent` : 'at a random moment'} after ${trafficMs} ms of traffic ` +
        `(deletes answered in ${median(cycle.deleteMs)} ms, median): acknowledged ${JSON.stringify(cycle.acked)}, ` +
        `in flight at the kill ${JSON.stringify(cycle.inFlightAtKill)}; restart ${restartMs} ms, checks ${Date.now() - checkAt} ms; ${notes.join('; ')}`,
    );

    assert.deepEqual(problems, [], `after kill ${kill}: the restarted server's data breaks the ledger\n${current.logTail(20)}\n--- killed server ---\n${killed.logTail(20)}`);
    assert.deepEqual(cycle.unexpected, [], `kill ${kill}: requests answered with an error during traffic\n${killed.logTail(20)}`);
    assert.ok(cycle.acked.create > 0, `kill ${kill}: some creates were acknowledged before the kill`);
    if (inFlight > 0) counted += 1;
    assert.doesNotMatch(killed.stdout() + killed.stderr(), /"level":(50|60)/, `kill ${kill}: the server logged no error before the kill:\n${killed.logTail(20)}`);
  }
  assert.doesNotMatch(current.stdout() + current.stderr(), /"level":(50|60)/, `the last restarted server logged no error:\n${current.logTail(20)}`);
}

// The two dialects run side by side: each spends most of its time restarting its server.
test(`${KILLS} SIGKILLs mid-traffic, each followed by a restart, lose no acknowledged write and leave no partial one`, { concurrency: 2, timeout: 180_000 }, async (t) => {
  await Promise.all([
    t.test('on SQLite', async (st) => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-crash-'));
      const path = join(dir, 'gatehouse.db');
      st.diagnostic(`database ${path}`);
      await crashCycles(st, { env: { DATABASE_URL: `sqlite:${path}` }, inspect: async () => inspectSqlite(path, dir) }, () => rmSync(dir, { recursive: true, force: true }));
    }),
    t.test('on PostgreSQL (a fresh schema)', { skip: pgSkip }, async (st) => {
      const schema = await freshSchema();
      const base = (await postgresUrl())!;
      st.diagnostic(`schema ${schema.name}`);
      await crashCycles(
        st,
        { env: { DATABASE_URL: schema.url, GATEHOUSE_DB_POOL_SIZE: '5' }, inspect: () => inspectPostgres(base, schema.name) },
        () => schema.drop(),
      );
    }),
  ]);
});
