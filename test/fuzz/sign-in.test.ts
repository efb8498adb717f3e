/**
 * Property-based fuzzing of sign-in (CONTRACT.md §4a): the authorization endpoint, login and update-password forms and
 * logout (HTML); the token endpoint (every grant), revocation, introspection, userinfo (OAuth); POST/PATCH /auth/clients.
 * Valid requests are mutated (parameters deleted, repeated, replaced by huge values, odd unicode, NUL, broken escapes)
 * and carry live artefacts of real sign-ins minted on demand (interactions with their browser cookie, sessions, codes
 * and PKCE verifiers, access/refresh/ID tokens, used codes and refresh tokens), so success paths run too. Invariants:
 * no 5xx or crash; HTML endpoints answer text/html 200/400/403 under a page CSP, or redirect only to a registered URI
 * (with `iss`; logout: a post-logout URI); OAuth endpoints answer 200 or RFC 6749 `{error, error_description}` 400/401;
 * /auth/clients 2xx, RFC 7591 400 or `{detail}` 401/403/404/409; a rejected request (4xx, an error redirect, a form shown
 * again, a logout confirmation; introspection and userinfo always) changes no row of users, api_keys, oauth_clients,
 * login_sessions, grants, authorization_codes, refresh_tokens — except that a used code or refresh token presented again
 * revokes its grant (RFC 6749 §4.1.2, RFC 9700 §4.14). Default 3,700 requests; FUZZ_RUNS, FUZZ_SEED, FUZZ_SURVEY=1 as in
 * harness.ts; FUZZ_ISSUER=http://127.0.0.1:8000 for no issuer path (default .../realms/fuzz); GATEHOUSE_TEST_DIALECT=postgres.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { ADMIN, ADMIN_KEY, json, testApp } from '../helpers/app.ts';
import { anyString, fuzzParams, Huge, markSecret, mutatedBody, password, pct, plain, toJsonText } from './arbitraries.ts';
import { FIXTURE_PASSWORD } from './fixture.ts';
import { withoutUseStamps } from './harness.ts';

const ISSUER = process.env.FUZZ_ISSUER || 'http://127.0.0.1:8000/realms/fuzz';
const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_ISSUER: ISSUER });
const BASE = new URL(ISSUER).pathname.replace(/\/+$/, '');
const OIDC = `${BASE}/protocol/openid-connect`;
const RUNS = { authorize: 800, forms: 600, token: 900, tokenOps: 500, logout: 400, clients: 500 };
const TABLES = ['users', 'api_keys', 'oauth_clients', 'login_sessions', 'grants', 'authorization_codes', 'refresh_tokens'];
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const keysAre = (v: unknown, keys: string[]) => isObject(v) && Object.keys(v).sort().join() === keys.join();
const secret = () => randomBytes(32).toString('base64url');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const clip = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

// ---- The cast: users, clients, and the live artefacts of sign-ins, minted when a request names them ---------------
const TEMP_PASSWORD = 'Amber-Falcon-73-Ridge';
const VERIFIER = 'fuzz-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');
const CB = 'http://app.example.test/cb';
const FIXTURES: Record<string, object> = {
  'fuzz-conf': { redirect_uris: [CB, `${CB}?x=1`], post_logout_redirect_uris: ['http://app.example.test/bye'] },
  'fuzz-post': { token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'], redirect_uris: ['com.example.app:/oauth'] },
  'fuzz-pub': { token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:9/cb'], post_logout_redirect_uris: ['http://127.0.0.1:9/bye?a=1'] },
  'fuzz-patch': { redirect_uris: ['https://patch.example.test/cb'] }, // the only client PATCH may change
};
const ok = (res: LightMyRequestResponse, what: string, good = res.statusCode < 300) => (good ? res : assert.fail(`setup: ${what}: ${res.statusCode} ${clip(res.body, 300)}`));
const admin = async (url: string, payload: object) => json(ok(await t.app.inject({ method: 'POST', url, headers: ADMIN, payload }), url));
const SECRETS: Record<string, string> = {};
for (const [client_id, m] of Object.entries(FIXTURES)) SECRETS[client_id] = (await admin('/auth/clients', { client_id, ...m })).client_secret ?? '';
const LOW_KEY = (await admin('/auth/api_keys', { roles: ['CHAT-USER'] })).key as string;
const newUser = async (temporary: boolean) => (await admin('/users', { email: `signin.${randomBytes(4).toString('hex')}@example.com`,
  password: temporary ? TEMP_PASSWORD : FIXTURE_PASSWORD, temporary, roles: ['CHAT-USER'], firstName: 'Sign', lastName: 'In' })).email as string;
const EMAIL = await newUser(false);
let temp = { email: await newUser(true), used: false };

let live: Partial<Record<'code' | 'usedCode' | 'refresh' | 'usedRefresh' | 'access' | 'idToken' | 'session' | 'browser', string>> = {};
const used = new Set<string>(); // codes and refresh tokens once redeemed
let writes = 0; // setup requests made: the state snapshot must be taken again

const form = (action: string, fields: Record<string, string>, browser: string) => t.app.inject({ method: 'POST', url: `${BASE}/login-actions/${action}`,
  headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `GATEHOUSE_BROWSER=${browser}` }, payload: new URLSearchParams(fields).toString() });
/** A login page's interaction for `browser` (with `tempEmail`: the set-a-new-password step after its temporary password). */
async function interaction(browser: string, tempEmail?: string): Promise<string> {
  writes += 1;
  await t.database.db.deleteFrom('login_failures').execute(); // fuzzed wrong passwords must not lock the cast out
  const q = new URLSearchParams({ client_id: 'fuzz-conf', redirect_uri: CB, response_type: 'code', scope: 'openid offline_access email', state: 'st', nonce: 'nn', code_challenge: CHALLENGE, code_challenge_method: 'S256', prompt: 'login' });
  const page = await t.app.inject({ url: `${OIDC}/auth?${q}`, headers: { cookie: `GATEHOUSE_BROWSER=${browser}` } });
  const id = /name="interaction" value="([^"]+)"/.exec(ok(page, 'login page', page.statusCode === 200).body)![1]!;
  if (tempEmail) {
    const res = await form('authenticate', { interaction: id, username: tempEmail, password: TEMP_PASSWORD }, browser);
    ok(res, 'update-password page', res.body.includes('name="confirm"'));
  }
  return id;
}
async function signIn() {
  const browser = secret();
  const res = await form('authenticate', { interaction: await interaction(browser), username: EMAIL, password: FIXTURE_PASSWORD }, browser);
  const session = /GATEHOUSE_SESSION=([^;]+)/.exec(String(res.headers['set-cookie']))?.[1];
  ok(res, 'sign-in', res.statusCode === 303 && session !== undefined);
  Object.assign(live, { browser, session: decodeURIComponent(session!), code: new URL(String(res.headers.location)).searchParams.get('code')! });
}
const capture = (b: Record<string, string>) => Object.assign(live, { access: b.access_token ?? live.access, refresh: b.refresh_token ?? live.refresh, idToken: b.id_token ?? live.idToken });
async function grant(body: Record<string, string>, usedName: 'usedCode' | 'usedRefresh', spent: string) {
  writes += 1;
  const post = (authorization?: string) => t.app.inject({ method: 'POST', url: `${OIDC}/token`, headers: authorization ? { authorization } : {}, payload: body });
  let res = await post(`Basic ${b64(`fuzz-conf:${SECRETS['fuzz-conf']}`)}`);
  if (res.statusCode === 400 && body.grant_type === 'refresh_token') res = await post(); // from the password grant: no client's token
  capture(json(ok(res, body.grant_type!)));
  used.add(spent);
  Object.assign(live, { [usedName]: spent, ...(usedName === 'usedCode' ? { code: undefined } : {}) });
}
const redeem = async (code: string) => grant({ grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: VERIFIER }, 'usedCode', code);

/** Placeholders in generated requests, resolved in this order when the request is sent. */
const ORDER = ['interaction', 'tempInteraction', 'usedCode', 'code', 'usedRefresh', 'refresh', 'access', 'idToken', 'session', 'tempEmail', 'browser', 'csrf'] as const;
async function value(n: (typeof ORDER)[number], ctx: { browser?: string }): Promise<string> {
  switch (n) {
    case 'interaction': return interaction((ctx.browser = secret()));
    case 'tempInteraction': if (temp.used) temp = { email: await newUser(true), used: false }; return interaction((ctx.browser = secret()), temp.email);
    case 'usedCode': if (!live.usedCode) await redeem(await value('code', ctx)); return live.usedCode!;
    case 'usedRefresh': if (!live.usedRefresh) { const old = await value('refresh', ctx); await grant({ grant_type: 'refresh_token', refresh_token: old }, 'usedRefresh', old); } return live.usedRefresh!;
    case 'refresh': case 'access': case 'idToken': if (!live[n]) await redeem(await value('code', ctx)); return live[n]!;
    case 'code': case 'session': if (!live[n]) await signIn(); return live[n]!;
    case 'tempEmail': return temp.email;
    case 'browser': return (ctx.browser ??= live.browser ?? secret());
    case 'csrf': return sha(`logout:${ctx.browser ?? live.browser ?? ''}`);
  }
}

// ---- Generated requests --------------------------------------------------------------------------------------------
/** Text already percent-encoded (broken escapes, encoded NUL), sent as is. */
class Enc {
  constructor(readonly s: string) {}
  [fc.toStringMethod]() { return `Enc(${this.s})`; }
}
type Val = string | Huge | Enc;
type Pair = [string, Val | null]; // null: a bare key without "="
type Kind = 'authorize' | 'authn' | 'update' | 'logout' | 'token' | 'revoke' | 'introspect' | 'userinfo' | 'clients';
type Body = { type: string | undefined; pairs?: Pair[]; typed?: [number, string] | null; text?: string };
interface Spec { kind: Kind; method: 'GET' | 'POST' | 'PATCH'; path: string; query?: Pair[]; headers: Record<string, string | undefined>; body?: Body }

const SECRET_FIELD = /password|secret|token|^key$/i;
const hostile: fc.Arbitrary<Val> = fc.oneof(
  { arbitrary: anyString.map((s) => (s instanceof Huge && s.length > 5000 ? new Huge(s.unit, 5000) : s)), weight: 5 },
  { arbitrary: fc.constantFrom('%', '%G1', '%FF%FE', '%C3', '%00', 'a%00b', '%ED%A0%80', '+', 'a+b', '%26', '%3D', '%E2%80%AE', '%F0%9F%98').map((s) => new Enc(s)), weight: 3 },
  { arbitrary: fc.constantFrom(4096, 4097, 9000).map((n) => new Huge('x', n)), weight: 1 },
);
/** Valid parameters mutated: deleted, repeated, set to a meaningful or hostile value; other keys added. */
function mutated(base: fc.Arbitrary<Pair[]>, meaningful: string[], keys: string[]): fc.Arbitrary<Pair[]> {
  const val = fc.oneof({ arbitrary: fc.constantFrom(...meaningful, 'a\u0000b').map((m) => ({ m })), weight: 3 }, { arbitrary: hostile.map((h) => ({ h })), weight: 2 });
  const mutation = fc.tuple(fc.constantFrom('delete', 'repeat', 'set', 'set', 'add'), fc.nat(), val, fc.constantFrom(...keys, '__proto__', 'constructor[prototype][x]', 'a[b]', '', 'bare', 'x'.repeat(300)));
  return fc.tuple(base, fc.array(mutation, { maxLength: 4 }), fc.boolean()).map(([pairs, muts, reverse]) => {
    const out = [...pairs];
    for (const [op, n, v, k] of muts) {
      const i = n % Math.max(1, out.length);
      const key = op === 'add' ? k : out[i]?.[0];
      if (key === undefined) continue;
      // Secret fields never hold text an error message could quote (the leak check of test/helpers/app.ts).
      const x = SECRET_FIELD.test(key) && !('m' in v && v.m.includes('⟨')) ? (markSecret('m' in v ? v.m : v.h) as Val) : 'm' in v ? v.m : v.h;
      if (op === 'delete') out.splice(i, 1);
      else if (op === 'set') out[i] = [key, x];
      else out.push([key, key === 'bare' ? null : x]);
    }
    return reverse ? out.reverse() : out;
  });
}
const mostly = <T>(good: T[], bad: T[]) => fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 4 }, { arbitrary: fc.constantFrom(...bad), weight: 1 });
const bodyType = (form: number, jsonW: number) => fc.oneof({ arbitrary: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8'), weight: form },
  { arbitrary: fc.constant('application/json'), weight: jsonW }, { arbitrary: fc.constantFrom('text/plain', 'multipart/form-data; boundary=x', 'application/xml', undefined), weight: 1 });
const typed = fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, fc.tuple(fc.nat(), fc.constantFrom('1', 'null', '[]', '{}', 'true', '["a","b"]', '1e999', '{"a":"b"}'))); // a JSON value of another type
const origin = fc.tuple(mostly([undefined, new URL(ISSUER).origin], ['null', 'http://evil.test']), mostly([undefined, 'same-origin'], ['cross-site', 'same-site', 'none']));
const cookie = mostly(['GATEHOUSE_BROWSER=⟨browser⟩', 'GATEHOUSE_BROWSER=⟨browser⟩; GATEHOUSE_SESSION=⟨session⟩'], [undefined, 'GATEHOUSE_SESSION=⟨session⟩',
  'GATEHOUSE_SESSION="⟨session⟩"; GATEHOUSE_BROWSER=someone-else', 'GATEHOUSE_BROWSER=%ZZ; GATEHOUSE_SESSION=%00', 'GATEHOUSE_BROWSER=; GATEHOUSE_SESSION=']);
const URIS = [CB, `${CB}?x=1`, 'http://127.0.0.1:9/cb', 'com.example.app:/oauth', 'http://app.example.test/bye', 'http://127.0.0.1:9/bye?a=1', `${CB}/`, 'HTTP://APP.EXAMPLE.TEST/cb',
  `${CB}?x=1&y=2`, `${CB}#f`, 'http://evil.test/cb', '//evil.test/cb', 'javascript:alert(1)', 'https://patch.example.test/cb'];
const CLIENT_IDS = ['fuzz-conf', 'fuzz-pub', 'fuzz-post', 'fuzz-patch', 'nope', 'FUZZ-CONF', 'fuzz-conf '];
const TOKENS = ['⟨access⟩', '⟨refresh⟩', '⟨idToken⟩', '⟨usedRefresh⟩', '⟨code⟩', '⟨idToken⟩x', 'grt_nope', 'a.b.c', `${b64('{"alg":"none"}')}.${b64('{"sub":"x"}')}.`];
const html = (kind: Kind, path: string, post: boolean, pairs: Pair[], type: string | undefined, ty: [number, string] | null, headers: Spec['headers']): Spec =>
  ({ kind, method: post ? 'POST' : 'GET', path, headers, ...(post ? { body: { type, pairs, typed: ty } } : { query: pairs }) });

const authorize = fc.record({
  pairs: mutated(fc.tuple(fc.constantFrom(['fuzz-conf', CB], ['fuzz-conf', `${CB}?x=1`], ['fuzz-pub', 'http://127.0.0.1:9/cb'], ['fuzz-post', 'com.example.app:/oauth'], ['fuzz\u0000', CB]), mostly(['n-1'], ['n\u0000', 'x'.repeat(501)]))
    .map(([[id, uri], nonce]): Pair[] => [['client_id', id!], ['redirect_uri', uri!], ['response_type', 'code'], ['scope', 'openid email'], ['state', 'st-1'], ['nonce', nonce], ['code_challenge', CHALLENGE], ['code_challenge_method', 'S256']]),
  [...URIS, ...CLIENT_IDS, 'code', 'token', 'code id_token', 'none', 'login', 'none login', 'consent', 'bogus', '0', '-1', '1e3', '9999999999', 'query', 'fragment', 'S256', 'plain', 'x'.repeat(43), EMAIL],
  ['prompt', 'max_age', 'login_hint', 'response_mode', 'request', 'request_uri', 'nonce', 'state', 'client_id', 'redirect_uri']),
  post: fc.constantFrom(false, false, false, true), type: bodyType(8, 1), typed, cookie,
}).map((r) => html('authorize', `${OIDC}/auth`, r.post, r.pairs, r.type, r.typed, { cookie: r.cookie }));
const forms = fc.oneof(
  fc.record({ i: fc.constantFrom('⟨interaction⟩', '⟨interaction⟩', '⟨tempInteraction⟩', 'nope'), u: fc.constantFrom(EMAIL, ` ${EMAIL.toUpperCase()} `, '⟨tempEmail⟩', 'nobody@example.com'), p: fc.constantFrom(FIXTURE_PASSWORD, TEMP_PASSWORD, 'Wrong-Password-1!') })
    .map(({ i, u, p }): [Kind, Pair[]] => ['authn', [['interaction', i], ['username', u], ['password', p]]]),
  fc.record({ i: fc.constantFrom('⟨tempInteraction⟩', '⟨tempInteraction⟩', '⟨interaction⟩'), p: password.map((p) => plain(p).slice(0, 5000)), same: fc.boolean() })
    .map(({ i, p, same }): [Kind, Pair[]] => ['update', [['interaction', i], ['password', p], ['confirm', same ? p : `${p}!`]]]),
).chain(([kind, base]) => fc.record({ pairs: mutated(fc.constant(base), ['⟨interaction⟩', '⟨tempInteraction⟩', EMAIL, FIXTURE_PASSWORD, 'x'.repeat(101)], ['interaction', 'username', 'password', 'confirm']),
  type: bodyType(10, 1), typed, cookie, origin }).map((r) => html(kind, `${BASE}/login-actions/${kind === 'authn' ? 'authenticate' : 'update-password'}`, true, r.pairs, r.type, r.typed, { cookie: r.cookie, origin: r.origin[0], 'sec-fetch-site': r.origin[1] })));
const logout = fc.record({
  base: fc.tuple(fc.subarray<Pair>([['id_token_hint', '⟨idToken⟩'], ['post_logout_redirect_uri', 'http://app.example.test/bye'], ['client_id', 'fuzz-conf'], ['state', 'st-2']]), mostly(['fuzz-conf'], ['fuzz\u0000']))
    .map(([pairs, id]) => pairs.map(([k, v]): Pair => [k, k === 'client_id' ? id : v])),
  confirm: fc.constantFrom<Pair[]>([], [['confirm', 'yes'], ['csrf', '⟨csrf⟩']], [['confirm', 'yes'], ['csrf', '⟨csrf⟩']], [['confirm', 'no'], ['csrf', 'x']]), post: fc.boolean(), type: bodyType(10, 1), cookie, origin,
}).chain((r) => mutated(fc.constant([...r.base, ...r.confirm]), [...URIS, ...TOKENS, ...CLIENT_IDS, 'yes'], ['id_token_hint', 'post_logout_redirect_uri', 'client_id', 'state', 'csrf', 'confirm'])
  .map((pairs) => html('logout', `${OIDC}/logout`, r.post, pairs, r.type, null, { cookie: r.cookie, origin: r.origin[0], 'sec-fetch-site': r.origin[1] })));
const basic = fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: fc.tuple(fc.constantFrom('fuzz-conf', 'fuzz-conf', 'fuzz-post', 'fuzz-pub', 'nope', '', 'a:b', 'a\u0000b', '%ZZ', 'é', 'x'.repeat(300)),
  fc.constantFrom('right', 'right', 'wrong', '', '%ZZ', ':'), fc.constantFrom('std', 'std', 'raw', 'nocolon', 'url', 'notbase64'), fc.constantFrom('Basic', 'basic', ' BASIC ')).map(([id, sec, style, scheme]) => {
    const s = sec === 'right' ? SECRETS[id] || 'none' : sec; // RFC 6749 §2.3.1: each part form-urlencoded, then base64 ("std")
    const creds = style === 'raw' || style === 'notbase64' ? `${id}:${s}` : style === 'nocolon' ? `${id}${s}` : `${encodeURIComponent(id)}:${encodeURIComponent(s)}`;
    return `${scheme} ${style === 'notbase64' ? creds : Buffer.from(creds).toString(style === 'url' ? 'base64url' : 'base64')}`;
  }), weight: 5 },
  { arbitrary: fc.constantFrom('Basic', 'Basic ', 'Basic !!!', 'Basic ====', 'Basic Og==', 'Basic 8J+YgA==', 'Bearer x', `Basic ${b64('a%00b:x')}`, 'Basic YTpi YzpkZA=='), weight: 2 });
const clientBody = fc.constantFrom<Pair[]>([], [], [['client_id', 'fuzz-conf']], [['client_id', 'fuzz-conf'], ['client_secret', SECRETS['fuzz-conf']!]], [['client_id', 'fuzz-post'], ['client_secret', SECRETS['fuzz-post']!]], [['client_id', 'fuzz-pub']]);
const oauth = (kind: Kind, path: fc.Arbitrary<string>, base: fc.Arbitrary<Pair[]>, meaningful: string[]) =>
  fc.record({ path, pairs: mutated(fc.tuple(base, clientBody).map(([a, b]) => [...a, ...b]), [...meaningful, ...TOKENS, ...CLIENT_IDS], ['client_id', 'client_secret', 'scope', 'token_type_hint', 'code', 'refresh_token']),
    type: bodyType(5, 4), typed, basic }).map((r): Spec => ({ kind, method: 'POST', path: r.path, headers: { authorization: r.basic }, body: { type: r.type, pairs: r.pairs, typed: r.typed } }));
const code = (c: string): Pair[] => [['grant_type', 'authorization_code'], ['code', c], ['redirect_uri', CB], ['code_verifier', VERIFIER]];
const token = oauth('token', fc.constantFrom('/auth/token', `${OIDC}/token`), fc.constantFrom<Pair[]>(code('⟨code⟩'), code('⟨code⟩'), code('⟨usedCode⟩'),
  [['grant_type', 'refresh_token'], ['refresh_token', '⟨refresh⟩']], [['grant_type', 'refresh_token'], ['refresh_token', '⟨usedRefresh⟩']], [['grant_type', 'password'], ['username', EMAIL], ['password', FIXTURE_PASSWORD]],
  [['grant_type', 'password'], ['username', '⟨tempEmail⟩'], ['password', TEMP_PASSWORD]], [['grant_type', 'client_credentials']], [['grant_type', '']], [['grant_type', 'PASSWORD']]),
['authorization_code', 'refresh_token', 'password', 'urn:ietf:params:oauth:grant-type:device_code', VERIFIER, 'x'.repeat(43), CB, `${CB}?x=1`, EMAIL, 'openid']);
const tokenOps = fc.oneof(...(['revoke', 'introspect'] as const).map((kind) => oauth(kind, fc.constant(`${OIDC}/${kind === 'revoke' ? 'revoke' : 'token/introspect'}`),
  fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom<Pair[]>([], [['token_type_hint', 'refresh_token']], [['token_type_hint', 'access_token']])).map(([tk, hint]): Pair[] => [['token', tk], ...hint]), ['refresh_token', 'access_token', 'x'.repeat(4097)])),
fc.record({ post: fc.boolean(), auth: fc.constantFrom('Bearer ⟨access⟩', 'Bearer ⟨access⟩', 'bearer  ⟨idToken⟩', 'Bearer ⟨refresh⟩', 'Bearer ⟨access⟩x', 'Basic ⟨access⟩', 'Bearer', 'Bearer a.b.c', undefined) })
  .map((r): Spec => ({ kind: 'userinfo', method: r.post ? 'POST' : 'GET', path: `${OIDC}/userinfo`, headers: { authorization: r.auth } })));
const uris = fc.oneof({ arbitrary: fc.array(fc.constantFrom(CB, 'https://ok.example/cb', 'com.example:/cb', 'http://127.0.0.1/cb?a=b'), { minLength: 1, maxLength: 3 }), weight: 4 },
  { arbitrary: fc.array(fc.constantFrom(...URIS, 'data:,x', 'http://u:p@host.test/', 'not a uri', '', 'http://a.test/x\u0000', 'http://a.test/ b', 'file:///etc/passwd'), { maxLength: 3 }), weight: 2 },
  { arbitrary: fc.constant(Array.from({ length: 21 }, (_, i) => `https://many.test/${i}`)), weight: 1 });
const clients = fc.record({
  patch: fc.boolean(), target: fc.constantFrom('fuzz-patch', 'fuzz-patch', 'fuzz-patch', 'nope', pct('a b'), pct('é'), '%00', pct('x'.repeat(150))), auth: mostly([ADMIN_KEY], [LOW_KEY, 'nope', undefined]),
  body: fc.oneof({ weight: 12, arbitrary: mutatedBody({
    client_id: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 1e9 }).map((n) => `fuzz-new-${n}`), weight: 4 }, fc.constantFrom('fuzz-conf', 'fuzz-patch', 'bad id!', '', '-x', 'x'.repeat(101))),
    client_name: fc.oneof({ arbitrary: fc.constantFrom('App', null, '<script>x</script>', 'x'.repeat(201)), weight: 3 }, anyString), redirect_uris: uris, post_logout_redirect_uris: uris,
    token_endpoint_auth_method: mostly(['client_secret_basic', 'client_secret_post'], ['none', 'private_key_jwt']), response_types: mostly([['code']], [['token'], []]),
    grant_types: mostly([['authorization_code'], ['authorization_code', 'refresh_token']], [['refresh_token'], ['password'], []]),
    client_secret: mostly(['s'.repeat(32)], ['s'.repeat(31), 'a b'.repeat(20), 's'.repeat(513)]) }).map(toJsonText) },
  { weight: 1, arbitrary: fc.constantFrom('{', '{"a":1,}', '[', 'nul', '{"__proto__":{"x":1}}', '', '"x"', '{"redirect_uris":["http://a.test/"],"redirect_uris":[1]}') }),
}).map((r): Spec => ({ kind: 'clients', method: r.patch ? 'PATCH' : 'POST', path: r.patch ? `/auth/clients/${r.target}` : '/auth/clients',
  headers: { authorization: r.auth && `Bearer ${r.auth}` }, body: { type: 'application/json', text: r.body } }));

// ---- Sending and checking ------------------------------------------------------------------------------------------
function build(spec: Spec, sub: (s: string) => string): { method: string; url: string; headers: Record<string, string>; payload?: string } {
  const urlencoded = (pairs: Pair[]) => pairs.map(([k, v]) => (v === null ? pct(k) : `${pct(k)}=${v instanceof Enc ? v.s : pct(sub(plain(v)))}`)).join('&');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.headers)) if (v !== undefined) headers[k] = sub(v);
  const body = spec.body;
  if (!body) return { method: spec.method, url: spec.path + (spec.query ? `?${urlencoded(spec.query)}` : ''), headers };
  if (body.type !== undefined) headers['content-type'] = body.type;
  let payload = body.text ?? urlencoded(body.pairs ?? []);
  if (body.type === 'application/json' && body.pairs) { // JSON text as written: repeated keys kept, one value maybe of another type
    const [ti, tv] = body.typed ?? [-1, ''];
    const text = (v: Val) => { try { return v instanceof Enc ? decodeURIComponent(v.s) : sub(plain(v)); } catch { return (v as Enc).s; } };
    payload = `{${body.pairs.map(([k, v], i) => `${JSON.stringify(k)}:${i === ti % body.pairs!.length ? tv : v === null ? 'null' : JSON.stringify(text(v))}`).join(',')}}`;
  }
  return { method: spec.method, url: spec.path, headers, payload };
}

const HTML_KINDS: Kind[] = ['authorize', 'authn', 'update', 'logout'];
const OAUTH_ERRORS = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'unsupported_token_type'];
type Snap = Map<string, string[]>;
const registered = (snap: Snap, field: string) => (snap.get('oauth_clients') ?? []).flatMap((r) => JSON.parse(JSON.parse(r)[field]) as string[]);
/** `loc` is the registered `uri` (as written, or as URL serializes it) plus the response in its query or fragment. */
const under = (loc: string, uri: string) => [uri, URL.canParse(uri) ? new URL(uri).href : uri].some((p) => loc === p || (loc.startsWith(p) && (/^[?&#]/.test(loc.slice(p.length)) || /[?&]$/.test(p))));

/** The response's violations, and whether it is a rejection (which must change nothing). */
function check(kind: Kind, res: LightMyRequestResponse, snap: Snap, size: number): { problems: string[]; quiet: boolean } {
  const [problems, s, ct] = [[] as string[], res.statusCode, String(res.headers['content-type'] ?? '')];
  if (s === 413 && !HTML_KINDS.includes(kind)) return { problems: size > 64 * 1024 ? [] : [`413 for ${size} bytes`], quiet: true }; // JSON bodies over 64 KiB (harness.ts)
  let body: unknown;
  try { body = JSON.parse(res.body); } catch { body = undefined; }
  if (s >= 500) problems.push(`status ${s} (never a 5xx)`);
  if (HTML_KINDS.includes(kind)) {
    const csp = String(res.headers['content-security-policy'] ?? '');
    const headers = [...(csp.includes("default-src 'none'") && csp.includes("frame-ancestors 'none'") ? [] : [`CSP ${JSON.stringify(csp)}`]),
      ...(res.headers['cache-control'] === 'no-store' ? [] : ['no Cache-Control: no-store'])];
    if (s === 302 || s === 303) {
      const loc = String(res.headers.location ?? '');
      if (!registered(snap, kind === 'logout' ? 'post_logout_redirect_uris' : 'redirect_uris').some((u) => under(loc, u))) problems.push(`redirect to an unregistered ${JSON.stringify(clip(loc, 200))}`);
      const url = URL.canParse(loc) ? new URL(loc) : undefined; // the response in the query, or the fragment (response_mode=fragment)
      const params = new URLSearchParams([...(url?.searchParams ?? []), ...new URLSearchParams(url?.hash.slice(1))]);
      if (kind !== 'logout' && params.get('iss') !== ISSUER) problems.push('authorization response without iss (RFC 9207)');
      return { problems: [...problems, ...headers], quiet: kind !== 'logout' && params.has('error') };
    }
    if (!ct.startsWith('text/html')) problems.push(`content-type ${JSON.stringify(ct)}, not text/html`);
    if (![200, 400, 403].includes(s)) problems.push(`status ${s} (HTML endpoints: 200, 400, 403 or a redirect)`);
    return { problems: [...problems, ...headers], quiet: kind !== 'logout' || s >= 400 || res.body.includes('name="csrf"') };
  }
  const [www, error] = [String(res.headers['www-authenticate'] ?? ''), isObject(body) ? String(body.error) : ''];
  const shape = (keys: string[], ok: boolean) => (keysAre(body, keys) && ok ? 0 : problems.push(`${s} is not {${keys.join(', ')}} as documented: ${clip(res.body, 200)}`));
  if (kind === 'clients') {
    if (s === 400) shape(['error', 'error_description'], ['invalid_redirect_uri', 'invalid_client_metadata'].includes(error));
    else if ([401, 403, 404, 409].includes(s)) shape(['detail'], typeof (body as { detail: unknown }).detail === 'string' && (s !== 401 || www.startsWith('Bearer')));
    else if ((s !== 200 && s !== 201) || !isObject(body) || typeof body.client_id !== 'string' || 'secret_hash' in body) problems.push(`status ${s} (clients: 2xx, 400, 401, 403, 404, 409)`);
  } else if (kind === 'userinfo') {
    if (s === 401) shape(['detail'], www.startsWith('Bearer'));
    else if (s !== 200 || !isObject(body) || typeof body.sub !== 'string') problems.push(`status ${s} (userinfo: 200 with sub, or 401)`);
  } else if (s === 400 || s === 401) shape(['error', 'error_description'], OAUTH_ERRORS.includes(error) && (s === 400 || (error === 'invalid_client' && www !== ''))); // RFC 6749 §5.2
  else {
    const ok = kind === 'token' ? isObject(body) && typeof body.access_token === 'string' && typeof body.token_type === 'string' && Number.isInteger(body.expires_in)
      : kind === 'revoke' ? keysAre(body, []) : isObject(body) && typeof body.active === 'boolean';
    if (s !== 200 || !ok || res.headers['cache-control'] !== 'no-store') problems.push(`status ${s} (OAuth endpoints: 200 no-store ${kind} response, 400, 401)`);
  }
  return { problems, quiet: s >= 400 || kind === 'introspect' || kind === 'userinfo' };
}

async function snapshot(): Promise<Snap> {
  const read = async (table: string) => [table, (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(t.database.db)).rows.map(withoutUseStamps).sort()] as const;
  return new Map(await Promise.all(TABLES.map(read)));
}
function changed(before: Snap, after: Snap, revocations: boolean): string[] {
  const out: string[] = [];
  for (const [table, rows] of after) { // a used code or refresh token presented again: revoked_at is set, nothing else changes
    const norm = (rs: string[]) => (revocations && (table === 'grants' || table === 'refresh_tokens') ? rs.map((r) => JSON.stringify({ ...JSON.parse(r), revoked_at: null })).sort() : rs);
    const [a, b] = [norm(before.get(table) ?? []), norm(rows)];
    if (a.join('\n') !== b.join('\n')) out.push(`${table} (+${clip(JSON.stringify(b.filter((r) => !a.includes(r)).slice(0, 2)), 300)} -${clip(JSON.stringify(a.filter((r) => !b.includes(r)).slice(0, 2)), 300)})`);
  }
  return out;
}

let [count, failed, before] = [0, false, undefined as Snap | undefined];
const [stats, found] = [new Map<string, number>(), new Map<string, { n: number; example: string }>()];
async function send(spec: Spec): Promise<void> {
  const [ctx, text, values, writesBefore] = [{} as { browser?: string }, JSON.stringify(spec), new Map<string, string>(), writes];
  for (const n of ORDER) { // once more from scratch if an artefact died unnoticed (say, while fast-check shrinks)
    if (text.includes(`⟨${n}⟩`)) values.set(`⟨${n}⟩`, await value(n, ctx).catch(() => ((live = {}), value(n, ctx))));
  }
  if (count % 150 === 149) { // drop fuzzed registrations
    await t.database.db.deleteFrom('oauth_clients').where('client_id', 'not in', Object.keys(FIXTURES)).execute();
    writes += 1;
  }
  const req = build(spec, (s) => s.replace(/⟨\w+⟩/g, (m) => values.get(m) ?? m));
  const prior = writes === writesBefore && before ? before : await snapshot();
  let [res, problems] = [undefined as LightMyRequestResponse | undefined, [] as string[]];
  try {
    res = await t.app.inject(req as never);
  } catch (err) { // test/helpers/app.ts: no error body may echo a secret of its request
    problems = [(err as { code?: string }).code === 'ERR_ASSERTION' ? `leak check: ${clip(String((err as Error).message))}` : `app.inject threw: ${String(err)}`];
  }
  count += 1;
  before = undefined;
  if (res) {
    stats.set(`${spec.kind} ${res.statusCode}`, (stats.get(`${spec.kind} ${res.statusCode}`) ?? 0) + 1);
    const [after, sent] = [await snapshot(), `${req.url} ${JSON.stringify(req.headers)} ${req.payload ?? ''}`];
    const reuse = [...used].some((u) => sent.includes(u));
    const verdict = check(spec.kind, res, prior, Buffer.byteLength(req.payload ?? ''));
    const diff = verdict.quiet ? changed(prior, after, spec.kind === 'token' && reuse) : [];
    problems = [...verdict.problems, ...(diff.length > 0 ? [`rejected (${res.statusCode}) but changed: ${diff.join('; ')}`] : [])];
    before = after;
    await follow(spec.kind, res, sent, reuse, verdict.quiet);
  }
  if (problems.length === 0) return;
  const report = `${problems.join('\n')}\nrequest: ${req.method} ${clip(req.url)}\nheaders: ${clip(JSON.stringify(req.headers).replaceAll(ADMIN_KEY, '<ADMIN_KEY>'))}\n` +
    `payload: ${clip(JSON.stringify(req.payload ?? null))}\nresponse: ${res ? `${res.statusCode} ${clip(res.body)}` : '(none)'}`;
  failed = process.env.FUZZ_SURVEY !== '1';
  if (failed) throw new Error(report);
  const key = `${spec.kind} ${spec.method} ${res?.statusCode ?? '-'}: ${problems[0]!.slice(0, 90)}`;
  found.set(key, { n: (found.get(key)?.n ?? 0) + 1, example: found.get(key)?.example ?? report });
}

/** Keeps the live artefacts live: redeemed codes and refresh tokens become "used"; revocations and sign-outs end them. */
async function follow(kind: Kind, res: LightMyRequestResponse, sent: string, reuse: boolean, quiet: boolean) {
  const keep = () => ({ code: live.code, usedCode: live.usedCode, session: live.session, browser: live.browser });
  if (kind === 'token') {
    for (const [name, usedName, table, column] of [['code', 'usedCode', 'authorization_codes', 'code_hash'], ['refresh', 'usedRefresh', 'refresh_tokens', 'token_hash']] as const) {
      const v = live[name];
      if (!v || !sent.includes(v) || (await sql<{ u: unknown }>`select used_at as u from ${sql.table(table)} where ${sql.ref(column)} = ${sha(v)}`.execute(t.database.db)).rows[0]?.u == null) continue;
      Object.assign(live, { [usedName]: v, [name]: undefined });
      used.add(v);
    }
    if (res.statusCode === 200) capture(JSON.parse(res.body));
    if (reuse && res.statusCode >= 400) live = keep();
  }
  if (kind === 'revoke' && res.statusCode === 200) live = keep();
  if ((kind === 'logout' || kind === 'authn' || kind === 'update') && !quiet) live = {};
  if (kind === 'update' && res.statusCode === 303) temp.used = true;
}

const property = (name: string, arb: fc.Arbitrary<Spec>, runs: number) => test(name, () => fc.assert(fc.asyncProperty(arb, send), fuzzParams(runs)));
property('authorization endpoint: mutated and malformed requests, GET and POST, with and without sessions', authorize, RUNS.authorize);
property('login forms: authenticate and update-password with live, foreign and bogus interactions', forms, RUNS.forms);
property('token endpoint: every grant with live, used and random codes, tokens and client credentials', token, RUNS.token);
property('revocation, introspection and userinfo: live, used and random tokens and client credentials', tokenOps, RUNS.tokenOps);
property('logout: id_token_hint, post_logout_redirect_uri, confirmation and CSRF', logout, RUNS.logout);
property('client registration: POST and PATCH /auth/clients with mutated metadata', clients, RUNS.clients);

test('sign-in fuzz: request count', (ctx) => {
  ctx.diagnostic(`fuzz: sign-in.test.ts executed ${count} generated requests on ${t.database.dialect} (issuer path ${JSON.stringify(BASE)})`);
  ctx.diagnostic(`statuses: ${[...stats].sort().map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  for (const [key, { n, example }] of found) ctx.diagnostic(`VIOLATION x${n}: ${key}\n${example}`);
  assert.equal(found.size, 0, `${found.size} kinds of violation (see the diagnostics)`);
  if (!failed) assert.ok(count >= fuzzParams(Object.values(RUNS).reduce((a, b) => a + b, 0)).numRuns!, `only ${count} requests executed`);
});
