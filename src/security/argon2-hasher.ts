import { hash, verify } from '@node-rs/argon2';
import type { PasswordHasher } from '../domain/ports.ts';

export interface Argon2Params {
  memoryCost: number; // KiB
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet's argon2id baseline: 19 MiB, 2 iterations, 1 lane. */
export const OWASP_ARGON2ID: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/**
 * argon2id through @node-rs/argon2, whose hash/verify run on the libuv thread pool, so the event loop keeps
 * serving while a password is hashed. Parameters travel inside the PHC string, so raising them later still
 * verifies old hashes.
 */
export function createArgon2Hasher(params: Argon2Params = OWASP_ARGON2ID): PasswordHasher {
  const options = { algorithm: 2 /* Algorithm.Argon2id: a const enum, unreachable under verbatimModuleSyntax */, ...params };
  return {
    hash: (password) => hash(password, options),
    async verify(phc, password) {
      try {
        return await verify(phc, password);
      } catch {
        return false; // a malformed stored hash never authenticates anyone
      }
    },
  };
}
