/**
 * The fuzz suites' cast: credentials of every kind and a few ids to aim at, plus generators that pick among them.
 * A generated request names a credential or an id ("the low-privilege key", "the token user"); the name is resolved
 * when the request is sent, so a fixture that a fuzzed request deleted or deactivated is replaced transparently
 * (`repair`) and the auth oracle always knows which credentials are live.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { ADMIN, ADMIN_KEY, json, type TestApp } from '../helpers/app.ts';
import { Huge, pct } from './arbitraries.ts';

export type CredName =
  | 'admin' | 'orgAdminKey' | 'auditorKey' | 'lowKey' | 'userToken' | 'deactivatedKey' | 'unknownKey' | 'forgedJwt' | 'tamperedToken';
export type IdName = 'tokenUser' | 'victimUser' | 'orgAdminKey' | 'auditorKey' | 'lowKey' | 'deactivatedKey' | 'victimKey';

export interface Principal {
  kind: 'admin_key' | 'api_key' | 'user';
  id: string;
  roles: string[];
}

type KeyName = 'orgAdminKey' | 'auditorKey' | 'lowKey' | 'deactivatedKey' | 'victimKey';
const KEY_ROLES: Record<KeyName, string[]> = {
  orgAdminKey: ['ORG-ADMIN'],
  auditorKey: ['ORG-AUDITOR'],
  lowKey: ['VALIDATION-USER'],
  deactivatedKey: ['ORG-ADMIN'],
  victimKey: ['CHAT-USER'],
};
export const FIXTURE_PASSWORD = 'Steady-Copper-58-Willow';
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export class Fixture {
  keys = {} as Record<KeyName, { id: string; key: string }>;
  tokenUser = { id: '', email: '', token: '', refresh: '' };
  victimUser = { id: '', email: '' };
  readonly unknownKey = `gk_${randomBytes(32).toString('base64url')}`;
  /** Set by the harness after a request that may have ended a fixture credential or id; `repair` clears it. */
  dirty = false;
  private serial = 0;

  private readonly app: FastifyInstance;

  private constructor(readonly t: TestApp) {
    this.app = t.app;
  }

  static async create(t: TestApp): Promise<Fixture> {
    const fx = new Fixture(t);
    for (const name of Object.keys(KEY_ROLES) as KeyName[]) await fx.mint(name);
    await fx.call('DELETE', `/auth/api_keys/deactivate/${fx.keys.deactivatedKey.id}`, ADMIN);
    await fx.newTokenUser();
    await fx.newVictimUser();
    return fx;
  }

  private async call(method: 'GET' | 'POST' | 'DELETE', url: string, headers: Record<string, string>, payload?: object) {
    const res = await this.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    if (res.statusCode !== 200) throw new Error(`fixture ${method} ${url}: ${res.statusCode} ${res.body}`);
    return json(res);
  }

  private async mint(name: KeyName) {
    // Fuzzed requests may have minted up to GATEHOUSE_MAX_API_KEYS: make room by dropping theirs.
    if (this.keys.orgAdminKey) await this.dropFuzzedKeys();
    const body = await this.call('POST', '/auth/api_keys', ADMIN, { description: `fuzz ${name}`, roles: KEY_ROLES[name] });
    this.keys[name] = { id: body.id, key: body.key };
  }

  private async newUser(roles: string[]) {
    this.serial += 1;
    const email = `fixture${this.serial}.${randomBytes(4).toString('hex')}@example.com`;
    const body = { email, password: FIXTURE_PASSWORD, temporary: false, roles, firstName: 'Fix', lastName: `Ture${this.serial}` };
    const user = await this.call('POST', '/users', ADMIN, body);
    return { id: user.id as string, email };
  }

  private async newTokenUser() {
    const user = await this.newUser(['CHAT-USER']);
    this.tokenUser = { ...user, token: '', refresh: '' };
    await this.login();
  }

  /** Logs the token user in; under a tight rate limit (429) they stay without tokens, which the auth oracle knows. */
  private async login(): Promise<boolean> {
    const payload = { grant_type: 'password', username: this.tokenUser.email, password: FIXTURE_PASSWORD };
    const res = await this.app.inject({ method: 'POST', url: '/auth/token', payload });
    if (res.statusCode === 429) return true;
    if (res.statusCode !== 200) return false;
    const tokens = json(res);
    this.tokenUser = { ...this.tokenUser, token: tokens.access_token, refresh: tokens.refresh_token };
    return true;
  }

  private async newVictimUser() {
    this.victimUser = await this.newUser(['TASK-ADMIN']);
  }

  /** Replaces every fixture a fuzzed request ended (deleted user, reset password, deactivated key). */
  async repair(): Promise<void> {
    for (const name of ['orgAdminKey', 'auditorKey', 'lowKey', 'victimKey'] as const) {
      const key = await this.call('GET', `/auth/api_keys/${this.keys[name].id}`, ADMIN);
      if (!key.is_active) await this.mint(name);
    }
    const me = await this.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${this.tokenUser.token}` } });
    // A deleted user, a reset or changed password end the access token; a logout ends the refresh token.
    if (me.statusCode !== 200 || this.tokenUser.refresh === '') {
      if (!(await this.login())) await this.newTokenUser();
    }
    const found = await this.call('GET', `/users?page_size=5&search_string=${encodeURIComponent(this.victimUser.email)}`, ADMIN);
    if (!found.some((u: { id: string }) => u.id === this.victimUser.id)) await this.newVictimUser();
    this.dirty = false;
  }

  private async dropFuzzedKeys() {
    const keyIds = Object.values(this.keys).map((k) => k.id);
    await this.t.database.db.deleteFrom('api_keys').where('id', 'not in', keyIds).execute();
  }

  /** Keeps the database small: drops what fuzzed requests created (users, keys, sessions, lockout counters). */
  async prune(): Promise<void> {
    const keep = new Set([this.tokenUser.id, this.victimUser.id]);
    const users = await this.call('GET', '/users?page_size=5000', ADMIN);
    for (const u of users as { id: string }[]) if (!keep.has(u.id)) await this.call('DELETE', `/users/${u.id}`, ADMIN);
    await this.dropFuzzedKeys();
    const liveRefresh = createHash('sha256').update(this.tokenUser.refresh).digest('hex');
    await this.t.database.db.deleteFrom('refresh_tokens').where('token_hash', '!=', liveRefresh).execute();
    await this.t.database.db.deleteFrom('login_failures').execute();
  }

  secretOf(cred: CredName): string {
    switch (cred) {
      case 'admin': return ADMIN_KEY;
      case 'userToken': return this.tokenUser.token;
      case 'unknownKey': return this.unknownKey;
      case 'forgedJwt': {
        const claims = { sub: this.tokenUser.id, ver: 0, roles: ['ORG-ADMIN'], exp: 4102444800, aud: 'gatehouse' };
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
      }
      case 'tamperedToken': {
        const [h, p, s = ''] = this.tokenUser.token.split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
        return `${h}.${b64({ ...claims, roles: ['ORG-ADMIN'] })}.${s}`;
      }
      default: return this.keys[cred].key;
    }
  }

  /** Who a credential authenticates as right now, or undefined when it must be refused. */
  principalOf(secret: string): Principal | undefined {
    if (secret === ADMIN_KEY) return { kind: 'admin_key', id: 'admin-key', roles: ['ADMIN-KEY', 'ORG-ADMIN'] };
    if (this.tokenUser.token !== '' && secret === this.tokenUser.token) return { kind: 'user', id: this.tokenUser.id, roles: ['CHAT-USER'] };
    for (const name of ['orgAdminKey', 'auditorKey', 'lowKey', 'victimKey'] as const) {
      if (this.keys[name].key === secret) return { kind: 'api_key', id: this.keys[name].id, roles: KEY_ROLES[name] };
    }
    return undefined;
  }

  idOf(name: IdName): string {
    if (name === 'tokenUser' || name === 'victimUser') return this[name].id;
    return this.keys[name].id;
  }
}

// ---- Authorization header and ACCESS_TOKEN cookie ------------------------------------------------------------

export type HeaderChoice =
  | { kind: 'absent' }
  | { kind: 'raw'; value: string | Huge }
  | { kind: 'cred'; cred: CredName; scheme: string; before: string; between: string; after: string };
export type CookieChoice = { kind: 'absent' } | { kind: 'raw'; value: string } | { kind: 'cred'; cred: CredName; style: 'pct' | 'quoted' | 'among' };
export interface AuthChoice {
  header: HeaderChoice;
  cookie: CookieChoice;
}

const CREDS: CredName[] = ['admin', 'orgAdminKey', 'auditorKey', 'lowKey', 'userToken', 'deactivatedKey', 'unknownKey', 'forgedJwt', 'tamperedToken'];
const RAW_HEADERS = [
  '', ' ', '\t', 'Bearer', 'Bearer ', 'bearer\t', 'Basic dXNlcjpwYXNz', 'Token abc', 'Bearer a b', 'Bearer  a  b  c', ADMIN_KEY,
  `Basic ${ADMIN_KEY}`, `Bearer ${ADMIN_KEY} x`, `Bearer ${ADMIN_KEY}x`, `Bearer ${ADMIN_KEY.slice(0, -1)}`, `Bearer ${ADMIN_KEY.toUpperCase()}`,
  'Bearer gk_', 'Bearer a.b.c', 'Bearer eyJ.eyJ.sig', 'Bearer null', 'Bearer undefined', 'Bearer %00', 'Bearer é', 'Bearer 😀',
  'Bearer\u00a0x', 'Bearer Bearer', 'Bearer,x', 'Digest username="a"', 'Bearer ' + ADMIN_KEY + '\u0000',
];
const RAW_COOKIES = ['ACCESS_TOKEN=', 'foo=bar', 'ACCESS_TOKEN=garbage', 'ACCESS_TOKEN=Bearer%20', 'ACCESS_TOKEN=%ZZ', 'ACCESS_TOKEN="Bearer"', ';;;', '=', 'access_token=Bearer%20x'];

export const authChoice = (creds: CredName[] = CREDS): fc.Arbitrary<AuthChoice> =>
  fc.record({
    header: fc.oneof(
      { arbitrary: fc.constant({ kind: 'absent' as const }), weight: 2 },
      {
        arbitrary: fc.record({
          kind: fc.constant('cred' as const),
          cred: fc.constantFrom(...creds),
          scheme: fc.constantFrom('Bearer', 'Bearer', 'bearer', 'BEARER', 'bEaReR'),
          before: fc.constantFrom('', '', ' ', '\t'),
          between: fc.constantFrom(' ', ' ', '  ', '\t'),
          after: fc.constantFrom('', '', ' '),
        }),
        weight: 8,
      },
      {
        arbitrary: fc.record({
          kind: fc.constant('raw' as const),
          value: fc.oneof(fc.constantFrom(...RAW_HEADERS), fc.string({ maxLength: 60 }), fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`), fc.constant(new Huge('Bearer x', 8000))),
        }),
        weight: 3,
      },
    ),
    cookie: fc.oneof(
      { arbitrary: fc.constant({ kind: 'absent' as const }), weight: 8 },
      { arbitrary: fc.record({ kind: fc.constant('raw' as const), value: fc.constantFrom(...RAW_COOKIES) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('cred' as const), cred: fc.constantFrom(...creds), style: fc.constantFrom('pct' as const, 'quoted' as const, 'among' as const) }), weight: 1 },
    ),
  });

export function authHeaders(choice: AuthChoice, fx: Fixture): Record<string, string> {
  const out: Record<string, string> = {};
  const h = choice.header;
  if (h.kind === 'raw') out.authorization = typeof h.value === 'string' ? h.value : h.value.value;
  if (h.kind === 'cred') out.authorization = `${h.before}${h.scheme}${h.between}${fx.secretOf(h.cred)}${h.after}`;
  const c = choice.cookie;
  if (c.kind === 'raw') out.cookie = c.value;
  if (c.kind === 'cred') {
    const secret = fx.secretOf(c.cred);
    out.cookie = c.style === 'pct' ? `ACCESS_TOKEN=Bearer%20${secret}` : c.style === 'quoted' ? `ACCESS_TOKEN="Bearer ${secret}"` : `a=1; ACCESS_TOKEN=Bearer%20${secret}; b=2`;
  }
  return out;
}

export type AuthOutcome = { kind: 'missing' } | { kind: 'bad' } | { kind: 'ok'; principal: Principal };

/** CONTRACT.md §1.1, independently: header if present and non-blank, else the cookie; exactly `Bearer <credential>`. */
export function expectedAuth(headers: Record<string, string>, fx: Fixture): AuthOutcome {
  let value: string | null = headers.authorization !== undefined && headers.authorization.trim() !== '' ? headers.authorization : null;
  if (value === null && headers.cookie !== undefined) {
    const pair = headers.cookie.split(';').map((p) => p.trim()).find((p) => p.startsWith('ACCESS_TOKEN='));
    let raw = pair?.slice('ACCESS_TOKEN='.length).trim() ?? '';
    if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) raw = raw.slice(1, -1);
    try {
      raw = decodeURIComponent(raw);
    } catch {
      /* kept as sent */
    }
    if (raw.trim() !== '') value = raw;
  }
  if (value === null) return { kind: 'missing' };
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer') return { kind: 'bad' };
  const principal = fx.principalOf(parts[1]!);
  return principal ? { kind: 'ok', principal } : { kind: 'bad' };
}

// ---- Path ids ------------------------------------------------------------------------------------------------

/** A path segment: a fixture's id (resolved when sent) or literal text; `routed` = it surely reaches the route. */
export type PathId = { kind: 'fixture'; name: IdName } | { kind: 'literal'; segment: string; routed: boolean; label?: string };

const RAW_SEGMENTS = [
  '.', '..', '%2e%2e', '%2E', '%', '%ZZ', '%FF', '%C3', '%ED%A0%80', 'a b', '..%2F..%2Fetc%2Fpasswd', '%00', 'a%00b', '*', ';', 'a;b',
  '😀', 'é', ' ', '\\', 'a\\b', '%2561', '?', '#', 'me', 'permissions', 'deactivate', 'a'.repeat(1024), 'a'.repeat(1025), 'a'.repeat(5000),
];

export const pathId = (fixtures: IdName[]): fc.Arbitrary<PathId> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...fixtures).map((name) => ({ kind: 'fixture' as const, name })), weight: 4 },
    { arbitrary: fc.oneof(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/)).map((s) => ({ kind: 'literal' as const, segment: s, routed: true })), weight: 2 },
    {
      arbitrary: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), fc.constantFrom('\u0000', "' OR 1=1 --", '%_%', '../x', 'é'.repeat(1000), 'x'.repeat(2000)))
        .map((s) => ({ kind: 'literal' as const, segment: pct(s), routed: s.length <= 1000 && !/^\.{1,2}$/.test(s), label: s.length > 60 ? `${s.slice(0, 20)}… (${s.length})` : s })),
      weight: 3,
    },
    { arbitrary: fc.constantFrom(...RAW_SEGMENTS).map((s) => ({ kind: 'literal' as const, segment: s, routed: false, label: s.length > 60 ? `${s[0]} x ${s.length}` : s })), weight: 2 },
  ).map((p: PathId) => Object.assign(p, { [fc.toStringMethod]: () => (p.kind === 'fixture' ? `id(${p.name})` : `seg(${JSON.stringify(p.label ?? p.segment)})`) }));

export function segmentOf(p: PathId, fx: Fixture): { segment: string; id: string | undefined; routed: boolean } {
  if (p.kind === 'fixture') return { segment: fx.idOf(p.name), id: fx.idOf(p.name), routed: true };
  let id: string | undefined;
  try {
    id = decodeURIComponent(p.segment);
  } catch {
    id = undefined;
  }
  return { segment: p.segment, id, routed: p.routed };
}
