import { hash, randomUUID } from 'node:crypto';
import {
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { Checkpoint } from '../domain/audit.ts';
import type { AccessClaims, Clock, TokenSigner } from '../domain/ports.ts';
import type { SigningKeyStore } from '../store/signing-key-store.ts';
import { sha256Hex } from './secrets.ts';

// RS256 is OpenID Connect's mandatory algorithm and the default; ES256 and Ed25519 are selectable.

import { SIGNING_ALGS, type SigningAlg } from '../config.ts';

const ACCESS_TOKEN_TYPE = 'at+jwt'; // RFC 9068: marks access tokens so an ID token cannot be replayed as one
const ID_TOKEN_TYPE = 'JWT';
/** Marks a signed audit checkpoint, so that no token can pass for one and no checkpoint for a token. */
export const CHECKPOINT_TYPE = 'gatehouse-audit-checkpoint+jwt';
const CLOCK_TOLERANCE_S = 5;
const RELOAD_EVERY_MS = 60_000;
const UNKNOWN_KID_RELOAD_MS = 1_000;
const VERIFIED_CACHE_SIZE = 10_000;

export interface JwtSignerOptions {
  keys: SigningKeyStore;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  /** The algorithm new tokens are signed with; a stored active key of another algorithm is rotated out. */
  alg: SigningAlg;
  clock: Clock;
}

interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  publicKey: CryptoKey;
  publicJwk: JWK;
  retiredAt: number | null;
}

export interface JwtSigner extends TokenSigner {
  /** The public keys other services need to verify our tokens: active keys, and retired ones until their tokens expire. */
  jwks(): Promise<{ keys: JWK[] }>;
  /** Makes a new signing key and retires the others (they stay in the JWKS until their tokens have expired). */
  rotate(): Promise<string>;
  readonly alg: SigningAlg;
  /**
   * A compact JWS stating the audit chain's head (header `typ: gatehouse-audit-checkpoint+jwt`, `kid`, `alg` of the
   * current signing key; claims `iss`, `iat`, `seq`, `hash`, `at`). It never expires: operators keep it for years.
   */
  signCheckpoint(checkpoint: Checkpoint): Promise<string>;
  /**
   * The checkpoint a JWS from signCheckpoint states, or undefined when its type, issuer, signature or claims are
   * wrong. Verified with the stored public key of its `kid`, published or long retired.
   */
  verifyCheckpoint(jws: string): Promise<Checkpoint | undefined>;
}

const isSigningAlg = (alg: unknown): alg is SigningAlg => SIGNING_ALGS.includes(alg as SigningAlg);

async function newKeyPair(alg: SigningAlg, now: number) {
  const options = alg === 'RS256' ? { modulusLength: 2048 } : alg === 'EdDSA' ? { crv: 'Ed25519' } : {};
  const { publicKey, privateKey } = await generateKeyPair(alg, { ...options, extractable: true });
  return {
    kid: `${new Date(now).toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`,
    alg,
    publicJwk: JSON.stringify(await exportJWK(publicKey)),
    privateJwk: JSON.stringify(await exportJWK(privateKey)),
    createdAt: now,
    retiredAt: null,
  };
}

const optionalString = (value: unknown) => (typeof value === 'string' ? value : undefined);

const SHA256_HEX = /^[0-9a-f]{64}$/;

function isCheckpoint(value: { seq: unknown; hash: unknown; at: unknown }): value is Checkpoint {
  return Number.isSafeInteger(value.seq) && (value.seq as number) >= 0 && typeof value.hash === 'string' && SHA256_HEX.test(value.hash) && Number.isSafeInteger(value.at);
}

function claimsOf(payload: JWTPayload): AccessClaims | undefined {
  const { sub, ver, roles, jti, iat, exp } = payload;
  if (typeof sub !== 'string' || typeof jti !== 'string' || !Number.isInteger(ver)) return undefined;
  if (typeof iat !== 'number' || typeof exp !== 'number') return undefined;
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) return undefined;
  return {
    sub,
    ver: ver as number,
    roles: roles as string[],
    jti,
    iat,
    exp,
    sid: optionalString(payload.sid),
    gid: optionalString(payload.gid),
    azp: optionalString(payload.azp),
    scope: optionalString(payload.scope),
    authTime: typeof payload.auth_time === 'number' ? payload.auth_time * 1000 : undefined,
  };
}

/**
 * Signs and verifies tokens with keys kept in the database (generated at first start), so every replica signs and
 * verifies with the same keys. A key verifies only with its own algorithm, so `alg: none` and HS256-with-the-public-
 * key forgeries fail before any key is used. Verified access tokens are remembered (keyed by their SHA-256, until
 * they expire) because WebCrypto verification costs far more than the request it guards; revocation is unaffected,
 * since the token version, grant and session are still checked against the database on every request.
 */
export async function createJwtSigner(opts: JwtSignerOptions): Promise<JwtSigner> {
  const { keys: store, issuer, audience, accessTtlSeconds, clock, alg } = opts;
  let byKid = new Map<string, LoadedKey>();
  let signing: { kid: string; alg: SigningAlg; privateKey: CryptoKey } | undefined;
  let loadedAt = 0;
  let lastUnknownKidReload = 0;
  const verified = new Map<string, AccessClaims>();

  async function load(): Promise<void> {
    let stored = await store.list();
    if (!stored.some((k) => k.retiredAt === null && k.alg === alg)) {
      await store.ensureActive(await newKeyPair(alg, clock.now()));
      stored = await store.list();
    }
    const next = new Map<string, LoadedKey>();
    for (const k of stored) {
      if (!isSigningAlg(k.alg)) continue;
      const publicJwk = JSON.parse(k.publicJwk) as JWK;
      next.set(k.kid, { kid: k.kid, alg: k.alg, publicKey: (await importJWK(publicJwk, k.alg)) as CryptoKey, publicJwk, retiredAt: k.retiredAt });
    }
    // The oldest active key signs, so replicas that raced to create a first key all settle on the same one.
    const active = stored.find((k) => k.retiredAt === null && isSigningAlg(k.alg));
    if (!active) throw new Error('no active signing key');
    if (signing?.kid !== active.kid) {
      const keyAlg = active.alg as SigningAlg;
      signing = { kid: active.kid, alg: keyAlg, privateKey: (await importJWK(JSON.parse(active.privateJwk) as JWK, keyAlg)) as CryptoKey };
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

  /**
   * The stored key (published or retired) that signed `token` with its own algorithm, or undefined; looks for keys
   * made by other replicas once a second.
   */
  async function storedKeyFor(token: string, now: number): Promise<LoadedKey | undefined> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return undefined;
    }
    if (typeof header.kid !== 'string') return undefined;
    let key = byKid.get(header.kid);
    if (!key && now - lastUnknownKidReload > UNKNOWN_KID_RELOAD_MS) {
      lastUnknownKidReload = now;
      await load().catch(() => undefined);
      key = byKid.get(header.kid);
    }
    if (!key || header.alg !== key.alg) return undefined;
    return key;
  }

  /** The published key that signed `token`, or undefined; looks for keys made by other replicas once a second. */
  async function keyFor(token: string, now: number): Promise<LoadedKey | undefined> {
    const key = await storedKeyFor(token, now);
    return key && stillPublished(key, now) ? key : undefined;
  }

  async function sign(payload: JWTPayload, typ: string, aud: string, ttl: number, now: number): Promise<string> {
    refreshSoon();
    const key = signing!;
    const iat = Math.floor(now / 1000);
    return new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ })
      .setIssuer(issuer)
      .setAudience(aud)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .sign(key.privateKey);
  }

  await load();

  return {
    get alg() {
      return signing!.alg;
    },

    async sign(claims) {
      const { sub, jti, ...rest } = claims;
      const token = await sign({ ...rest, sub, jti }, ACCESS_TOKEN_TYPE, audience, accessTtlSeconds, clock.now());
      return { token, expiresIn: accessTtlSeconds };
    },

    async signIdToken(claims, clientId, accessToken) {
      // OpenID Connect Core §3.1.3.6: the left half of the access token's hash, hashed as the signature is.
      const digest = hash(signing!.alg === 'EdDSA' ? 'sha512' : 'sha256', accessToken, 'buffer');
      const atHash = digest.subarray(0, digest.length / 2).toString('base64url');
      return sign({ ...claims, at_hash: atHash }, ID_TOKEN_TYPE, clientId, accessTtlSeconds, clock.now());
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
      const key = await keyFor(token, now);
      if (!key) return undefined;
      refreshSoon();
      try {
        const { payload } = await jwtVerify(token, key.publicKey, {
          issuer,
          audience,
          algorithms: [key.alg],
          typ: ACCESS_TOKEN_TYPE,
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

    async verifyIdTokenHint(token) {
      // RP-initiated logout accepts an expired ID token as a hint (OpenID Connect RP-Initiated Logout §2), but
      // never one whose signature, issuer or type is wrong.
      const now = clock.now();
      const key = await keyFor(token, now);
      if (!key) return undefined;
      try {
        const { payload } = await jwtVerify(token, key.publicKey, {
          issuer,
          algorithms: [key.alg],
          typ: ID_TOKEN_TYPE,
          currentDate: new Date(0),
          requiredClaims: ['sub', 'aud'],
        });
        return payload;
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
          .map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' })),
      };
    },

    async signCheckpoint(checkpoint) {
      const { seq, hash, at } = checkpoint;
      if (!isCheckpoint({ seq, hash, at })) throw new Error('a checkpoint needs a whole seq, a SHA-256 hex hash and a whole at');
      refreshSoon();
      const key = signing!;
      return new SignJWT({ seq, hash, at })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: CHECKPOINT_TYPE })
        .setIssuer(issuer)
        .setIssuedAt(Math.floor(clock.now() / 1000))
        .sign(key.privateKey);
    },

    async verifyCheckpoint(jws) {
      // Checkpoints outlive keys by years: any stored key verifies its own, however long ago it was retired. No
      // expiry and no audience: a checkpoint is a statement about the past, addressed to whoever audits it.
      const now = clock.now();
      const key = await storedKeyFor(jws.trim(), now);
      if (!key) return undefined;
      try {
        const { payload } = await jwtVerify(jws.trim(), key.publicKey, {
          issuer,
          algorithms: [key.alg],
          typ: CHECKPOINT_TYPE,
          currentDate: new Date(now),
          requiredClaims: ['iss', 'iat', 'seq', 'hash', 'at'],
        });
        const claims = { seq: payload.seq, hash: payload.hash, at: payload.at };
        return isCheckpoint(claims) ? { seq: claims.seq, hash: claims.hash, at: claims.at } : undefined;
      } catch {
        return undefined;
      }
    },

    async rotate() {
      const fresh = await newKeyPair(alg, clock.now());
      await store.insert(fresh);
      await store.retireAllBut(fresh.kid, clock.now());
      await load();
      return fresh.kid;
    },
  };
}
