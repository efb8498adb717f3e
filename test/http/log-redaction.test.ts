import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactUrl } from '../../src/http/log-redaction.ts';

// redactUrl: the values of query parameters that carry personal data or secrets become [redacted]; names, paths
// and every other parameter stay as they were.

test('personal parameters are redacted, however their names are written', () => {
  const cases: [string, string][] = [
    ['/users?search_string=alice@example.com', '/users?search_string=[redacted]'],
    ['/x?email=a%40b.example&username=ada&login_hint=ada', '/x?email=[redacted]&username=[redacted]&login_hint=[redacted]'],
    ['/x?firstName=Ada&last_name=Lovelace&given-name=Ada&FAMILY_NAME=L', '/x?firstName=[redacted]&last_name=[redacted]&given-name=[redacted]&FAMILY_NAME=[redacted]'],
    ['/x?q=smith&name=Ada+Lovelace&preferred_username=ada', '/x?q=[redacted]&name=[redacted]&preferred_username=[redacted]'],
    ['/x?user_email=a&new_password=p&refresh_token=t&client_secret=s&id_token_hint=e', '/x?user_email=[redacted]&new_password=[redacted]&refresh_token=[redacted]&client_secret=[redacted]&id_token_hint=[redacted]'],
    ['/x?search%5Fstring=alice', '/x?search%5Fstring=[redacted]'],
  ];
  for (const [url, logged] of cases) assert.equal(redactUrl(url), logged, url);
});

test('everything else is kept: paths, other parameters, empty values, order', () => {
  const kept = [
    '/users/0192d1c4-7a1e-7000-8000-000000000000',
    '/users?page_size=10&page=0&sort=desc&role=ORG-ADMIN&enabled=true',
    '/protocol/openid-connect/auth?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=xyz&nonce=n&scope=openid',
    '/users?search_string=&page=1',
    '/users?&&page=1&',
    '/users?',
  ];
  for (const url of kept) assert.equal(redactUrl(url), url);
});

test('a parameter name that is itself data is redacted with its value', () => {
  assert.equal(redactUrl('/users?alice@example.com'), '/users?[redacted]');
  assert.equal(redactUrl('/users?alice%40example.com=1&page=2'), '/users?[redacted]=[redacted]&page=2');
  assert.equal(redactUrl('/users?{"email":"a@b.c"}&page=2'), '/users?[redacted]&page=2');
});
