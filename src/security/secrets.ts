import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** SHA-256 hex digest. Safe for high-entropy secrets (API keys, refresh tokens); never for passwords. */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex'); // one-shot: a third of createHash's cost, and this runs on every request
}

/** URL-safe random secret with `bytes` bytes of entropy. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Constant-time string equality. Both sides are hashed first so the comparison takes the same time whatever the
 * lengths — `timingSafeEqual` alone would leak the length of the expected value through its early throw.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
