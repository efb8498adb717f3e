// A complete web application that signs its users in with Gatehouse, using openid-client (a certified OpenID
// Connect relying party). Run it with the client you registered:
//
//   ISSUER=http://127.0.0.1:8000 CLIENT_ID=... CLIENT_SECRET=... node docs/examples/sign-in-app.mjs
//
// then open http://127.0.0.1:3000. It keeps its sessions in memory: an example, not a production app.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';

const { ISSUER = 'http://127.0.0.1:8000', CLIENT_ID, CLIENT_SECRET, PORT = '3000' } = process.env;
if (!CLIENT_ID) throw new Error('set CLIENT_ID (and CLIENT_SECRET for a confidential client)');
const APP = `http://127.0.0.1:${PORT}`;

const config = await oidc.discovery(
  new URL(ISSUER),
  CLIENT_ID,
  CLIENT_SECRET,
  CLIENT_SECRET ? oidc.ClientSecretBasic(CLIENT_SECRET) : oidc.None(),
  ISSUER.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {}, // plain HTTP only for local trials
);

/** session id (a cookie) → { verifier, state, nonce } during sign-in, then { tokens, claims } */
const sessions = new Map();
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (res, body) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Example app</title>${body}`);
const redirect = (res, location, cookie) => res.writeHead(302, { location, ...(cookie ? { 'set-cookie': cookie } : {}) }).end();

createServer(async (req, res) => {
  const url = new URL(req.url, APP);
  const sid = /(?:^|;\s*)app_session=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1];
  const session = sid ? sessions.get(sid) : undefined;
  try {
    if (url.pathname === '/login') {
      const id = randomUUID();
      const flow = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
      sessions.set(id, flow);
      const target = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${APP}/callback`,
        scope: 'openid email profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
        code_challenge_method: 'S256',
        state: flow.state,
        nonce: flow.nonce,
      });
      return redirect(res, target.href, `app_session=${id}; Path=/; HttpOnly; SameSite=Lax`);
    }
    if (url.pathname === '/callback' && session?.verifier) {
      const tokens = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: session.verifier,
        expectedState: session.state,
        expectedNonce: session.nonce,
      });
      sessions.set(sid, { tokens, claims: tokens.claims() });
      return redirect(res, '/');
    }
    if (url.pathname === '/logout' && session?.tokens) {
      sessions.delete(sid);
      const target = oidc.buildEndSessionUrl(config, { id_token_hint: session.tokens.id_token, post_logout_redirect_uri: `${APP}/` });
      return redirect(res, target.href);
    }
    if (url.pathname === '/' && session?.claims) {
      const { email, name, realm_access } = session.claims;
      return page(res, `<h1>Signed in as ${escape(name ?? email)}</h1><p>${escape(email)}; roles: ${escape(realm_access.roles.join(', ') || 'none')}</p><p><a href="/logout">Sign out</a></p>`);
    }
    return page(res, '<h1>Example app</h1><p><a href="/login">Sign in with Gatehouse</a></p>');
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`Sign-in failed: ${err.message}`);
  }
}).listen(Number(PORT), '127.0.0.1', () => console.log(`example app on ${APP}`));
