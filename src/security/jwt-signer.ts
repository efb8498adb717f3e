import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { AccessClaims, Clock, TokenSigner } from '../domain/ports.ts';
import type { SigningKeyStore } from '../store/signing-key-store.ts';
import { sha256Hex } from './secrets.ts';

export const TOKEN_ALG = 'EdDSA';
const TOKEN_TYPE = 'at+jwt'; // RFC 9068: marks access tokens so no other JWT can be replayed as one
const CLOCK_TOLERANCE_S = 5;
const RELOAD_EVERY_MS = 60_000;
const UNKNOWN_KID_RELOAD_MS = 1_000;
const VERIFIED_CACHE_SIZE = 10_000;

export interface JwtSignerOptions {
  keys: SigningKeyStore;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  clock: Clock;
}

interface LoadedKey {
  kid: string;
  publicKey: CryptoKey;
  publicJwk: JWK;
  retiredAt: number | null;
}

export interface JwtSigner extends TokenSigner {
  /** The public keys other services need to verify our tokens: active keys, and retired ones until their tokens expire. */
  jwks(): Promise<{ keys: JWK[] }>;
  /** Makes a new signing key and retires the others (they stay in the JWKS until their tokens have expired). */
  rotate(): Promise<string>;
}

async function newKeyPair(now: number) {
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519', extractable: true });
  return {
    kid: `${new Date(now).toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`,
    alg: TOKEN_ALG,
    publicJwk: JSON.stringify(await exportJWK(publicKey)),
    privateJwk: JSON.stringify(await exportJWK(privateKey)),
    createdAt: now,
    retiredAt: null,
  };
}

function claimsOf(payload: Record<string, unknown>): AccessClaims | undefined {
  const { sub, ver, roles, jti, iat, exp } = payload;
  if (typeof sub !== 'string' || typeof jti !== 'string' || !Number.isInteger(ver)) return undefined;
  if (typeof iat !== 'number' || typeof exp !== 'number') return undefined;
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) return undefined;
  return { sub, ver: ver as number, roles: roles as string[], jti, iat, exp };
}

/**
 * Signs and verifies access tokens with Ed25519 keys kept in the database (generated at first start), so every
 * replica signs and verifies with the same keys. Verification accepts exactly one algorithm, so `alg: none` and
 * HS256-with-the-public-key forgeries fail before any key is used. Verified tokens are remembered (keyed by their
 * SHA-256, until they expire) because WebCrypto verification costs far more than the request it guards; revocation
 * is unaffected, since the token version is still checked against the database on every request.
 */
export async function createJwtSigner(opts: JwtSignerOptions): Promise<JwtSigner> {
  const { keys: store, issuer, audience, accessTtlSeconds, clock } = opts;
  let byKid = new Map<string, LoadedKey>();
  let signing: { kid: string; privateKey: CryptoKey } | undefined;
  let loadedAt = 0;
  let lastUnknownKidReload = 0;
  const verified = new Map<string, AccessClaims>();

  async function load(): Promise<void> {
    let stored = await store.list();
    if (!stored.some((k) => k.retiredAt === null)) {
      await store.insertIfNoneActive(await newKeyPair(clock.now()));
      stored = await store.list();
    }
    const next = new Map<string, LoadedKey>();
    for (const k of stored) {
      const publicJwk = JSON.parse(k.publicJwk) as JWK;
      next.set(k.kid, { kid: k.kid, publicKey: (await importJWK(publicJwk, TOKEN_ALG)) as CryptoKey, publicJwk, retiredAt: k.retiredAt });
    }
    // The oldest active key signs, so replicas that raced to create a first key all settle on the same one.
    const active = stored.find((k) => k.retiredAt === null)!;
    if (signing?.kid !== active.kid) {
      signing = { kid: active.kid, privateKey: (await importJWK(JSON.parse(active.privateJwk) as JWK, TOKEN_ALG)) as CryptoKey };
    }
    byKid = next;
    loadedAt = clock.now();
  }

  function refreshSoon(): void {
    if (clock.now() - loadedAt > RELOAD_EVERY_MS) {
      loadedAt = clock.now(); // one reload at a time
      load().catch(() => {
        loadedAt = 0; // try again on the next request
      });
    }
  }

  const stillPublished = (k: LoadedKey, now: number) =>
    k.retiredAt === null || k.retiredAt + (accessTtlSeconds + CLOCK_TOLERANCE_S) * 1000 > now;

  await load();

  return {
    async sign({ sub, ver, roles, jti }) {
      refreshSoon();
      const key = signing!;
      const iat = Math.floor(clock.now() / 1000);
      const token = await new SignJWT({ ver, roles })
        .setProtectedHeader({ alg: TOKEN_ALG, kid: key.kid, typ: TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(sub)
        .setJti(jti)
        .setIssuedAt(iat)
        .setExpirationTime(iat + accessTtlSeconds)
        .sign(key.privateKey);
      return { token, expiresIn: accessTtlSeconds };
    },

    async verify(token) {
      const now = clock.now();
      const digest = sha256Hex(token);
      const hit = verified.get(digest);
      if (hit) {
        if (hit.exp * 1000 > now - CLOCK_TOLERANCE_S * 1000) return hit;
        verified.delete(digest);
        return undefined;
      }
      let header;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        return undefined;
      }
      if (header.alg !== TOKEN_ALG || typeof header.kid !== 'string') return undefined;
      let key = byKid.get(header.kid);
      if (!key && now - lastUnknownKidReload > UNKNOWN_KID_RELOAD_MS) {
        lastUnknownKidReload = now; // a key minted by another replica; look once a second at most
        await load().catch(() => undefined);
        key = byKid.get(header.kid);
      }
      if (!key || !stillPublished(key, now)) return undefined;
      refreshSoon();
      try {
        const { payload } = await jwtVerify(token, key.publicKey, {
          issuer,
          audience,
          algorithms: [TOKEN_ALG],
          typ: TOKEN_TYPE,
          clockTolerance: CLOCK_TOLERANCE_S,
          currentDate: new Date(now),
          requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        });
        const claims = claimsOf(payload);
        if (!claims) return undefined;
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
        verified.set(digest, claims);
        return claims;
      } catch {
        return undefined;
      }
    },

    async jwks() {
      // Published keys come straight from the database (at most a second old), so a key rotated or created on
      // another replica is in every replica's JWKS before tokens signed with it reach a verifier.
      if (clock.now() - loadedAt > 1_000) await load();
      const now = clock.now();
      return {
        keys: [...byKid.values()]
          .filter((k) => stillPublished(k, now))
          .map((k) => ({ ...k.publicJwk, kid: k.kid, alg: TOKEN_ALG, use: 'sig' })),
      };
    },

    async rotate() {
      const fresh = await newKeyPair(clock.now());
      await store.insert(fresh);
      await store.retireAllBut(fresh.kid, clock.now());
      await load();
      return fresh.kid;
    },
  };
}
