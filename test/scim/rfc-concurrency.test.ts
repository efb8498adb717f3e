/**
 * Identity providers send requests in parallel (Entra ID and Okta both run several at once, and a group's member
 * changes arrive side by side). RFC 7644 §3.14: without If-Match the last writer wins and every request succeeds;
 * with the same If-Match on two racing requests, exactly one wins and the other is 412. Nothing is lost.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GROUP_SCHEMA, PATCH_OP, assertStatus, minimalUser, scimClient, show } from './rfc-helpers.ts';

const c = await scimClient();
const { req } = c;
const op = (path: string, value: unknown) => ({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path, value }] });

test('parallel PATCHes of one user without If-Match all succeed, and all of them hold', async () => {
  for (let round = 0; round < 4; round += 1) {
    const { id } = (await req('POST', '/Users', minimalUser())).body;
    const results = await Promise.all([
      req('PATCH', `/Users/${id}`, op('name.givenName', 'Parallel')),
      req('PATCH', `/Users/${id}`, op('name.familyName', 'Writers')),
      req('PATCH', `/Users/${id}`, op('active', false)),
      req('PATCH', `/Users/${id}`, op('externalId', 'ext-parallel')),
    ]);
    for (const r of results) assertStatus(r, 200);
    const after = (await req('GET', `/Users/${id}`)).body;
    assert.deepEqual([after.name.givenName, after.name.familyName, after.active, after.externalId], ['Parallel', 'Writers', false, 'ext-parallel'], `round ${round}: ${JSON.stringify(after)}`);
  }
});

test('two PATCHes racing with the same If-Match: exactly one wins, the other is 412', async () => {
  for (let round = 0; round < 5; round += 1) {
    const { id, meta } = (await req('POST', '/Users', minimalUser())).body;
    const [a, b] = await Promise.all([
      req('PATCH', `/Users/${id}`, op('name.givenName', 'Racer A'), { 'if-match': meta.version }),
      req('PATCH', `/Users/${id}`, op('name.givenName', 'Racer B'), { 'if-match': meta.version }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 412], `round ${round}: ${show(a)} / ${show(b)}`);
    const winner = a.status === 200 ? 'Racer A' : 'Racer B';
    assert.equal((await req('GET', `/Users/${id}`)).body.name.givenName, winner);
  }
});

test('a DELETE and a PATCH racing with the same If-Match: exactly one wins, and the user is as the winner left it', async () => {
  for (let round = 0; round < 5; round += 1) {
    const { id, meta } = (await req('POST', '/Users', minimalUser())).body;
    const [patched, deleted] = await Promise.all([
      req('PATCH', `/Users/${id}`, op('name.givenName', 'Survivor'), { 'if-match': meta.version }),
      req('DELETE', `/Users/${id}`, undefined, { 'if-match': meta.version }),
    ]);
    const after = await req('GET', `/Users/${id}`);
    if (patched.status === 200) {
      assertStatus(deleted, 412);
      assert.equal(after.body.name.givenName, 'Survivor', `round ${round}`);
    } else {
      assertStatus(deleted, 204);
      assert.ok([404, 412].includes(patched.status), `round ${round}: ${show(patched)}`);
      assertStatus(after, 404);
    }
  }
});

test('parallel member additions and removals on one group: all succeed, none is lost', async () => {
  const users: string[] = [];
  for (let i = 0; i < 8; i += 1) users.push((await req('POST', '/Users', minimalUser())).body.id);
  const g = (await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: `Parallel ${Date.now()}` })).body;
  const adds = await Promise.all(users.map((value) => req('PATCH', `/Groups/${g.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [{ value }] }] })));
  for (const r of adds) assert.ok(r.status === 200 || r.status === 204, show(r));
  const members = ((await req('GET', `/Groups/${g.id}`)).body.members ?? []).map((m: any) => m.value).sort();
  assert.deepEqual(members, [...users].sort(), 'every parallel addition holds');
  const removes = await Promise.all(users.slice(0, 5).map((value) => req('PATCH', `/Groups/${g.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Remove', path: `members[value eq "${value}"]` }] })));
  for (const r of removes) assert.ok(r.status === 200 || r.status === 204, show(r));
  const left = ((await req('GET', `/Groups/${g.id}`)).body.members ?? []).map((m: any) => m.value).sort();
  assert.deepEqual(left, users.slice(5).sort());
});
