import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertScimError, GROUP_SCHEMA, groupsApp, memberIds, patchOp, type GroupsApp } from './groups-helpers.ts';

// PATCH of Groups (RFC 7644 §3.5.2) as identity providers send it: op in any case, paths with and without filters,
// path-less operations, member removal by value, the URN-prefixed names, and every refusal as a SCIM error that
// leaves the group exactly as it was.

async function group(g: GroupsApp, body: Record<string, unknown> = {}) {
  const res = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Team', ...body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; meta: { version: string } };
}

test('members: add, remove by filter, remove by value (Entra), replace, remove all; op in any case', async () => {
  const g = await groupsApp();
  const [a, b, c, d] = await g.users(4);
  const { id } = await group(g);
  const patch = (...ops: unknown[]) => g.req('PATCH', `/Groups/${id}`, patchOp(...ops));

  const added = await patch({ op: 'Add', path: 'members', value: [{ value: a!.id }, { value: b!.id }, { value: c!.id }] });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  assert.deepEqual((added.body.members as { value: string }[]).map((m) => m.value).sort(), [a!.id, b!.id, c!.id].sort(), 'the response is the group');
  assert.equal(added.headers.etag, added.body.meta.version);

  // Okta: remove one member by a value filter.
  assert.equal((await patch({ op: 'remove', path: `members[value eq "${a!.id}"]` })).status, 200);
  assert.deepEqual(await memberIds(g, id), [b!.id, c!.id].sort());
  // Entra ID: remove members listed in value, op capitalised.
  assert.equal((await patch({ op: 'Remove', path: 'members', value: [{ value: b!.id }] })).status, 200);
  assert.deepEqual(await memberIds(g, id), [c!.id]);
  // Removing someone who is not a member changes nothing and is no error.
  assert.equal((await patch({ op: 'remove', path: `members[value eq "${a!.id}"]` })).status, 200);
  assert.equal((await patch({ op: 'REMOVE', path: 'members', value: [{ value: a!.id }] })).status, 200);
  assert.deepEqual(await memberIds(g, id), [c!.id]);
  // Several by one filter, joined by or.
  await patch({ op: 'add', path: 'members', value: [{ value: a!.id }, { value: b!.id }] });
  assert.equal((await patch({ op: 'remove', path: `members[value eq "${a!.id}" or value eq "${b!.id}"]` })).status, 200);
  assert.deepEqual(await memberIds(g, id), [c!.id]);
  // Replace: the members become exactly the list.
  assert.equal((await patch({ op: 'Replace', path: 'members', value: [{ value: a!.id }, { value: d!.id }] })).status, 200);
  assert.deepEqual(await memberIds(g, id), [a!.id, d!.id].sort());
  // The URN-prefixed path, a single member object instead of a list.
  assert.equal((await patch({ op: 'add', path: `${GROUP_SCHEMA}:members`, value: { value: b!.id } })).status, 200);
  assert.deepEqual(await memberIds(g, id), [a!.id, b!.id, d!.id].sort());
  // Remove without a value or filter: every member.
  const emptied = await patch({ op: 'remove', path: 'members' });
  assert.equal(emptied.status, 200);
  assert.equal(emptied.body.members, undefined);
});

test('operations apply in order: a later operation on the same member wins, all in one change', async () => {
  const g = await groupsApp();
  const [a, b, c] = await g.users(3);
  const { id } = await group(g, { members: [{ value: a!.id }] });
  const events = await g.written(async () => {
    const res = await g.req(
      'PATCH',
      `/Groups/${id}`,
      patchOp(
        { op: 'add', path: 'members', value: [{ value: b!.id }, { value: c!.id }] },
        { op: 'remove', path: `members[value eq "${c!.id}"]` },
        { op: 'remove', path: 'members', value: [{ value: a!.id }] },
        { op: 'add', path: 'members', value: [{ value: a!.id }] },
        { op: 'replace', path: 'displayName', value: 'Crew' },
      ),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });
  assert.deepEqual(await memberIds(g, id), [a!.id, b!.id].sort());
  assert.deepEqual(
    events.map((e) => [e.action, e.details]),
    [
      ['group.updated', { fields: ['name'] }],
      ['group.member_added', { user_ids: [b!.id], count: 1 }],
    ],
    'a was removed and added back: no change; c was added and removed: no change',
  );
  for (const e of events) assert.deepEqual(e.actor, { kind: 'api_key', id: g.key.id });

  // Replace then add: the replacement is the base the later add builds on.
  const replaced = await g.req('PATCH', `/Groups/${id}`, patchOp({ op: 'replace', path: 'members', value: [{ value: c!.id }] }, { op: 'add', path: 'members', value: [{ value: a!.id }] }));
  assert.equal(replaced.status, 200);
  assert.deepEqual(await memberIds(g, id), [a!.id, c!.id].sort());
});

test('displayName and externalId: by path, without a path (also with URN-prefixed keys), booleans-as-strings untouched', async () => {
  const g = await groupsApp();
  const [a] = await g.users(1);
  const { id } = await group(g);
  const patch = (...ops: unknown[]) => g.req('PATCH', `/Groups/${id}`, patchOp(...ops));

  assert.equal((await patch({ op: 'replace', path: 'displayName', value: 'Alpha' })).body.displayName, 'Alpha');
  assert.equal((await patch({ op: 'Replace', path: `${GROUP_SCHEMA}:displayName`, value: 'Beta' })).body.displayName, 'Beta');
  assert.equal((await patch({ op: 'add', path: 'externalId', value: 'ext-1' })).body.externalId, 'ext-1');
  assert.equal((await patch({ op: 'remove', path: 'externalId' })).body.externalId, undefined);

  // Entra ID: replace without a path, restating the id; Okta: its value object with displayName.
  const entra = await patch({ op: 'Replace', value: { id, displayName: 'Gamma', externalId: 'ext-2' } });
  assert.equal(entra.status, 200, JSON.stringify(entra.body));
  assert.deepEqual([entra.body.displayName, entra.body.externalId], ['Gamma', 'ext-2']);
  const prefixed = await patch({ op: 'add', value: { [`${GROUP_SCHEMA}:displayName`]: 'Delta', members: [{ value: a!.id }] } });
  assert.equal(prefixed.status, 200);
  assert.equal(prefixed.body.displayName, 'Delta');
  assert.deepEqual(await memberIds(g, id), [a!.id]);
  // Attribute names are case-insensitive (RFC 7643 §2.1).
  assert.equal((await patch({ op: 'replace', path: 'DISPLAYNAME', value: 'Epsilon' })).body.displayName, 'Epsilon');
  assert.equal((await patch({ op: 'replace', value: { DisplayName: 'Zeta' } })).body.displayName, 'Zeta');
  // A schemas-less PatchOp is taken as one (some clients leave it out).
  assert.equal((await g.req('PATCH', `/Groups/${id}`, { Operations: [{ op: 'replace', path: 'displayName', value: 'Eta' }] })).body.displayName, 'Eta');
});

test('refusals: each is a SCIM error with the right scimType, and the group does not change at all', async () => {
  const g = await groupsApp();
  const [a, b] = await g.users(2);
  const { id } = await group(g, { displayName: 'Stable', externalId: 'ext', members: [{ value: a!.id }] });
  const before = await g.req('GET', `/Groups/${id}`);
  const missing = '0190dead-0000-7000-8000-000000000000';
  const valid = { op: 'replace', path: 'displayName', value: 'Changed' };

  const cases: [string, unknown, string][] = [
    ['remove without a path', patchOp({ op: 'remove' }), 'noTarget'],
    ['remove the required displayName', patchOp(valid, { op: 'remove', path: 'displayName' }), 'mutability'],
    ['change the id', patchOp({ op: 'replace', path: 'id', value: 'other' }), 'mutability'],
    ['change meta', patchOp({ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }), 'mutability'],
    ['change the id without a path', patchOp({ op: 'replace', value: { id: 'other', displayName: 'x' } }), 'mutability'],
    ['an attribute groups do not have', patchOp(valid, { op: 'replace', path: 'description', value: 'x' }), 'invalidPath'],
    ['a path that is not one', patchOp({ op: 'remove', path: 'members[value eq' }), 'invalidPath'],
    ['a sub-attribute of members', patchOp({ op: 'replace', path: 'members.display', value: 'x' }), 'invalidPath'],
    ['a member filter on what is not the value', patchOp({ op: 'remove', path: 'members[display eq "x"]' }), 'invalidPath'],
    ['a member filter Gatehouse cannot select by', patchOp({ op: 'remove', path: `members[value ne "${a!.id}"]` }), 'invalidFilter'],
    ['an unknown op', patchOp({ op: 'merge', path: 'displayName', value: 'x' }), 'invalidSyntax'],
    ['no op', patchOp({ path: 'displayName', value: 'x' }), 'invalidSyntax'],
    ['no Operations', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] }, 'invalidSyntax'],
    ['empty Operations', patchOp(), 'invalidSyntax'],
    ['an operation that is not an object', patchOp('replace'), 'invalidSyntax'],
    ['the wrong schema', { schemas: [GROUP_SCHEMA], Operations: [valid] }, 'invalidSyntax'],
    ['a body that is a list', [valid], 'invalidSyntax'],
    ['a displayName that is not a string', patchOp({ op: 'replace', path: 'displayName', value: 5 }), 'invalidValue'],
    ['an empty displayName', patchOp({ op: 'replace', path: 'displayName', value: ' ' }), 'invalidValue'],
    ['a path-less add of a non-object', patchOp({ op: 'add', value: 'x' }), 'invalidValue'],
    ['members that are not a list', patchOp(valid, { op: 'add', path: 'members', value: 'x' }), 'invalidValue'],
    ['a member without a value', patchOp({ op: 'add', path: 'members', value: [{ display: 'x' }] }), 'invalidValue'],
    ['a nested group', patchOp({ op: 'add', path: 'members', value: [{ value: b!.id, type: 'Group' }] }), 'invalidValue'],
    ['add members without a value', patchOp({ op: 'add', path: 'members' }), 'invalidValue'],
    ['an unknown user, after valid operations', patchOp(valid, { op: 'add', path: 'members', value: [{ value: b!.id }, { value: missing }] }, { op: 'remove', path: 'externalId' }), 'invalidValue'],
    ['a path that is not a string', patchOp({ op: 'replace', path: 7, value: 'x' }), 'invalidPath'],
  ];
  for (const [what, body, scimType] of cases) {
    const events = await g.written(async () => assertScimError(await g.req('PATCH', `/Groups/${id}`, body), 400, scimType, what));
    assert.deepEqual(events, [], `${what}: nothing written`);
  }
  const name = await g.req('PATCH', `/Groups/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Bell\u0007' }));
  assertScimError(name, 400, 'invalidValue', 'a control character in the name');

  // A taken name is 409 uniqueness, and the members of the same PATCH are not added either.
  await group(g, { displayName: 'Taken' });
  const taken = await g.written(async () =>
    assertScimError(await g.req('PATCH', `/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: [{ value: b!.id }] }, { op: 'replace', path: 'displayName', value: 'Taken' })), 409, 'uniqueness'),
  );
  assert.deepEqual(taken, []);

  const after = await g.req('GET', `/Groups/${id}`);
  assert.deepEqual(after.body, before.body, 'the group is exactly as it was, version included');
});
