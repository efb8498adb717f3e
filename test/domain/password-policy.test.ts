import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isCommonPassword } from '../../src/domain/common-passwords.ts';
import { checkPassword, passwordProblems, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../src/domain/password-policy.ts';
import { GOOD_PASSWORD } from '../helpers/app.ts';

// CONTRACT.md §3.1: 12–256 characters, a lower-case letter, an upper-case letter, a digit, a character that is
// neither letter nor digit, and not a commonly used password. The `msg` says what is missing.

/** Asserts the password is refused and the message names `mentions` and none of `absent`. */
function refused(password: string, mentions: RegExp[], absent: RegExp[] = []): void {
  const message = checkPassword(password);
  assert.equal(typeof message, 'string', `expected ${JSON.stringify(password)} to be refused`);
  for (const m of mentions) assert.match(message!, m, `message for ${JSON.stringify(password)}: ${message}`);
  for (const a of absent) assert.doesNotMatch(message!, a, `message for ${JSON.stringify(password)}: ${message}`);
  assert.ok(!message!.includes('\n'), 'one line');
}

const LOWER = /lower-case letter/i;
const UPPER = /upper-case letter/i;
const DIGIT = /(?<!nor )a digit/i; // not the 'neither a letter nor a digit' of the symbol rule
const SYMBOL = /neither a letter nor a digit/i;
const SHORT = /at least 12 characters/i;
const LONG = /at most 256 characters/i;
const COMMON = /common/i;

describe('password policy', () => {
  test('the bounds are the contract’s 12 and 256', () => {
    assert.equal(PASSWORD_MIN_LENGTH, 12);
    assert.equal(PASSWORD_MAX_LENGTH, 256);
  });

  test('a strong password passes', () => {
    assert.equal(checkPassword(GOOD_PASSWORD), null);
    assert.deepEqual(passwordProblems(GOOD_PASSWORD), []);
    assert.equal(checkPassword('Zq7#vLm2!xTr'), null);
    assert.equal(checkPassword('correct Horse battery 9 staple'), null);
  });

  test('11 characters is too short, 12 is enough', () => {
    refused('Zq7#vLm2!xT', [SHORT], [LOWER, UPPER, DIGIT, SYMBOL, LONG]);
    assert.equal(checkPassword('Zq7#vLm2!xTr'), null);
    refused('', [SHORT, LOWER, UPPER, DIGIT, SYMBOL]);
  });

  test('256 characters is allowed, 257 is too long', () => {
    const base = 'Zq7#vLm2!xTr';
    const at256 = base + 'k'.repeat(256 - base.length);
    assert.equal([...at256].length, 256);
    assert.equal(checkPassword(at256), null);
    refused(at256 + 'k', [LONG], [SHORT, LOWER, UPPER, DIGIT, SYMBOL]);
  });

  test('length counts code points, not UTF-16 units', () => {
    // 4 + 7 emoji = 11 code points (18 UTF-16 units): too short.
    const eleven = 'Aa1!' + '😀'.repeat(7);
    assert.equal(eleven.length, 18);
    refused(eleven, [SHORT]);
    assert.equal(checkPassword('Aa1!' + '😀'.repeat(8)), null);
    // 256 code points (508 units) passes; 257 does not.
    const at256 = 'Aa1!' + '😀'.repeat(252);
    assert.equal(checkPassword(at256), null);
    refused(at256 + '😀', [LONG]);
  });

  test('a lower-case letter is required', () => {
    refused('ZQ7#VLM2!XTR', [LOWER], [UPPER, DIGIT, SYMBOL, SHORT]);
  });

  test('an upper-case letter is required', () => {
    refused('zq7#vlm2!xtr', [UPPER], [LOWER, DIGIT, SYMBOL, SHORT]);
  });

  test('a digit is required', () => {
    refused('Zqx#vLmb!xTr', [DIGIT], [LOWER, UPPER, SYMBOL, SHORT]);
  });

  test('a character that is neither letter nor digit is required', () => {
    refused('Zq7kvLm2pxTr', [SYMBOL], [LOWER, UPPER, DIGIT, SHORT]);
    // a space counts as a non-letter, non-digit character
    assert.equal(checkPassword('Zq7k vLm2pxTr'), null);
  });

  test('every missing class is named at once', () => {
    refused('abcdefghijklmn', [UPPER, DIGIT, SYMBOL], [LOWER, SHORT]);
    refused('12345678901234', [LOWER, UPPER, SYMBOL], [DIGIT]);
    refused('ab', [SHORT, UPPER, DIGIT, SYMBOL], [LOWER]);
  });

  test('unicode letters and digits count', () => {
    // Ä/ä are letters of each case; no ASCII letters at all.
    assert.equal(checkPassword('ÄÖÜäöü-1234ß'), null);
    assert.equal(checkPassword('ΣίσυφοςΒράχος-42'), null);
    assert.equal(checkPassword('Жёлтый-Дом-2024'), null);
    refused('äöüäöü-1234ß', [UPPER], [LOWER]);
    refused('ÄÖÜÄÖÜ-1234S', [LOWER], [UPPER]);
    // Non-ASCII digits are digits, not symbols: Arabic-Indic ٣ is a digit.
    refused('Zqxk#vLmpxTr', [DIGIT]);
    assert.equal(checkPassword('Zqxk#vLmpxT٣'), null);
  });

  test('commonly used passwords are refused, whatever their case', () => {
    for (const p of ['password1234', 'qwertyuiop123', 'PASSWORD1234']) {
      assert.equal(isCommonPassword(p), true, p);
      assert.ok(checkPassword(p) !== null, p);
    }
  });

  test('common passwords dressed up to meet every class rule are still refused', () => {
    const decorated = [
      'Password123!',
      'Password1234!',
      '!!Password2024',
      'Qwerty123456!',
      '!!Qwerty2024!',
      'Iloveyou2024!',
      'Sunshine#2024',
      'Football!1234',
      'Welcome@12345',
      'Letmein!2024',
    ];
    for (const p of decorated) {
      assert.ok([...p].length >= 12, `${p} is long enough`);
      refused(p, [COMMON], [SHORT, LOWER, UPPER, DIGIT, SYMBOL]);
    }
  });

  test('leetspeak variants of common passwords are refused', () => {
    for (const p of ['P@ssw0rd2024!', 'P@$$w0rd1234', 'P4ssw0rd!2024', 'Passw0rd!!!!', '!P@ssW0rd1234', 'Qw3rty!12345']) {
      assert.ok([...p].length >= 12, `${p} is long enough`);
      refused(p, [COMMON], [SHORT, LOWER, UPPER, DIGIT, SYMBOL]);
    }
  });

  test('a password that merely contains a common word among real entropy passes', () => {
    assert.equal(checkPassword('Vivid-Password-Harbor-42x'), null);
  });
});
