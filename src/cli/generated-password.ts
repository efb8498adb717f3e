import { randomInt } from 'node:crypto';
import { checkPassword } from '../domain/password-policy.ts';

// No look-alikes (0/O, 1/l/I): a person may have to read this password out or type it from a screen.
const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/**
 * A temporary password for `users create` and `users reset-password` when the operator gives none: four groups of
 * five characters joined by hyphens (about 113 bits), drawn until one passes the same password policy as the API
 * (upper, lower, digit, symbol) — nearly always the first draw.
 */
export function generatePassword(): string {
  for (;;) {
    const groups = Array.from({ length: 4 }, () => Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join(''));
    const password = groups.join('-');
    if (checkPassword(password) === null) return password;
  }
}
