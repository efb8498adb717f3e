import assert from 'node:assert/strict';
import { after } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Clock } from '../../src/domain/ports.ts';
import { createArgon2Hasher } from '../../src/security/argon2-hasher.ts';
import { openPostgres, openSqlite, type Database } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { freshSchema } from './postgres.ts';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdefghijklmnop';
export const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };

/** Real argon2id with small parameters: the same code path as production, fast enough for hundreds of users. */
export const testHasher = createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });

/** The keys of a UserResponse: the seed's five, then the lifecycle additions the seed's clients ignore. */
export const USER_RESPONSE_KEYS = ['created_at', 'email', 'enabled', 'first_name', 'groups', 'id', 'last_name', 'locked_until', 'roles', 'updated_at'];

/** A password that passes the policy. */
export const GOOD_PASSWORD = 'Vivid-Harbor-42-Lantern';

export interface TestApp {
  app: FastifyInstance;
  database: Database;
  config: Readonly<Config>;
  /** Log lines the app wrote, for secret scans. */
  logs: string[];
}

/** Which dialect the HTTP suites run on: `npm test` runs them once on each (GATEHOUSE_TEST_DIALECT). */
export const TEST_DIALECT = process.env.GATEHOUSE_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';

/**
 * A fresh, migrated database of the dialect under test — in-memory SQLite, or a new PostgreSQL schema — removed
 * after the calling test file.
 */
export async function testDatabase(): Promise<Database> {
  if (TEST_DIALECT === 'sqlite') {
    const database = openSqlite(':memory:');
    await migrateToLatest(database.db);
    return database;
  }
  const schema = await freshSchema();
  const database = openPostgres(schema.url, { poolSize: 5 });
  await migrateToLatest(database.db, database.dialect, database.schema);
  const close = database.close;
  let closed: Promise<void> | undefined;
  database.close = () => (closed ??= close().then(() => schema.drop()));
  return database;
}

/** A fresh app on its own fresh database, closed after the calling test file. */
export async function testApp(env: Record<string, string> = {}, opts: { clock?: Clock } = {}): Promise<TestApp> {
  const database = await testDatabase();
  const config = loadConfig({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'info', ...env });
  const logs: string[] = [];
  const logStream = { write: (line: string) => void logs.push(line) } as unknown as NodeJS.WritableStream;
  const app = await buildApp(config, { database, hasher: testHasher, logStream, ...(opts.clock ? { clock: opts.clock } : {}) });
  const { secrets, kept } = watchSecrets(app);
  after(async () => {
    await app.close();
    // The audit trail is checked like the log: no secret that went in or came out may be in any event.
    const trail = await database.db.selectFrom('audit_events' as never).selectAll().execute();
    await database.close();
    // Audit lines name ids (users, keys, clients) that a fuzzer may also have put into a refused request's secret
    // fields: like the trail they are checked against the secrets that were handed out or accepted.
    const auditLine = (line: string) => line.includes('"audit":{');
    assertNoSecretLogged(logs.filter((l) => !auditLine(l)), secrets);
    assertNoSecretLogged([...logs.filter(auditLine), ...trail.map((e) => JSON.stringify(e))], kept);
  });
  return { app, database, config, logs };
}

const SECRET_FIELD = /password|secret|token|^key$/i;
// Fields whose names mention a secret but whose values are names of things (`token_endpoint_auth_method:
// client_secret_basic`, `token_type: bearer`): recorded in the audit trail, and no secret.
const NAMING_FIELD = /_(method|type|types|endpoint|hint)$/i;

function collectSecrets(value: unknown, into: Set<string>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 10) return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string' && SECRET_FIELD.test(k) && !NAMING_FIELD.test(k) && v.length >= 8) into.add(v);
    else collectSecrets(v, into, depth + 1);
  }
}

function collectPasswords(value: unknown, into: Set<string>): void {
  if (value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (typeof v === 'string' && /password/i.test(k) && v.length >= 8) into.add(v);
}

function parsePayload(payload: unknown): unknown {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
  const text = payload.toString();
  try {
    return JSON.parse(text);
  } catch {
    return Object.fromEntries(new URLSearchParams(text));
  }
}

/**
 * Every HTTP test doubles as a leak test: the secrets that go in (passwords, bearer credentials, refresh tokens)
 * and come out (minted keys, issued tokens) of each `inject` are remembered; no error response may contain one of
 * the request's secrets, and no log line may contain any of them, nor any audit event one that was handed out or
 * accepted (checked when the app closes).
 */
function watchSecrets(app: FastifyInstance): { secrets: Set<string>; kept: Set<string> } {
  const secrets = new Set<string>([ADMIN_KEY, GOOD_PASSWORD]);
  // For the audit trail: secrets Gatehouse handed out or accepted. A refused request's "secret" fields may hold
  // anything a fuzzer picked (a redirect URI, an email) that the trail records for its own reasons.
  const kept = new Set<string>([ADMIN_KEY, GOOD_PASSWORD]);
  const inject = app.inject.bind(app) as (opts: any) => Promise<LightMyRequestResponse>;
  (app as any).inject = async (opts: any) => {
    if (opts === undefined || typeof opts !== 'object') return (inject as any)(opts);
    const mine = new Set<string>();
    const auth = opts.headers?.authorization;
    if (typeof auth === 'string') {
      const credential = auth.trim().split(/\s+/)[1];
      if (credential && credential.length >= 8) mine.add(credential);
    }
    collectSecrets(parsePayload(opts.payload ?? opts.body), mine);
    const res = await inject(opts);
    if (res.statusCode >= 400) {
      for (const secret of mine) assert.ok(!res.body.includes(secret), `a ${res.statusCode} body echoes a secret of its request: ${res.body.slice(0, 300)}`);
    }
    try {
      collectSecrets(JSON.parse(res.body), secrets);
      collectSecrets(JSON.parse(res.body), kept);
    } catch {
      // not JSON
    }
    for (const secret of mine) secrets.add(secret);
    // Passwords Gatehouse accepted; tokens and keys it accepted are ones it handed out (already kept), or
    // anything at all where any value is answered 200 (RFC 7009 revocation, RFC 7662 introspection).
    if (res.statusCode < 300) collectPasswords(parsePayload(opts.payload ?? opts.body), kept);
    return res;
  };
  return { secrets, kept };
}

function assertNoSecretLogged(logs: string[], secrets: Set<string>): void {
  for (const line of logs) {
    assert.doesNotMatch(line, /\$argon2id\$/, 'a password hash was logged');
    for (const secret of secrets) assert.ok(!line.includes(secret), `a secret was logged: ${line.slice(0, 300)}`);
  }
}

export function json<T = any>(res: LightMyRequestResponse): T {
  return JSON.parse(res.body) as T;
}

let counter = 0;
/** A unique, valid create-user body; override any field. */
export function newUserBody(overrides: Record<string, unknown> = {}) {
  counter += 1;
  return {
    email: `user${counter}.${Date.now()}@example.com`,
    password: GOOD_PASSWORD,
    temporary: false,
    roles: ['CHAT-USER'],
    firstName: `First${counter}`,
    lastName: `Last${counter}`,
    ...overrides,
  };
}

export async function createUser(app: FastifyInstance, overrides: Record<string, unknown> = {}) {
  const res = await app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: newUserBody(overrides) });
  if (res.statusCode !== 200) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
  return json<{ id: string; email: string; first_name: string; last_name: string; roles: { name: string }[] }>(res);
}

/** Mints an API key with the given roles through the API and returns its secret. */
export async function mintKey(app: FastifyInstance, roles: string[]): Promise<{ id: string; key: string; auth: Record<string, string> }> {
  const res = await app.inject({ method: 'POST', url: '/auth/api_keys', headers: ADMIN, payload: { roles } });
  if (res.statusCode !== 200) throw new Error(`mint failed: ${res.statusCode} ${res.body}`);
  const body = json<{ id: string; key: string }>(res);
  return { id: body.id, key: body.key, auth: { authorization: `Bearer ${body.key}` } };
}
