import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { randomSecret, sha256Hex } from '../../src/security/secrets.ts';
import { MIGRATIONS, migrateToLatest } from '../../src/store/migrate.ts';
import { searchText } from '../../src/store/user-store.ts';
import { ADMIN_KEY, GOOD_PASSWORD, testHasher } from '../helpers/app.ts';
import { forEachDialect, migrateUpTo } from './dialects.ts';

// Upgrading a live installation: logins made by the password grant before the sign-in migration (refresh-token
// families, nothing else) must come through it as sessions and grants, so nobody is signed out by the upgrade and
// nothing that was revoked comes back to life.

const LAST_BEFORE_SIGN_IN = '2026-11-28T1500-search';
const DAY = 86_400_000;
const REFRESH_TTL_MS = 30 * DAY; // the default GATEHOUSE_REFRESH_TOKEN_TTL

/** A refresh token as the old code made it: `grt_` + random, stored only as its SHA-256. */
const oldToken = () => `grt_${randomSecret(32)}`;

forEachDialect(
  'upgrading password-grant logins to sign-in sessions',
  (h) => {
    const now = Date.now();
    const userId = randomUUID();
    const LIVE_FAMILY = randomUUID();
    const REVOKED_FAMILY = randomUUID();
    // The live family: a token rotated out 20 days ago (used, not yet expired) and its successor, still live.
    const USED = oldToken();
    const LIVE = oldToken();
    // The revoked family: logged out 5 days ago (the old logout revoked every token of the family).
    const REVOKED = oldToken();
    let refreshedHash = '';

    test('the pre-sign-in schema holds a user and two refresh-token families', async () => {
      await migrateUpTo(h.database, LAST_BEFORE_SIGN_IN);
      // Written as rows of that schema: today's store writes columns and index rows it did not have yet.
      const email = `old.login.${h.dialect}@example.com`;
      const created = now - 60 * DAY;
      await h.db.insertInto('users').values({ id: userId, email, first_name: 'Old', last_name: 'Login', search_text: searchText(email, 'Old', 'Login'),
        password_hash: await testHasher.hash(GOOD_PASSWORD), password_temporary: 0, password_set_at: created, created_at: created, updated_at: created }).execute();
      await h.db.insertInto('user_roles').values({ user_id: userId, role: 'CHAT-USER' }).execute();
      const row = (token: string, family: string, created: number, fields: { used_at?: number; revoked_at?: number } = {}) => ({
        id: randomUUID(), token_hash: sha256Hex(token), family_id: family, user_id: userId, token_version: 0,
        created_at: created, expires_at: created + REFRESH_TTL_MS, used_at: fields.used_at ?? null, revoked_at: fields.revoked_at ?? null,
      });
      await h.db.insertInto('refresh_tokens').values([
        row(USED, LIVE_FAMILY, now - 25 * DAY, { used_at: now - 20 * DAY }),
        row(LIVE, LIVE_FAMILY, now - 20 * DAY),
        row(oldToken(), REVOKED_FAMILY, now - 15 * DAY, { used_at: now - 10 * DAY, revoked_at: now - 5 * DAY }),
        row(REVOKED, REVOKED_FAMILY, now - 10 * DAY, { revoked_at: now - 5 * DAY }),
      ]).execute();
    });

    test('migrating to the latest gives each family a login session and a grant with the family id', async () => {
      const results = await migrateToLatest(h.db, h.dialect, h.database.schema);
      assert.deepEqual(results.map((r) => r.migrationName), Object.keys(MIGRATIONS).sort().filter((n) => n > LAST_BEFORE_SIGN_IN));

      const sessions = await h.db.selectFrom('login_sessions').selectAll().execute();
      const grants = await h.db.selectFrom('grants').selectAll().execute();
      assert.deepEqual(sessions.map((s) => s.id).sort(), [LIVE_FAMILY, REVOKED_FAMILY].sort(), 'one session per family, no more');
      assert.deepEqual(grants.map((g) => g.id).sort(), [LIVE_FAMILY, REVOKED_FAMILY].sort(), 'one grant per family, no more');
      const session = (id: string) => sessions.find((s) => s.id === id)!;
      const grant = (id: string) => grants.find((g) => g.id === id)!;

      // The live login: active, begun when its first token was issued, no browser cookie, no client (password grant).
      assert.equal(session(LIVE_FAMILY).user_id, userId);
      assert.equal(session(LIVE_FAMILY).ended_at, null);
      assert.equal(session(LIVE_FAMILY).cookie_hash, null);
      assert.equal(Number(session(LIVE_FAMILY).auth_time), now - 25 * DAY);
      assert.equal(Number(session(LIVE_FAMILY).token_version), 0);
      assert.deepEqual({ ...grant(LIVE_FAMILY), created_at: Number(grant(LIVE_FAMILY).created_at) }, { id: LIVE_FAMILY, session_id: LIVE_FAMILY, user_id: userId, client_id: null, scope: '', created_at: now - 25 * DAY, revoked_at: null });

      // The logged-out one: ended and revoked when its tokens were.
      assert.equal(Number(session(REVOKED_FAMILY).ended_at), now - 5 * DAY);
      assert.equal(grant(REVOKED_FAMILY).session_id, REVOKED_FAMILY);
      assert.equal(Number(grant(REVOKED_FAMILY).revoked_at), now - 5 * DAY);
    });

    test('on the upgraded database the old live refresh token still works and the revoked one does not', async () => {
      const config = loadConfig({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn' });
      const app: FastifyInstance = await buildApp(config, { database: h.database, hasher: testHasher, logStream: { write: () => true } as unknown as NodeJS.WritableStream });
      try {
        const refresh = (token: string) =>
          app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString() });
        const me = (access: string) => app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${access}` } });

        const revoked = await refresh(REVOKED);
        assert.equal(revoked.statusCode, 400, revoked.body);
        assert.equal(revoked.json().error, 'invalid_grant');

        const res = await refresh(LIVE);
        assert.equal(res.statusCode, 200, res.body);
        const tokens = res.json() as { access_token: string; refresh_token: string };
        assert.match(tokens.refresh_token, /^grt_/);
        assert.notEqual(tokens.refresh_token, LIVE, 'rotated, as before');
        const claims = decodeJwt(tokens.access_token);
        assert.equal(claims.sub, userId);
        assert.equal(claims.gid, LIVE_FAMILY, 'issued under the migrated grant');
        assert.equal(claims.sid, LIVE_FAMILY);
        assert.equal((await me(tokens.access_token)).statusCode, 200);
        refreshedHash = sha256Hex(tokens.refresh_token);
        const successor = await h.db.selectFrom('refresh_tokens').select('family_id').where('token_hash', '=', refreshedHash).executeTakeFirstOrThrow();
        assert.equal(successor.family_id, LIVE_FAMILY, 'the family goes on');

        // A token rotated out before the upgrade, replayed, still ends the whole login (RFC 9700 §4.14), as it did.
        const reuse = await refresh(USED);
        assert.equal(reuse.statusCode, 400);
        assert.equal(reuse.json().error, 'invalid_grant');
        assert.equal((await me(tokens.access_token)).statusCode, 401, 'the replay ended the login');
        assert.equal((await refresh(tokens.refresh_token)).statusCode, 400, 'and the token refreshed after the upgrade with it');
        assert.equal((await refresh(LIVE)).statusCode, 400, 'each token works once');
      } finally {
        await app.close();
      }
    });

    test('a migrated login keeps sliding: each refresh lasts the full refresh lifetime, as before the upgrade', async () => {
      // Before the upgrade every refresh gave a token valid for the full lifetime, so a login used at least once a
      // month never ended; new password-grant logins still have no end of their own (startSession with no cookie).
      // A migrated one must not end at the expiry its last token happened to have on upgrade day.
      const refreshed = await h.db.selectFrom('refresh_tokens').select(['expires_at', 'created_at']).where('token_hash', '=', refreshedHash).executeTakeFirstOrThrow();
      assert.equal(Number(refreshed.expires_at), Number(refreshed.created_at) + REFRESH_TTL_MS, `refreshed token expires ${new Date(Number(refreshed.expires_at)).toISOString()}`);
    });
  },
  { migrate: false },
);
