import { isCommonPassword } from './common-passwords.ts';

/** Bounds of the password policy (CONTRACT.md §3.1), the same for create, reset and change. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * Every rule the password breaks, as sentences for the 422 `msg`. Empty means acceptable.
 * Length is counted in code points, so an emoji counts once.
 */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`at least ${PASSWORD_MIN_LENGTH} characters`);
  if (length > PASSWORD_MAX_LENGTH) problems.push(`at most ${PASSWORD_MAX_LENGTH} characters`);
  if (!/\p{Ll}/u.test(password)) problems.push('a lower-case letter');
  if (!/\p{Lu}/u.test(password)) problems.push('an upper-case letter');
  if (!/\p{Nd}/u.test(password)) problems.push('a digit');
  if (!/[^\p{L}\p{N}]/u.test(password)) problems.push('a character that is neither a letter nor a digit');
  const out = problems.length > 0 ? [`Password must have ${problems.join(', ')}`] : [];
  if (length <= PASSWORD_MAX_LENGTH && isCommonPassword(password)) out.push('Password is too common');
  return out;
}

/** One sentence describing everything wrong with the password, or null when it passes the policy. */
export function checkPassword(password: string): string | null {
  const problems = passwordProblems(password);
  return problems.length === 0 ? null : problems.join('; ');
}
