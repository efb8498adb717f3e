/**
 * Gatehouse's password policy as the console explains it (src/domain/password-policy.ts is the rule that counts:
 * the server checks again, and alone knows the list of common passwords), and temporary passwords made in the
 * browser with crypto.getRandomValues.
 */

export interface PasswordRule {
  id: string;
  /** The rule as a person reads it. */
  text: string;
  /** Met? undefined: only the server can tell (the common-password list). */
  met(password: string): boolean | undefined;
}

const length = (p: string) => [...p].length;

export const PASSWORD_RULES: PasswordRule[] = [
  { id: 'length', text: '12 to 256 characters', met: (p) => length(p) >= 12 && length(p) <= 256 },
  { id: 'lower', text: 'a lower-case letter', met: (p) => /\p{Ll}/u.test(p) },
  { id: 'upper', text: 'an upper-case letter', met: (p) => /\p{Lu}/u.test(p) },
  { id: 'digit', text: 'a digit', met: (p) => /\p{Nd}/u.test(p) },
  { id: 'symbol', text: 'a symbol (neither a letter nor a digit)', met: (p) => /[^\p{L}\p{N}]/u.test(p) },
  { id: 'common', text: 'not a commonly used password (checked when you save)', met: () => undefined },
];

export const passwordLooksAcceptable = (p: string): boolean => PASSWORD_RULES.every((r) => r.met(p) !== false);

// Look-alikes (I l 1 O 0) left out: the password may be read out over the phone.
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGITS = '23456789';
const SYMBOLS = '-_.!?#%+=@';
const ALL = LOWER + UPPER + DIGITS + SYMBOLS;

/** A uniformly random index below `n` (rejection sampling, so no character is likelier than another). */
function randomBelow(n: number): number {
  const buf = new Uint32Array(1);
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  for (;;) {
    crypto.getRandomValues(buf);
    if (buf[0]! < limit) return buf[0]! % n;
  }
}

const pick = (chars: string) => chars[randomBelow(chars.length)]!;

/**
 * A 20-character temporary password (~120 bits) with at least one character of each class the policy asks for,
 * at random positions.
 */
export function generatePassword(size = 20): string {
  const chars = [pick(LOWER), pick(UPPER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < size) chars.push(pick(ALL));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomBelow(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
