import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EMAIL_MAX_LENGTH, emailProblem, normaliseEmail } from '../../src/domain/email.ts';
import { uuidv7 } from '../../src/domain/ids.ts';

/** emailProblem is applied to normalised addresses, as the user service does. */
function problem(raw: string): string | null {
  return emailProblem(normaliseEmail(raw));
}

function assertRefused(raw: string): void {
  const p = problem(raw);
  assert.equal(typeof p, 'string', `expected ${JSON.stringify(raw)} to be refused`);
  assert.match(p!, /not a valid email address/, raw);
}

/** An address of exactly `length` characters: a 64-character local part and a domain of valid labels. */
function addressOfLength(length: number): string {
  const local = 'l'.repeat(64);
  let domainBody = length - local.length - 1 - '.com'.length; // characters left for labels and their dots
  const labels: string[] = [];
  while (domainBody > 0) {
    const size = Math.min(63, domainBody);
    labels.push('d'.repeat(size));
    domainBody -= size + 1; // the dot after the label
  }
  return `${local}@${labels.join('.')}.com`;
}

describe('normaliseEmail', () => {
  test('trims and lower-cases', () => {
    assert.equal(normaliseEmail('  Foo.Bar@Example.COM \t'), 'foo.bar@example.com');
    assert.equal(normaliseEmail('a@b.co'), 'a@b.co');
    assert.equal(normaliseEmail('\nUSER+Tag@Sub.Example.ORG\n'), 'user+tag@sub.example.org');
  });
});

describe('emailProblem', () => {
  test('accepts ordinary addresses', () => {
    for (const ok of [
      'a@b.co',
      'first.last@example.com',
      'first.last+tag@sub.example.org',
      "o'brien@example.ie",
      'user_name-1@my-domain.example',
      '  Mixed.Case@Example.COM  ',
      'josé@exämple.com',
    ]) {
      assert.equal(problem(ok), null, ok);
    }
  });

  test('refuses an address without @', () => {
    assertRefused('no-at-sign.example.com');
    assertRefused('plainaddress');
  });

  test('refuses an address with two @', () => {
    assertRefused('a@b@example.com');
    assertRefused('a@@example.com');
  });

  test('refuses an empty local part or domain', () => {
    assertRefused('');
    assertRefused('   ');
    assertRefused('@example.com');
    assertRefused('user@');
  });

  test('refuses a domain without a dot', () => {
    assertRefused('user@localhost');
    assertRefused('user@example');
  });

  test('refuses malformed domains', () => {
    assertRefused('user@.example.com');
    assertRefused('user@example..com');
    assertRefused('user@example.com.');
    assertRefused('user@-bad.example.com');
    assertRefused('user@exa_mple.com');
  });

  test('refuses a leading, trailing or doubled dot in the local part', () => {
    assertRefused('.leading@example.com');
    assertRefused('trailing.@example.com');
    assertRefused('dou..ble@example.com');
  });

  test('refuses spaces inside the address', () => {
    assertRefused('user name@example.com');
    assertRefused('user@exa mple.com');
    assertRefused('user @example.com');
  });

  test('the limit is 254 characters', () => {
    assert.equal(EMAIL_MAX_LENGTH, 254);
    const at254 = addressOfLength(254);
    assert.equal(at254.length, 254);
    assert.equal(problem(at254), null);
    const at255 = addressOfLength(255);
    assert.equal(at255.length, 255);
    assertRefused(at255);
    assertRefused(`${'a'.repeat(64)}@${'b'.repeat(300)}.com`);
  });

  test('refuses a local part over 64 characters', () => {
    assertRefused(`${'a'.repeat(65)}@example.com`);
    assert.equal(problem(`${'a'.repeat(64)}@example.com`), null);
  });
});

describe('uuidv7', () => {
  const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test('is an RFC 9562 version-7 UUID carrying the millisecond timestamp', () => {
    const now = Date.now();
    const id = uuidv7(now + 5_000);
    assert.match(id, FORMAT);
    assert.equal(id[14], '7', 'version nibble');
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.equal(ms, now + 5_000);
  });

  test('10,000 ids made in one millisecond are distinct and strictly increasing', () => {
    const now = Date.now() + 10_000; // later than anything this process has minted
    const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
    for (const id of ids) {
      assert.match(id, FORMAT);
      assert.equal(id[14], '7');
    }
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `ids[${i - 1}] < ids[${i}]: ${ids[i - 1]} ${ids[i]}`);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('ids keep increasing across real time and when the clock steps backwards', () => {
    const ids = [uuidv7(), uuidv7(), uuidv7(Date.now() - 60_000), uuidv7(0), uuidv7()];
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
  });
});
