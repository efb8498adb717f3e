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
  const expected = hash('sha256', secret, 'buffer');
  return (candidate) => timingSafeEqual(hash('sha256', candidate, 'buffer'), expected);
}

/** Compares two strings in constant time (hashed first, so their lengths leak nothing either). */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
}

/** RFC 7636 §4.2 S256: BASE64URL(SHA256(code_verifier)). */
export function s256(verifier: string): string {
  return hash('sha256', verifier, 'base64url');
}
