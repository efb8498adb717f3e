/**
 * The fuzz suites' invariants, checked on every generated request (CONTRACT.md §1, §1.1, §1.2 and the README's
 * "Choices where the contract is silent"):
 *
 * - never a 5xx, never a crash (an exception out of app.inject);
 * - every error body is JSON of the documented shape: `{"detail": str}`; 422 `{"detail": [{type, loc, msg, input}]}`
 *   with loc starting body|query|path; RFC 6749 `{"error", "error_description"}` for 400s of /auth/token,
 *   /auth/password and /auth/logout; 429 `{"detail", "error"}` with Retry-After; the permission check's 403
 *   `{"detail", "allowed": false, "action", "resource"}`; every 401 carries `WWW-Authenticate: Bearer`;
 * - on a protected route that the URL surely reaches, checks run in the contract's order: the Authorization header /
 *   ACCESS_TOKEN cookie decide 401 and the route's roles 403 before anything about the body or query is looked at;
 * - a body of another content type than JSON is 415 (form-encoding is also accepted by the three /auth/ routes);
 *   a JSON body over 64 KiB is 413;
 * - a rejected request (any 4xx) changes nothing: every table, rows sorted, is the same before and after.
 *
 * Each suite prints how many requests it executed (a test diagnostic, `# fuzz: ...`). FUZZ_SURVEY=1 records every
 * kind of violation instead of stopping at the first (see SURVEY below).
 */
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { ADMIN_KEY, type TestApp } from '../helpers/app.ts';
import type { BodyClassName } from './arbitraries.ts';
import { expectedAuth, type AuthOutcome, type Fixture } from './fixture.ts';

export type RouteName =
  | 'users.create' | 'users.delete' | 'users.reset' | 'users.search' | 'users.check' | 'users.me'
  | 'keys.create' | 'keys.list' | 'keys.get' | 'keys.deactivate'
  | 'auth.token' | 'auth.password' | 'auth.logout'
  | 'public' | 'docs' | 'metrics' | 'unknown';

/** Who may call each protected route (CONTRACT.md §2-§4); 'reset' = ORG-ADMIN, or a user for their own id. */
const ADMIN_ONLY = ['ORG-ADMIN'];
const READERS = ['ORG-ADMIN', 'ORG-AUDITOR'];
const ACCESS: Partial<Record<RouteName, string[] | 'any' | 'reset'>> = {
  'users.create': ADMIN_ONLY, 'users.delete': ADMIN_ONLY, 'users.reset': 'reset', 'users.search': READERS, 'users.check': 'any',
  'users.me': 'any', 'keys.create': ADMIN_ONLY, 'keys.list': READERS, 'keys.get': READERS, 'keys.deactivate': ADMIN_ONLY,
};
const LOGIN_ROUTES: RouteName[] = ['auth.token', 'auth.password', 'auth.logout'];
/** Routes whose 2xx may end a fixture credential or id, so the fixture is checked before the next request. */
const ENDS_FIXTURES: RouteName[] = ['users.delete', 'users.reset', 'keys.deactivate', 'auth.password', 'auth.logout'];

export interface FuzzRequest {
  method: string;
  url: string;
  route: RouteName;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** The content type's class (when there is a payload): decides 415. */
  bodyClass?: BodyClassName;
  /** True when the URL surely reaches `route` (not a router-level 400/404/414). */
  routed: boolean;
  /** The decoded path id, for reset_password's "your own password" rule. */
  targetId?: string | undefined;
}

export const BODY_LIMIT = 64 * 1024;
const OAUTH_ERRORS = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'];
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const keysAre = (v: Record<string, unknown>, keys: string[]) => Object.keys(v).sort().join() === [...keys].sort().join();

/** The response's violations of the invariants above (not the state one), as sentences. */
export function checkResponse(req: FuzzRequest, res: LightMyRequestResponse, auth: AuthOutcome | undefined): string[] {
  const problems: string[] = [];
  const status = res.statusCode;
  if (status >= 500) problems.push(`status ${status} (never a 5xx)`);
  if (status >= 300 && status < 400 && req.route !== 'docs') problems.push(`unexpected redirect ${status}`);
  if (req.method === 'HEAD') return problems;
  let body: unknown;
  const textual = (req.route === 'metrics' || req.route === 'docs') && status < 300;
  if (!textual && !(status >= 300 && status < 400)) {
    try {
      body = JSON.parse(res.body);
    } catch {
      problems.push('body is not JSON');
      return problems;
    }
    if (status >= 400 && !String(res.headers['content-type'] ?? '').startsWith('application/json')) {
      problems.push(`error content-type is ${String(res.headers['content-type'])}`);
    }
  }
  if (status >= 400 && status < 500) problems.push(...errorShape(req, status, body, res));

  // Order of checks (CONTRACT.md §1): authenticate, then authorize, before validation and handling.
  const access = ACCESS[req.route];
  if (access && auth && req.routed) {
    const expect = expectedStatus(req, access, auth);
    const detail = isObject(body) ? body.detail : undefined;
    if (expect && (status !== expect.status || detail !== expect.detail)) {
      problems.push(`expected ${expect.status} ${JSON.stringify(expect.detail)} from the credential (${describeAuth(auth)}), got ${status}`);
    }
    if (!expect && status === 401) problems.push(`a valid credential (${describeAuth(auth)}) was refused with 401`);
    if (!expect && status === 403 && req.route !== 'users.check') problems.push(`an authorized caller (${describeAuth(auth)}) got 403`);
  }
  // Content types (README): JSON only, 415 otherwise; form-encoding too on the /auth/ routes; bodies over 64 KiB 413.
  // The login routes' rate limit runs first of all (onRequest), so a 429 there pre-empts the body checks below.
  const authPassed = (!access || (auth?.kind === 'ok' && !expectedStatus(req, access, auth))) && !(status === 429 && LOGIN_ROUTES.includes(req.route));
  const size = req.payload === undefined ? 0 : Buffer.byteLength(req.payload);
  if (req.routed && authPassed && size > 0 && (req.method === 'POST' || req.method === 'DELETE')) {
    const cls = req.bodyClass === 'form' ? (LOGIN_ROUTES.includes(req.route) ? 'json' : 'other') : req.bodyClass;
    if (cls === 'other') {
      const want = req.route === 'auth.token' ? 400 : 415;
      const what = req.headers['content-type'] === undefined ? 'body without content type' : `body of type ${JSON.stringify(req.headers['content-type'])}`;
      if (status !== want && !(status === 413 && size > BODY_LIMIT)) problems.push(`a ${what} got ${status}, not ${want}`);
    }
    if (cls === 'json' && size > BODY_LIMIT && status !== 413) problems.push(`a ${size}-byte body got ${status}, not 413`);
  }
  return problems;
}

function expectedStatus(req: FuzzRequest, access: string[] | 'any' | 'reset', auth: AuthOutcome): { status: number; detail: string } | undefined {
  if (auth.kind === 'missing') return { status: 401, detail: 'Requires authentication' };
  if (auth.kind === 'bad') return { status: 401, detail: 'Bad credentials' };
  const { principal } = auth;
  if (access === 'any') return undefined;
  if (access === 'reset') {
    const own = principal.kind === 'user' && principal.id === req.targetId;
    return own || principal.roles.includes('ORG-ADMIN') ? undefined : { status: 403, detail: "You can't reset password for this user." };
  }
  return access.some((r) => principal.roles.includes(r)) ? undefined : { status: 403, detail: 'Forbidden' };
}

const describeAuth = (a: AuthOutcome) => (a.kind === 'ok' ? `${a.principal.kind} ${a.principal.roles.join('+')}` : a.kind);

function errorShape(req: FuzzRequest, status: number, body: unknown, res: LightMyRequestResponse): string[] {
  const problems: string[] = [];
  const bad = (what: string) => problems.push(`${status} body is not ${what}`);
  if (status === 422) {
    if (!isObject(body) || !keysAre(body, ['detail']) || !Array.isArray(body.detail) || body.detail.length === 0) return [`422 body is not {"detail": [problems]}`];
    for (const p of body.detail as unknown[]) {
      const ok = isObject(p) && typeof p.type === 'string' && typeof p.msg === 'string' && 'input' in p &&
        Object.keys(p).every((k) => ['type', 'loc', 'msg', 'input', 'ctx'].includes(k)) &&
        Array.isArray(p.loc) && ['body', 'query', 'path'].includes(p.loc[0] as string) &&
        p.loc.every((s: unknown) => typeof s === 'string' || Number.isInteger(s));
      if (!ok) bad(`FastAPI-shaped: ${JSON.stringify(p).slice(0, 200)}`);
    }
    return problems;
  }
  if (status === 401 && LOGIN_ROUTES.includes(req.route)) {
    // RFC 6749 §5.2: a client that failed to authenticate gets invalid_client and a Basic challenge.
    const www = String(res.headers['www-authenticate'] ?? '');
    if (!/^Basic\b/.test(www)) problems.push(`401 invalid_client without WWW-Authenticate: Basic (got ${JSON.stringify(www)})`);
    if (!isObject(body) || !keysAre(body, ['error', 'error_description']) || body.error !== 'invalid_client') bad('{"error": "invalid_client", "error_description"}');
    return problems;
  }
  if (status === 401) {
    const www = String(res.headers['www-authenticate'] ?? '');
    if (!/^Bearer\b/.test(www)) problems.push(`401 without WWW-Authenticate: Bearer (got ${JSON.stringify(www)})`);
    if (isObject(body) && body.detail === 'Bad credentials' && !www.includes('error="invalid_token"')) problems.push('401 Bad credentials without error="invalid_token"');
  }
  if (status === 429) {
    if (!isObject(body) || !keysAre(body, ['detail', 'error']) || typeof body.detail !== 'string' || typeof body.error !== 'string') bad('{"detail", "error"}');
    if (!/^[1-9]\d*$/.test(String(res.headers['retry-after'] ?? ''))) problems.push('429 without a Retry-After in seconds');
    return problems;
  }
  if (status === 400 && LOGIN_ROUTES.includes(req.route)) {
    if (!isObject(body) || !keysAre(body, ['error', 'error_description']) || !OAUTH_ERRORS.includes(body.error as string) || typeof body.error_description !== 'string') {
      bad('RFC 6749 {"error", "error_description"}');
    }
    return problems;
  }
  if (status === 403 && req.route === 'users.check' && isObject(body) && 'allowed' in body) {
    if (!keysAre(body, ['detail', 'allowed', 'action', 'resource']) || body.detail !== 'Forbidden' || body.allowed !== false ||
      typeof body.action !== 'string' || typeof body.resource !== 'string') bad('{"detail": "Forbidden", "allowed": false, "action", "resource"}');
    return problems;
  }
  if (!isObject(body) || !keysAre(body, ['detail']) || typeof body.detail !== 'string' || body.detail === '') bad('{"detail": str}');
  return problems;
}

// ---- Database snapshots ------------------------------------------------------------------------------------

type Snapshot = Map<string, string[]>;

async function tableNames(t: TestApp): Promise<string[]> {
  const { db, dialect, schema } = t.database;
  if (dialect === 'sqlite') {
    // users_search is the FTS5 index itself; its shadow tables (users_search_*) and the vocabulary view follow it.
    const { rows } = await sql<{ name: string }>`select name from sqlite_master where type = 'table'
      and name not like 'sqlite_%' and name not like 'users_search_%'`.execute(db);
    return rows.map((r) => r.name).sort();
  }
  const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.tables
    where table_schema = ${schema ?? 'public'} and table_type = 'BASE TABLE'`.execute(db);
  return rows.map((r) => r.name).sort();
}

/**
 * Bookkeeping that authenticating a credential writes (at most once a minute, before the route decides), not a
 * change the request made: left out of the comparison.
 */
export const USE_STAMPS = new Set(['last_used_at', 'client_ip', 'user_agent']);
export const withoutUseStamps = (row: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(row).filter(([k]) => !USE_STAMPS.has(k))));

async function snapshot(t: TestApp, tables: string[]): Promise<Snapshot> {
  const read = async (table: string) => {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(t.database.db);
    return [table, rows.map(withoutUseStamps).sort()] as const;
  };
  return new Map(await Promise.all(tables.map(read)));
}

function changedTables(before: Snapshot, after: Snapshot, ignore: string[]): string[] {
  const changed: string[] = [];
  for (const [table, rows] of after) {
    if (ignore.includes(table)) continue;
    const old = before.get(table) ?? [];
    if (old.length !== rows.length || old.some((r, i) => r !== rows[i])) {
      const added = rows.filter((r) => !old.includes(r)).slice(0, 2);
      const removed = old.filter((r) => !rows.includes(r)).slice(0, 2);
      changed.push(`${table} (+${JSON.stringify(added).slice(0, 300)} -${JSON.stringify(removed).slice(0, 300)})`);
    }
  }
  return changed;
}

// ---- The fuzzer ----------------------------------------------------------------------------------------------

const PRUNE_EVERY = 400;

export class Fuzzer {
  count = 0;
  private tables: string[] = [];
  private before: Snapshot | undefined;
  private prunedAt = 0;
  private failed = false;
  private readonly violations = new Map<string, { count: number; example: string }>();

  constructor(
    readonly t: TestApp,
    readonly fx: Fixture,
  ) {}

  /** Sends one generated request and throws (with the request, the response and every violation) if any invariant breaks. */
  async send(req: FuzzRequest, extra?: (res: LightMyRequestResponse, body: unknown, auth: AuthOutcome | undefined) => string[]): Promise<LightMyRequestResponse | undefined> {
    if (this.tables.length === 0) this.tables = await tableNames(this.t);
    const pruneNow = this.count - this.prunedAt >= PRUNE_EVERY;
    if (this.fx.dirty || pruneNow) {
      if (pruneNow) {
        await this.fx.prune();
        this.prunedAt = this.count;
      }
      await this.fx.repair();
      this.before = undefined;
    }
    this.before ??= await snapshot(this.t, this.tables);
    const auth = ACCESS[req.route] ? expectedAuth(req.headers, this.fx) : undefined;
    let res: LightMyRequestResponse;
    try {
      res = await this.t.app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, ...(req.payload !== undefined ? { payload: req.payload } : {}) });
    } catch (err) {
      this.count += 1;
      this.before = undefined;
      // test/helpers/app.ts wraps inject with a leak check: no error body may contain a secret of its request.
      const leak = (err as { code?: string }).code === 'ERR_ASSERTION';
      this.violation(req, [leak ? `leak check of test/helpers/app.ts: ${String((err as Error).message).slice(0, 400)}` : `app.inject threw (a crash): ${String(err)}`], undefined);
      return undefined;
    }
    this.count += 1;
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      body = undefined;
    }
    const problems = [...checkResponse(req, res, auth), ...(extra?.(res, body, auth) ?? [])];
    if (res.statusCode === 429 && (this.t.config.authRateLimitPerMinute === 0 || !LOGIN_ROUTES.includes(req.route))) {
      problems.push('429 where no rate limit applies');
    }
    const after = await snapshot(this.t, this.tables);
    if (res.statusCode >= 400 && res.statusCode < 500) {
      // /auth/token and /auth/password count failed logins per account in login_failures: that write on a 400 is the
      // lockout counter working (CONTRACT.md §4 "repeated failures lock the account"), the one write a rejected
      // request must make. Every other table, and every table for every other route, must stay as it was.
      // The same routes record each refused sign-in (and a refresh-token reuse) in the audit trail: new events, all
      // failures but a lock, and the chain's head moving with them. A success event on a 4xx would describe a change that
      // did not happen.
      const login = req.route === 'auth.token' || req.route === 'auth.password';
      const ignore = login ? ['login_failures', 'audit_events', 'audit_head'] : [];
      const changed = changedTables(this.before, after, ignore);
      if (login) {
        const old = this.before?.get('audit_events') ?? [];
        const added = (after.get('audit_events') ?? []).filter((r) => !old.includes(r));
        // The lock a failure sets is a change that did happen: `user.locked` is the one success event allowed.
        const notFailures = added.filter((r) => {
          const e = JSON.parse(r) as { outcome: string; action: string };
          return e.outcome !== 'failure' && e.action !== 'user.locked';
        });
        if (notFailures.length > 0) changed.push(`audit_events gained success events on a rejected request: ${notFailures.join(' ').slice(0, 300)}`);
      }
      if (changed.length > 0) problems.push(`rejected with ${res.statusCode} but changed: ${changed.join('; ')}`);
    }
    this.before = after;
    if (res.statusCode < 300 && ENDS_FIXTURES.includes(req.route)) this.fx.dirty = true;
    if (problems.length > 0) this.violation(req, problems, res);
    return res;
  }

  private violation(req: FuzzRequest, problems: string[], res: LightMyRequestResponse | undefined): void {
    const report = `${problems.join('\n')}\n${describe(req)}\nresponse: ${res ? `${res.statusCode} ${clip(res.body, 600)}` : '(none)'}`;
    if (!SURVEY) {
      this.failed = true;
      throw new Error(report);
    }
    for (const p of problems) {
      const key = `${req.method} ${req.route} ${res?.statusCode ?? '-'}: ${p.slice(0, 90)} | ${res?.body.slice(0, 50) ?? ''}`.replace(/\d+/g, 'N');
      const seen = this.violations.get(key);
      if (seen) seen.count += 1;
      else this.violations.set(key, { count: 1, example: report });
    }
  }

  /** Takes over the count and violations of another fuzzer (a second app in the same suite). */
  absorb(other: Fuzzer): void {
    this.count += other.count;
    for (const [key, v] of other.violations) this.violations.set(key, v);
    this.failed ||= other.failed;
  }

  /** The last test of each suite: prints the request count (and in survey mode every kind of violation seen). */
  report(ctx: { diagnostic(message: string): void }, file: string, expected: number): void {
    ctx.diagnostic(`fuzz: ${file} executed ${this.count} generated requests on ${this.t.database.dialect}`);
    for (const [key, { count, example }] of this.violations) ctx.diagnostic(`VIOLATION x${count}: ${key}\n${example}`);
    assert.equal(this.violations.size, 0, `${this.violations.size} kinds of violation (see the diagnostics)`);
    // A property that failed stopped early: its failure is the report, not the shortfall.
    if (!this.failed) assert.ok(this.count >= expected, `only ${this.count} requests executed, expected ${expected}`);
  }
}

/**
 * FUZZ_SURVEY=1: instead of stopping at the first violation (and shrinking it), record every kind of violation with
 * one example and fail at the end of the suite — to see all findings of a run at once. Nothing is loosened.
 */
const SURVEY = process.env.FUZZ_SURVEY === '1';

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

function describe(req: FuzzRequest): string {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, clip(v.replaceAll(ADMIN_KEY, '<ADMIN_KEY>'), 120)]));
  const bytes = req.payload === undefined ? undefined : Buffer.from(req.payload);
  const text = bytes?.toString('utf8');
  // Valid UTF-8 is shown as a JSON string (readable, exact); anything else as hex.
  const payload = bytes === undefined ? '(none)' : Buffer.from(text!, 'utf8').equals(bytes) ? clip(JSON.stringify(text), 400) : `bytes ${clip(bytes.toString('hex'), 300)}`;
  return `request: ${req.method} ${clip(req.url, 300)}\nheaders: ${JSON.stringify(headers)}\npayload: ${payload}`;
}
