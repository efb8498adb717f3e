import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { verify as argon2Verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import type { PasswordHasher } from '../domain/ports.ts';

/**
 * Password hashes brought in from another system (a Keycloak export, a CSV file), stored in the users table's
 * password column as they are, in a self-describing form (docs/import-export.md, "Stored encoding"):
 *
 *   $legacy-pbkdf2-sha1$i=27500$<salt>$<hash>      PBKDF2-HMAC-SHA1 (Keycloak's `pbkdf2`)
 *   $legacy-pbkdf2-sha256$i=27500$<salt>$<hash>    PBKDF2-HMAC-SHA256
 *   $legacy-pbkdf2-sha512$i=210000$<salt>$<hash>   PBKDF2-HMAC-SHA512
 *   $legacy-argon2$argon2id$v=19$m=7168,t=5,p=1$<salt>$<hash>   an argon2 PHC string (argon2i, argon2d or argon2id)
 *   $legacy-bcrypt$2a$10$<22 salt chars><31 hash chars>        a bcrypt string ($2a$, $2b$, $2y$)
 *   $legacy-none$                                  no usable password: never matches (the user needs a reset)
 *
 * Salt and hash are standard base64 (padding optional). The PBKDF2 key length is the decoded hash's length.
 * Every legacy hash is verified as it is and, at the first sign-in that succeeds, replaced by Gatehouse's argon2id
 * (`needsRehash`); Gatehouse's own `$argon2id$` hashes never take this path.
 */
export const LEGACY_PREFIX = '$legacy-';
export const NO_PASSWORD = '$legacy-none$';

const pbkdf2Async = promisify(pbkdf2);

const PBKDF2_DIGESTS = { 'pbkdf2-sha1': 'sha1', 'pbkdf2-sha256': 'sha256', 'pbkdf2-sha512': 'sha512' } as const;
export type Pbkdf2Scheme = keyof typeof PBKDF2_DIGESTS;

/** Iterations beyond this are refused at import: a hash that takes minutes to check is an attack on the server. */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PHC_ARGON2 = /^\$argon2(id|i|d)\$(v=(16|19)\$)?m=\d{1,8},t=\d{1,5},p=\d{1,3}\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;
const BCRYPT = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

/** Argon2 cost limits for imported hashes: beyond them one sign-in could take the server's memory or minutes. */
export const MAX_ARGON2_MEMORY_KIB = 1024 * 1024;
export const MAX_ARGON2_ITERATIONS = 1000;

/** A well-formed argon2 PHC string whose costs are within the limits. */
function usableArgon2(phc: string): boolean {
  const m = PHC_ARGON2.exec(phc) && /\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  return !!m && Number(m[1]) <= MAX_ARGON2_MEMORY_KIB && Number(m[2]) <= MAX_ARGON2_ITERATIONS && Number(m[3]) >= 1;
}

export function isLegacyHash(stored: string): boolean {
  return stored.startsWith(LEGACY_PREFIX);
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

export function encodePbkdf2(scheme: Pbkdf2Scheme, iterations: number, salt: Buffer, hash: Buffer): string {
  return `${LEGACY_PREFIX}${scheme}$i=${iterations}$${b64(salt)}$${b64(hash)}`;
}

/** An argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) as a legacy hash; undefined when it is not one. */
export function encodeArgon2Phc(phc: string): string | undefined {
  // PHC strings carry base64 without padding; a padded one (as other tools write) is stored unpadded.
  return usableArgon2(phc) ? `${LEGACY_PREFIX}argon2${phc.replace(/=+(\$|$)/g, '$1')}` : undefined;
}

/** A bcrypt string (`$2a$10$…`) as a legacy hash; undefined when it is not one. */
export function encodeBcrypt(bcrypt: string): string | undefined {
  return BCRYPT.test(bcrypt) ? `${LEGACY_PREFIX}bcrypt${bcrypt}` : undefined;
}

/**
 * Whether a stored value is one Gatehouse can keep in the password column: its own argon2id PHC string, or a
 * well-formed legacy hash. What `import jsonl` and `import csv` accept as a `password_hash`.
 */
export function isStorableHash(stored: string): boolean {
  if (stored === NO_PASSWORD) return true;
  if (stored.startsWith('$argon2')) return usableArgon2(stored);
  if (stored.startsWith(`${LEGACY_PREFIX}argon2$`)) return usableArgon2(stored.slice(`${LEGACY_PREFIX}argon2`.length));
  if (stored.startsWith(`${LEGACY_PREFIX}bcrypt$`)) return BCRYPT.test(stored.slice(`${LEGACY_PREFIX}bcrypt`.length));
  return parsePbkdf2(stored) !== undefined;
}

interface Pbkdf2Hash {
  digest: string;
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

function parsePbkdf2(stored: string): Pbkdf2Hash | undefined {
  const m = /^\$legacy-(pbkdf2-sha1|pbkdf2-sha256|pbkdf2-sha512)\$i=(\d{1,8})\$([^$]+)\$([^$]+)$/.exec(stored);
  if (!m || !BASE64.test(m[3]!) || !BASE64.test(m[4]!)) return undefined;
  const iterations = Number(m[2]);
  const hash = Buffer.from(m[4]!, 'base64');
  if (iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS || hash.length === 0 || hash.length > 1024) return undefined;
  return { digest: PBKDF2_DIGESTS[m[1] as Pbkdf2Scheme], iterations, salt: Buffer.from(m[3]!, 'base64'), hash };
}

/** Checks a password against a legacy hash. Anything malformed or unknown never matches (and never throws). */
export async function verifyLegacyHash(stored: string, password: string): Promise<boolean> {
  try {
    if (stored.startsWith(`${LEGACY_PREFIX}pbkdf2-`)) {
      const parsed = parsePbkdf2(stored);
      if (!parsed) return false;
      // node:crypto's pbkdf2 runs on the libuv pool, off the event loop; the key length is the stored hash's own.
      const derived = await pbkdf2Async(Buffer.from(password, 'utf8'), parsed.salt, parsed.iterations, parsed.hash.length, parsed.digest);
      return timingSafeEqual(derived, parsed.hash);
    }
    if (stored.startsWith(`${LEGACY_PREFIX}argon2$`)) {
      const phc = stored.slice(`${LEGACY_PREFIX}argon2`.length);
      return usableArgon2(phc) && (await argon2Verify(phc, password));
    }
    if (stored.startsWith(`${LEGACY_PREFIX}bcrypt$`)) {
      const hash = stored.slice(`${LEGACY_PREFIX}bcrypt`.length);
      return BCRYPT.test(hash) && (await bcrypt.compare(password, hash));
    }
  } catch {
    return false; // a malformed stored hash never authenticates anyone
  }
  return false;
}

/**
 * The hasher every service uses: Gatehouse's own (argon2id) for hashing and for its own hashes, the legacy
 * verifiers for imported ones — chosen by the stored string's prefix, so the argon2id path is unchanged.
 * A hash with no usable password costs one argon2id verification like any wrong password (no timing tell).
 */
export function withLegacyHashes(inner: PasswordHasher): PasswordHasher {
  if ((inner as { legacyAware?: boolean }).legacyAware) return inner;
  let decoy: Promise<string> | undefined;
  return Object.assign(
    {
      hash: (password: string) => inner.hash(password),
      async verify(stored: string, password: string) {
        if (!isLegacyHash(stored)) return inner.verify(stored, password);
        if (stored === NO_PASSWORD || !isStorableHash(stored)) {
          decoy ??= inner.hash('decoy password, never set');
          await inner.verify(await decoy, password);
          return false;
        }
        return verifyLegacyHash(stored, password);
      },
      needsRehash: isLegacyHash,
    } satisfies PasswordHasher,
    { legacyAware: true },
  );
}
