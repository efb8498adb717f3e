import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { createUser, GOOD_PASSWORD } from '../helpers/app.ts';
import { CookieBrowser, formOf, listeningApp, registerClient, signInThroughPage } from '../helpers/oidc.ts';

// The whole flow driven by a certified relying-party library (openid-client), over real HTTP, on the dialect under
// test: discovery, code + PKCE, ID-token validation, userinfo, refresh, revocation, introspection and logout.

const REDIRECT = 'http://app.example.test/callback';
const SIGNED_OUT = 'http://app.example.test/signed-out';

async function discover(issuer: string, clientId: string, secret?: string) {
  return oidc.discovery(new URL(issuer), clientId, secret, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests], // the test server speaks plain HTTP on loopback
  });
}

/** A code + PKCE authorization request with fresh state and nonce, and what its answer is checked against. */
async function authorizationRequest(config: oidc.Configuration, scope: string, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const exchange = (back: URL) => oidc.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  return { url: url.toString(), exchange };
}

async function signIn(config: oidc.Configuration, browser: CookieBrowser, email: string, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(config, 'openid email profile', extra);
  return request.exchange(await signInThroughPage(browser, request.url, email, GOOD_PASSWORD));
}

test('openid-client: a confidential client signs a user in, refreshes, reads userinfo, introspects, revokes and logs out', async () => {
  const t = await listeningApp();
  const user = await createUser(t.app, { roles: ['TASK-ADMIN'], firstName: 'Ada', lastName: 'Lovelace' });
  const client = await registerClient(t.app);
  assert.ok(client.client_secret?.startsWith('gcs_'));
  const config = await discover(t.issuer, client.client_id, client.client_secret);
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, t.issuer);
  assert.equal(meta.authorization_endpoint, `${t.issuer}/protocol/openid-connect/auth`);
  assert.equal(meta.jwks_uri, `${t.issuer}/protocol/openid-connect/certs`);

  const browser = new CookieBrowser(t.origin);
  const tokens = await signIn(config, browser, user.email);
  const idClaims = tokens.claims()!;
  assert.equal(idClaims.sub, user.id);
  assert.equal(idClaims.aud, client.client_id);
  assert.equal(idClaims.email, user.email);
  assert.equal(idClaims.given_name, 'Ada');
  assert.equal(idClaims.family_name, 'Lovelace');
  assert.deepEqual(idClaims.realm_access, { roles: ['TASK-ADMIN'] });
  assert.equal(typeof idClaims.sid, 'string');
  assert.equal(typeof idClaims.auth_time, 'number');
  assert.equal(tokens.scope, 'openid email profile');

  // The access token is an API credential like any other.
  const me = await fetch(`${t.origin}/users/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).user_id, user.id);

  // How the seed's system checked tokens with Keycloak: RS256 against the realm's certs, claims read directly.
  const jwks = createRemoteJWKSet(new URL(`${t.issuer}/protocol/openid-connect/certs`));
  const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { algorithms: ['RS256'] });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.sub, user.id);
  assert.equal(payload.email, user.email);
  assert.deepEqual((payload.realm_access as { roles: string[] }).roles, ['TASK-ADMIN']);
  assert.equal(payload.azp, client.client_id);
  assert.ok(tokens.access_token.length < 4096, 'fits in a cookie');

  const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
  assert.equal(info.email, user.email);
  assert.equal(info.name, 'Ada Lovelace');
  assert.equal(info.preferred_username, user.email);

  const intro = await oidc.tokenIntrospection(config, tokens.access_token);
  assert.equal(intro.active, true);
  assert.equal(intro.sub, user.id);
  assert.equal(intro.client_id, client.client_id);

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
  assert.equal(refreshed.claims()?.sub, user.id, 'a refreshed ID token for the same user');
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), (err: any) => err.error === 'invalid_grant', 'a used refresh token is dead');

  // The reuse ended that grant: the refreshed tokens are dead too (RFC 9700 §4.14).
  assert.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, false);
  assert.equal((await fetch(`${t.origin}/users/me`, { headers: { authorization: `Bearer ${refreshed.access_token}` } })).status, 401);

  // A new sign-in in the same browser needs no password (single sign-on), then RFC 7009 revocation ends it.
  const second = await signInSilently(config, browser);
  assert.equal((await oidc.tokenIntrospection(config, second.access_token)).active, true);
  await oidc.tokenRevocation(config, second.refresh_token!);
  assert.equal((await oidc.tokenIntrospection(config, second.access_token)).active, false, 'revoking the refresh token ends its access token');
  await assert.rejects(oidc.refreshTokenGrant(config, second.refresh_token!));

  // RP-initiated logout ends the browser session and every token issued in it.
  const third = await signInSilently(config, browser);
  const logout = oidc.buildEndSessionUrl(config, { id_token_hint: third.id_token!, post_logout_redirect_uri: SIGNED_OUT, state: 'bye' });
  const out = await browser.get(logout.toString());
  assert.equal(out.status, 302);
  assert.equal(out.location, `${SIGNED_OUT}?state=bye`);
  assert.equal((await fetch(`${t.origin}/users/me`, { headers: { authorization: `Bearer ${third.access_token}` } })).status, 401, 'logout ends the access token');
  await assert.rejects(oidc.refreshTokenGrant(config, third.refresh_token!));
  // ... and the browser must sign in again.
  const again = await browser.get(oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString());
  assert.equal(again.status, 200, 'the login page, not a silent redirect');
});

async function signInSilently(config: oidc.Configuration, browser: CookieBrowser) {
  const request = await authorizationRequest(config, 'openid email');
  const res = await browser.get(request.url);
  assert.equal(res.status, 302, `single sign-on redirects at once: ${res.status} ${res.body.slice(0, 200)}`);
  return request.exchange(new URL(res.location!));
}

test('openid-client: a public client signs in with PKCE only; a temporary password is changed inside the flow', async () => {
  const t = await listeningApp();
  const user = await createUser(t.app, { temporary: true });
  const client = await registerClient(t.app, { token_endpoint_auth_method: 'none' });
  assert.equal(client.client_secret, undefined, 'a public client has no secret');
  const config = await discover(t.issuer, client.client_id);

  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const browser = new CookieBrowser(t.origin);
  const page = await browser.get(url.toString());
  const login = formOf(page.body);
  const step = await browser.post(login.action, { ...login.fields, username: user.email, password: GOOD_PASSWORD });
  assert.equal(step.status, 200);
  assert.match(step.body, /Choose a new password/);
  const update = formOf(step.body);
  const NEW = 'Brand-New-Harbor-77-Lamp';
  const mismatch = await browser.post(update.action, { ...update.fields, password: NEW, confirm: `${NEW}x` });
  assert.match(mismatch.body, /do not match/);
  const weak = await browser.post(update.action, { ...update.fields, password: 'password1234', confirm: 'password1234' });
  assert.equal(weak.status, 200);
  assert.match(weak.body, /role="alert"/);
  const done = await browser.post(update.action, { ...update.fields, password: NEW, confirm: NEW });
  assert.equal(done.status, 303, done.body.slice(0, 300));
  const tokens = await oidc.authorizationCodeGrant(config, new URL(done.location!), { pkceCodeVerifier: verifier, expectedState: state });
  assert.equal(tokens.claims()?.sub, user.id);

  // The new password is permanent: the password grant works with it, and the temporary one is gone.
  const grant = await fetch(`${t.origin}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: user.email, password: NEW }) });
  assert.equal(grant.status, 200);
  const old = await fetch(`${t.origin}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: user.email, password: GOOD_PASSWORD }) });
  assert.equal(old.status, 400);
  const me = await fetch(`${t.origin}/users/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal((await me.json()).user_id, user.id);
});

test('response_mode=fragment (as keycloak-js asks): the code, state and iss come back in the fragment and exchange as usual', async () => {
  const t = await listeningApp();
  const user = await createUser(t.app);
  const client = await registerClient(t.app, { token_endpoint_auth_method: 'none' });
  const config = await discover(t.issuer, client.client_id);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid',
    response_mode: 'fragment',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'frag-state',
  });
  const back = await signInThroughPage(new CookieBrowser(t.origin), url.toString(), user.email, GOOD_PASSWORD);
  assert.equal(back.search, '', 'nothing in the query');
  const fragment = new URLSearchParams(back.hash.slice(1));
  assert.equal(fragment.get('state'), 'frag-state');
  assert.equal(fragment.get('iss'), t.issuer);
  const res = await fetch(`${t.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code: fragment.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id }),
  });
  assert.equal(res.status, 200);
  assert.equal(decodeJwt((await res.json()).id_token).sub, user.id);
});
