import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import type { SigningAlg } from '../../src/config.ts';
import type { Checkpoint } from '../../src/domain/audit.ts';
import { CHECKPOINT_TYPE, createJwtSigner, type JwtSigner } from '../../src/security/jwt-signer.ts';
import { createSigningKeyStore } from '../../src/store/signing-key-store.ts';
import { forEachDialect, type DialectHandle } from '../store/dialects.ts';

// Signed checkpoints (the signer's signCheckpoint / verifyCheckpoint): what they carry, that any stored key verifies
// its own for years after retirement, and that nothing else passes for one — nor one for anything else.

const ISSUER = 'https://id.example.test';
const DAY_MS = 86_400_000;
const hex = (s: string) => createHash('sha256').update(s).digest('hex');

function clockAt(start: number) {
  let t = start;
  return { now: () => t, set: (ms: number) => void (t = ms), advance: (ms: number) => void (t += ms) };
}

function signerOn(h: DialectHandle, clock: { now(): number }, alg: SigningAlg = 'RS256', issuer = ISSUER): Promise<JwtSigner> {
  return createJwtSigner({ keys: createSigningKeyStore(h.db, h.dialect), issuer, audience: 'gatehouse', accessTtlSeconds: 900, alg, clock });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

forEachDialect('audit checkpoints', (h) => {
  const clock = clockAt(Date.parse('2026-12-01T10:00:00Z'));

  test('a checkpoint carries the head and is verified back, with every signing algorithm', async () => {
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      const signer = await signerOn(h, clock, alg); // a new algorithm rotates the stored key
      const cp: Checkpoint = { seq: 1234, hash: hex(`head-${alg}`), at: clock.now() };
      const jws = await signer.signCheckpoint(cp);
      assert.match(jws, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a compact JWS');
      const header = decodeProtectedHeader(jws);
      assert.deepEqual(header, { alg: signer.alg, kid: header.kid, typ: CHECKPOINT_TYPE });
      assert.equal(signer.alg, alg);
      assert.ok((await signer.jwks()).keys.some((k) => k.kid === header.kid), 'signed with the current, published key');
      assert.deepEqual(decodeJwt(jws), { iss: ISSUER, iat: Math.floor(clock.now() / 1000), seq: 1234, hash: cp.hash, at: cp.at }, 'no exp, no aud');
      assert.deepEqual(await signer.verifyCheckpoint(jws), cp);
      assert.deepEqual(await signer.verifyCheckpoint(`${jws}\n`), cp, 'as read from a file');
      const empty: Checkpoint = { seq: 0, hash: '0'.repeat(64), at: clock.now() };
      assert.deepEqual(await signer.verifyCheckpoint(await signer.signCheckpoint(empty)), empty, 'the empty chain');
    }
  });

  test('a checkpoint verifies years after its key was retired, on any replica; tokens of that key do not', async () => {
    const signer = await signerOn(h, clock);
    const cp: Checkpoint = { seq: 77, hash: hex('old head'), at: clock.now() };
    const jws = await signer.signCheckpoint(cp);
    const oldKid = decodeProtectedHeader(jws).kid;
    const { token } = await signer.sign({ sub: 'u1', ver: 0, roles: [], jti: 'j1' });
    assert.ok(await signer.verify(token));

    await signer.rotate();
    clock.advance(DAY_MS);
    await signer.rotate();
    clock.advance(5 * 365 * DAY_MS);

    assert.ok(!(await signer.jwks()).keys.some((k) => k.kid === oldKid), 'the old key is long unpublished');
    assert.equal(await signer.verify(token), undefined, 'its access tokens are dead, as before');
    assert.deepEqual(await signer.verifyCheckpoint(jws), cp);
    const later = await signerOn(h, clock); // a replica started years later
    assert.deepEqual(await later.verifyCheckpoint(jws), cp);
    const fresh = await later.signCheckpoint({ seq: 78, hash: hex('new head'), at: clock.now() });
    assert.notEqual(decodeProtectedHeader(fresh).kid, oldKid, 'new checkpoints use the current key');
    assert.deepEqual(await signer.verifyCheckpoint(fresh), { seq: 78, hash: hex('new head'), at: clock.now() });
  });

  test('forged, altered or foreign checkpoints are refused; a checkpoint is no token and no token a checkpoint', async () => {
    const signer = await signerOn(h, clock);
    const cp: Checkpoint = { seq: 500, hash: hex('genuine'), at: clock.now() };
    const jws = await signer.signCheckpoint(cp);
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    const claims = decodeJwt(jws);
    const kid = decodeProtectedHeader(jws).kid!;
    const refused = async (candidate: string, why: string) => assert.equal(await signer.verifyCheckpoint(candidate), undefined, why);

    await refused(`${header}.${b64({ ...claims, seq: 400 })}.${signature}`, 'payload changed, signature kept');
    await refused(`${header}.${b64({ ...claims, hash: hex('forged') })}.${signature}`, 'hash changed');
    const sig = Buffer.from(signature, 'base64url');
    sig[sig.length >> 1]! ^= 0x01;
    await refused(`${header}.${payload}.${sig.toString('base64url')}`, 'one bit of the signature flipped');
    await refused(`${header}.${payload}.`, 'no signature');
    await refused(`${b64({ ...decodeProtectedHeader(jws), typ: 'JWT' })}.${payload}.${signature}`, 'header typ changed');
    await refused('not a jws', 'garbage');
    await refused('', 'empty');
    await refused(new UnsecuredJWT({ ...claims }).encode().replace(/^[^.]+/, b64({ alg: 'none', typ: CHECKPOINT_TYPE, kid })), 'alg none');

    // Right type and kid, someone else's key.
    const foreign = await generateKeyPair('RS256');
    await refused(await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS256', kid, typ: CHECKPOINT_TYPE }).sign(foreign.privateKey), 'foreign key');
    await refused(await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'no-such-kid', typ: CHECKPOINT_TYPE }).sign(foreign.privateKey), 'unknown kid');

    // Our own key, but not a checkpoint's type, issuer or claims.
    const stored = (await createSigningKeyStore(h.db, h.dialect).list()).find((k) => k.kid === kid)!;
    const ours = (await importJWK(JSON.parse(stored.privateJwk) as JWK, stored.alg)) as CryptoKey;
    const withOurKey = (body: Record<string, unknown>, typ = CHECKPOINT_TYPE) => new SignJWT(body).setProtectedHeader({ alg: stored.alg, kid, typ }).sign(ours);
    assert.deepEqual(await signer.verifyCheckpoint(await withOurKey({ ...claims })), cp, 'the control: our key, the right everything');
    await refused(await withOurKey({ ...claims }, 'at+jwt'), 'typ of an access token');
    await refused(await withOurKey({ ...claims, iss: 'https://evil.example.test' }), 'another issuer');
    await refused(await withOurKey({ ...claims, hash: 'not-hex' }), 'a hash that is not SHA-256 hex');
    await refused(await withOurKey({ ...claims, seq: -1 }), 'a negative seq');
    await refused(await withOurKey({ ...claims, seq: '500' }), 'a seq that is a string');
    const { at: _at, ...noAt } = claims;
    await refused(await withOurKey(noAt), 'no at');
    const { iss: _iss, ...noIss } = claims;
    await refused(await withOurKey(noIss), 'no iss');

    // Another Gatehouse (another issuer) on the same keys does not accept ours.
    const other = await signerOn(h, clock, 'RS256', 'https://other.example.test');
    assert.equal(await other.verifyCheckpoint(jws), undefined);

    // Tokens and checkpoints never stand in for one another.
    const { token } = await signer.sign({ sub: 'u1', ver: 0, roles: [], jti: 'j2' });
    await refused(token, 'an access token');
    await refused(await signer.signIdToken({ sub: 'u1' }, 'client-1', token), 'an ID token');
    assert.equal(await signer.verify(jws), undefined, 'a checkpoint is not an access token');
    assert.equal(await signer.verifyIdTokenHint(jws), undefined, 'nor an ID token hint');
  });

  test('signCheckpoint refuses a malformed head', async () => {
    const signer = await signerOn(h, clock);
    for (const bad of [
      { seq: -1, hash: hex('x'), at: 1 },
      { seq: 1.5, hash: hex('x'), at: 1 },
      { seq: 1, hash: 'ABC', at: 1 },
      { seq: 1, hash: hex('x').toUpperCase(), at: 1 },
      { seq: 1, hash: hex('x'), at: Number.NaN },
    ]) {
      await assert.rejects(signer.signCheckpoint(bad), /checkpoint/, JSON.stringify(bad));
    }
  });
});
