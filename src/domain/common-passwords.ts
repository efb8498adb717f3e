import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * An offline list of commonly used passwords (zxcvbn-ts's common list, ~30k entries), loaded once.
 * Lower-cased so lookups ignore case.
 */
const COMMON = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i' };

function unLeet(s: string): string {
  return s.replace(/[013457@$!]/g, (c) => LEET[c] ?? c);
}

/**
 * True when the password is a common password, possibly dressed up the usual ways: different case, leetspeak,
 * or digits and symbols stuck on either end ("Password123!", "!!Qwerty2024"). Those decorations are exactly
 * what guessing tools try first, so they add no strength.
 */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  if (COMMON.has(lower) || COMMON.has(unLeet(lower))) return true;
  const core = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  if (core.length >= 4 && core !== lower && (COMMON.has(core) || COMMON.has(unLeet(core)))) return true;
  return false;
}
