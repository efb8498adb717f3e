import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashRawSync, hashSync as argon2HashSync } from '@node-rs/argon2';
import bcryptjs from 'bcryptjs';
import { createArgon2Hasher } from '../../src/security/argon2-hasher.ts';
import {
  encodeArgon2Phc,
  encodeBcrypt,
  encodePbkdf2,
  isStorableHash,
  NO_PASSWORD,
  verifyLegacyHash,
  withLegacyHashes,
} from '../../src/security/legacy-password.ts';

// Test vectors are computed here from each algorithm's definition (PBKDF2: RFC 8018 via node:crypto; argon2 and
// bcrypt via their libraries), never copied from elsewhere.
const PASSWORD = 'Tr0ub4dor & 3 — ünïcode';
const b64 = (b: Buffer) => b.toString('base64');

describe('legacy password hashes', () => {
  for (const [scheme, digest] of [['pbkdf2-sha1', 'sha1'], ['pbkdf2-sha256', 'sha256'], ['pbkdf2-sha512', 'sha512']] as const) {
    it(`${scheme}: verifies the right password, refuses a wrong one, whatever the key length`, async () => {
      for (const keyLength of [20, 32, 64]) {
        const salt = randomBytes(16);
        const stored = encodePbkdf2(scheme, 1200, salt, pbkdf2Sync(Buffer.from(PASSWORD, 'utf8'), salt, 1200, keyLength, digest));
        assert.equal(await verifyLegacyHash(stored, PASSWORD), true, `${scheme} with a ${keyLength}-byte key`);
        assert.equal(await verifyLegacyHash(stored, PASSWORD + 'x'), false);
        assert.equal(await verifyLegacyHash(stored, ''), false);
      }
    });
  }

  it('a PBKDF2 hash with its iterations or digest changed no longer verifies', async () => {
    const salt = randomBytes(16);
    const hash = pbkdf2Sync(PASSWORD, salt, 1000, 64, 'sha256');
    assert.equal(await verifyLegacyHash(encodePbkdf2('pbkdf2-sha256', 1001, salt, hash), PASSWORD), false);
    assert.equal(await verifyLegacyHash(encodePbkdf2('pbkdf2-sha512', 1000, salt, hash), PASSWORD), false);
  });

  for (const [type, algorithm] of [['argon2id', 2], ['argon2i', 1], ['argon2d', 0]] as const) {
    it(`${type} from raw parameters (Keycloak's own provider) and as a PHC string (community provider)`, async () => {
      const salt = randomBytes(16);
      const raw = hashRawSync(PASSWORD, { algorithm, memoryCost: 1024, timeCost: 2, parallelism: 1, outputLen: 24, salt });
      const phc = `$${type}$v=19$m=1024,t=2,p=1$${b64(salt).replace(/=+$/, '')}$${b64(raw).replace(/=+$/, '')}`;
      const fromRaw = encodeArgon2Phc(phc)!;
      assert.equal(await verifyLegacyHash(fromRaw, PASSWORD), true);
      assert.equal(await verifyLegacyHash(fromRaw, 'wrong'), false);
      const community = encodeArgon2Phc(argon2HashSync(PASSWORD, { algorithm, memoryCost: 1024, timeCost: 1, parallelism: 1 }))!;
      assert.equal(await verifyLegacyHash(community, PASSWORD), true);
      assert.equal(await verifyLegacyHash(community, 'wrong'), false);
    });
  }

  it('argon2 version 1.0 (v=16) hashes verify too', async () => {
    const salt = randomBytes(16);
    const raw = hashRawSync(PASSWORD, { algorithm: 2, version: 0, memoryCost: 1024, timeCost: 2, parallelism: 1, outputLen: 32, salt });
    const stored = encodeArgon2Phc(`$argon2id$v=16$m=1024,t=2,p=1$${b64(salt)}$${b64(raw)}`)!;
    assert.equal(await verifyLegacyHash(stored, PASSWORD), true);
    assert.equal(await verifyLegacyHash(stored, 'wrong'), false);
  });

  for (const prefix of ['$2a$', '$2b$', '$2y$']) {
    it(`bcrypt ${prefix}`, async () => {
      const salt = bcryptjs.genSaltSync(4).replace(/^\$2b\$/, prefix);
      const stored = encodeBcrypt(bcryptjs.hashSync(PASSWORD, salt))!;
      assert.ok(stored.startsWith(`$legacy-bcrypt${prefix}`));
      assert.equal(await verifyLegacyHash(stored, PASSWORD), true);
      assert.equal(await verifyLegacyHash(stored, 'wrong'), false);
    });
  }

  it('malformed, unknown and password-less hashes never match and never throw', async () => {
    for (const stored of [NO_PASSWORD, '$legacy-md5$abc', '$legacy-pbkdf2-sha256$i=0$AAAA$AAAA', '$legacy-pbkdf2-sha256$i=10$!!$AAAA', '$legacy-argon2$argon2id$nonsense', '$legacy-bcrypt$2a$10$short', '']) {
      assert.equal(await verifyLegacyHash(stored, PASSWORD), false, stored);
      assert.equal(await verifyLegacyHash(stored, ''), false, stored);
    }
    assert.equal(encodeBcrypt('$2a$10$short'), undefined);
    assert.equal(encodeArgon2Phc('$argon2id$m=1,t=1'), undefined);
    // Costs no sign-in should pay: refused at import, and never verified if stored some other way.
    assert.equal(encodeArgon2Phc('$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA'), undefined);
    assert.equal(await verifyLegacyHash('$legacy-argon2$argon2id$v=19$m=1024,t=5000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA', PASSWORD), false);
  });

  it('isStorableHash accepts Gatehouse argon2id and well-formed legacy hashes only', async () => {
    const argon = await createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }).hash(PASSWORD);
    assert.equal(isStorableHash(argon), true);
    assert.equal(isStorableHash(encodePbkdf2('pbkdf2-sha1', 10, randomBytes(8), randomBytes(20))), true);
    assert.equal(isStorableHash(NO_PASSWORD), true);
    for (const bad of ['plain text', '$legacy-pbkdf2-sha256$i=10$$', '$argon2id$v=19$junk', '$2a$10$x']) assert.equal(isStorableHash(bad), false, bad);
  });
});

describe('withLegacyHashes', () => {
  const inner = createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
  const hasher = withLegacyHashes(inner);

  it("hashes with Gatehouse's argon2id and verifies its own hashes unchanged", async () => {
    const stored = await hasher.hash(PASSWORD);
    assert.match(stored, /^\$argon2id\$/);
    assert.equal(await hasher.verify(stored, PASSWORD), true);
    assert.equal(await hasher.verify(stored, 'wrong'), false);
    assert.equal(hasher.needsRehash?.(stored), false);
  });

  it('verifies legacy hashes by their prefix and asks for them to be re-hashed', async () => {
    const salt = randomBytes(16);
    const stored = encodePbkdf2('pbkdf2-sha512', 1000, salt, pbkdf2Sync(PASSWORD, salt, 1000, 64, 'sha512'));
    assert.equal(await hasher.verify(stored, PASSWORD), true);
    assert.equal(await hasher.verify(stored, 'wrong'), false);
    assert.equal(hasher.needsRehash?.(stored), true);
    assert.equal(await hasher.verify(NO_PASSWORD, PASSWORD), false);
  });

  it('wrapping twice changes nothing', () => {
    assert.equal(withLegacyHashes(hasher), hasher);
  });
});
