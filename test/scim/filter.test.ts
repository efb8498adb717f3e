import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScimError } from '../../src/domain/scim-errors.ts';
import { MAX_FILTER_LENGTH, parseScimFilter, resolveAttribute } from '../../src/domain/scim-filter.ts';
import { USER_RESOURCE } from '../../src/domain/scim-users.ts';

// The filter grammar of RFC 7644 §3.4.2.2, checked against what Users can be filtered by: a filter either becomes
// the small AST the store turns into SQL, or is 400 invalidFilter. Never anything else.

const parse = (f: string) => parseScimFilter(f, USER_RESOURCE);

function refused(filter: string) {
  assert.throws(
    () => parse(filter),
    (err: unknown) => err instanceof ScimError && err.status === 400 && err.scimType === 'invalidFilter',
    JSON.stringify(filter),
  );
}

describe('SCIM filters for Users', () => {
  test('every comparison operator, with canonical attribute names whatever the case or schema prefix', () => {
    for (const op of ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']) {
      assert.deepEqual(parse(`userName ${op} "bjensen"`), { op, attr: 'userName', value: 'bjensen' });
    }
    assert.deepEqual(parse('USERNAME EQ "X"'), { op: 'eq', attr: 'userName', value: 'X' });
    assert.deepEqual(parse('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"'), { op: 'eq', attr: 'userName', value: 'x' });
    assert.deepEqual(parse('name.familyName co "O\'Malley"'), { op: 'co', attr: 'name.familyName', value: "O'Malley" });
    assert.deepEqual(parse('externalId pr'), { op: 'pr', attr: 'externalId' });
    assert.deepEqual(parse('active eq true'), { op: 'eq', attr: 'active', value: true });
    assert.deepEqual(parse('active eq "False"'), { op: 'eq', attr: 'active', value: false }, 'quoted booleans, as some providers send');
    assert.deepEqual(parse('meta.lastModified gt "2011-05-13T04:42:34Z"'), { op: 'gt', attr: 'meta.lastModified', value: Date.parse('2011-05-13T04:42:34Z') });
    assert.deepEqual(parse('emails co "example.com"'), { op: 'co', attr: 'emails.value', value: 'example.com' }, 'a multi-valued attribute alone is its value');
  });

  test('and, or, not, parentheses and precedence (and binds tighter than or)', () => {
    assert.deepEqual(parse('userName eq "a" or userName eq "b" and active eq true'), {
      op: 'or',
      filters: [
        { op: 'eq', attr: 'userName', value: 'a' },
        { op: 'and', filters: [{ op: 'eq', attr: 'userName', value: 'b' }, { op: 'eq', attr: 'active', value: true }] },
      ],
    });
    assert.deepEqual(parse('(userName eq "a" or userName eq "b") and not (active eq false)'), {
      op: 'and',
      filters: [
        { op: 'or', filters: [{ op: 'eq', attr: 'userName', value: 'a' }, { op: 'eq', attr: 'userName', value: 'b' }] },
        { op: 'not', filter: { op: 'eq', attr: 'active', value: false } },
      ],
    });
  });

  test('value paths: emails[type eq "work" and value co "@"], groups[value eq "id"]', () => {
    assert.deepEqual(parse('emails[type eq "work" and value co "@example.com"]'), {
      op: 'valuePath',
      attr: 'emails',
      filter: { op: 'and', filters: [{ op: 'eq', attr: 'emails.type', value: 'work' }, { op: 'co', attr: 'emails.value', value: '@example.com' }] },
    });
    assert.deepEqual(parse('groups[value eq "g-1"]'), { op: 'valuePath', attr: 'groups', filter: { op: 'eq', attr: 'groups.value', value: 'g-1' } });
    // RFC 7644's `emails[type eq "work"].value eq "x"` form: the value path and the comparison both hold.
    assert.deepEqual(parse('emails[type eq "work"].value eq "x@example.com"'), {
      op: 'and',
      filters: [
        { op: 'valuePath', attr: 'emails', filter: { op: 'eq', attr: 'emails.type', value: 'work' } },
        { op: 'eq', attr: 'emails.value', value: 'x@example.com' },
      ],
    });
  });

  test('malformed filters are invalidFilter', () => {
    for (const f of ['', '   ', 'userName', 'userName eq', 'userName eq bjensen', 'userName xx "a"', 'userName eq "a" and', '(userName eq "a"', 'userName eq "a")',
      'and userName eq "a"', '"a" eq userName', 'userName eq "unterminated', 'emails[type eq "work"', 'emails[]', 'userName eq "a" userName eq "b"', '[', ']', '()', 'not', 'not ()']) {
      refused(f);
    }
  });

  test('what cannot become SQL over Users is invalidFilter: unknown attributes, wrong types, wrong operators', () => {
    for (const f of [
      'password eq "x"', // write-only, never filterable
      'title eq "x"',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"',
      'displayName eq "x"',
      'meta.version eq "x"',
      'userName eq 1',
      'userName eq true',
      'userName eq null',
      'active gt true',
      'active co "t"',
      'active eq "maybe"',
      'active eq 1',
      'meta.created co "2011"',
      'meta.created gt "yesterday"',
      'meta.created gt 5',
      'emails[type eq "work"] eq "x"',
      'emails[groups[value eq "1"]]',
      'groups[type eq "direct"]',
      'name[givenName eq "x"]',
      'emails[userName eq "x"]',
    ]) {
      refused(f);
    }
  });

  test('size limits: long filters, many comparisons and deep nesting are refused before they cost anything', () => {
    refused(`userName eq "${'a'.repeat(MAX_FILTER_LENGTH)}"`);
    refused(Array.from({ length: 60 }, (_, i) => `userName eq "${i}"`).join(' or '));
    refused(`${'('.repeat(40)}userName eq "a"${')'.repeat(40)}`);
    refused(`${'not ('.repeat(40)}userName eq "a"${')'.repeat(40)}`);
    assert.equal(parse(Array.from({ length: 50 }, (_, i) => `userName eq "${i}"`).join(' or ')).op, 'or');
  });

  test('resolveAttribute: case-insensitive, schema-prefixed, multi-valued parents stand for their value', () => {
    assert.equal(resolveAttribute(USER_RESOURCE, 'NAME.GIVENNAME')?.name, 'name.givenName');
    assert.equal(resolveAttribute(USER_RESOURCE, 'urn:ietf:params:scim:schemas:core:2.0:User:emails')?.name, 'emails.value');
    assert.equal(resolveAttribute(USER_RESOURCE, 'nope'), undefined);
  });
});
