import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestMatcher, secretMatcher, sha256Hex } from '../../src/security/secrets.ts';

// The admin key is compared on every authenticated request: by digest (the hot path digests a credential once) and,
// for the metrics token, by the secret itself. Both accept exactly the secret.

const SECRET = 'admin-key-0123456789abcdefghijklmnopqrstuvwxyz';

test('digestMatcher accepts the digest of the secret and nothing else', () => {
  const matches = digestMatcher(SECRET);
  assert.equal(matches(sha256Hex(SECRET)), true);
  for (const other of ['', SECRET.slice(0, -1), SECRET + 'x', SECRET.toUpperCase(), ' ' + SECRET]) assert.equal(matches(sha256Hex(other)), false, JSON.stringify(other));
  // Not a digest at all (the raw secret, a short or long string): false, never a throw.
  for (const notDigest of [SECRET, '', 'ab', sha256Hex(SECRET) + '00', sha256Hex(SECRET).slice(2)]) assert.equal(matches(notDigest), false, notDigest);
});

test('secretMatcher accepts the secret and nothing else, whatever the candidate length', () => {
  const matches = secretMatcher(SECRET);
  assert.equal(matches(SECRET), true);
  for (const other of ['', 'x', SECRET.slice(0, -1), SECRET + 'x', 'y'.repeat(10_000)]) assert.equal(matches(other), false);
});
