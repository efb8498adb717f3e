import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** SHA-256 hex digest. Safe for high-entropy secrets (API keys, refresh tokens); never for passwords. */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex'); // one-shot: a third of createHash's cost, and this runs on every request
}

/** URL-safe random secret with `bytes` bytes of entropy. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * A constant-time matcher for one fixed secret (the admin key). Both sides are hashed first, so the comparison takes
 * the same time whatever the candidate's length — `timingSafeEqual` on the raw strings would leak the secret's
 * length through its early throw. The secret's digest is computed once.
 */
export function secretMatcher(secret: string): (candidate: string) => boolean {
  const expected = Buffer.from(hash('sha256', secret, 'hex'), 'hex');
  // Hex, then a 32-byte Buffer from Node's pool: the 'buffer' output allocates an ArrayBuffer of its own per call,
  // which costs more than the hashing itself, and the admin-key check runs on every authenticated request.
  return (candidate) => timingSafeEqual(Buffer.from(hash('sha256', candidate, 'hex'), 'hex'), expected);
}

/**
 * The admin-key check of the hot path: `sha256Hex(candidate)` (computed once per request, also the principal cache's
 * key) against the secret's digest, in constant time. Both are 64 hex characters, so nothing leaks the secret's length.
 */
export function digestMatcher(secret: string): (candidateDigest: string) => boolean {
  const expected = Buffer.from(sha256Hex(secret), 'hex');
  return (candidateDigest) => candidateDigest.length === 64 && timingSafeEqual(Buffer.from(candidateDigest, 'hex'), expected);
}

/** Compares two strings in constant time (hashed first, so their lengths leak nothing either). */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
}

/** RFC 7636 §4.2 S256: BASE64URL(SHA256(code_verifier)). */
export function s256(verifier: string): string {
  return hash('sha256', verifier, 'base64url');
}
