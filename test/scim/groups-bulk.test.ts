import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { createGroupService } from '../../src/domain/groups.ts';
import { systemClock } from '../../src/domain/ports.ts';
import { createScimGroupService } from '../../src/domain/scim-groups.ts';
import { createAuditWriter, type AuditWriter } from '../../src/store/audit-store.ts';
import { createGroupStore } from '../../src/store/group-store.ts';
import { createScimGroupStore } from '../../src/store/scim-group-store.ts';
import { assertScimError, GROUP_SCHEMA, groupsApp, memberIds, patchOp } from './groups-helpers.ts';

// Membership by the thousand: adding or removing 1,000 members in one PATCH (or one PUT, or one POST) is ONE
// transaction with one event per kind naming every user; an unknown user among them changes nothing; and reading a
// group with excludedAttributes=members never touches its membership rows.

test('1,000 members added in one PATCH, then 1,000 removed in one PATCH: one event each, all or nothing', async () => {
  const g = await groupsApp();
  const people = await g.bulkUsers(1500, 'pat');
  const { body: group } = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Everyone', members: people.slice(1000).map((u) => ({ value: u.id })) });
  assert.equal((await memberIds(g, group.id)).length, 500, 'POST with 500 members');
  const thousand = people.slice(0, 1000).map((u) => ({ value: u.id }));

  // One unknown user at the end: nobody is added, nothing is written.
  const missing = '0190dead-0000-7000-8000-000000000000';
  const refused = await g.written(async () =>
    assertScimError(await g.req('PATCH', `/Groups/${group.id}`, patchOp({ op: 'add', path: 'members', value: [...thousand.slice(0, 999), { value: missing }] })), 400, 'invalidValue'),
  );
  assert.deepEqual(refused, []);
  assert.equal((await memberIds(g, group.id)).length, 500);

  // (Speed belongs in the benchmark; what matters here is one request, one event, every member.)
  const added = await g.written(async () => {
    const res = await g.req('PATCH', `/Groups/${group.id}?excludedAttributes=members`, patchOp({ op: 'Add', path: 'members', value: thousand }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.members, undefined);
  });
  assert.deepEqual(added.map((e) => e.action), ['group.member_added']);
  assert.equal(added[0]!.details.count, 1000);
  assert.deepEqual([...(added[0]!.details.user_ids as string[])].sort(), people.slice(0, 1000).map((u) => u.id).sort());
  assert.deepEqual(added[0]!.actor, { kind: 'api_key', id: g.key.id });
  assert.equal((await memberIds(g, group.id)).length, 1500);

  // Entra ID's shape: remove by value, 1,000 at once.
  const removed = await g.written(async () => {
    const res = await g.req('PATCH', `/Groups/${group.id}`, patchOp({ op: 'Remove', path: 'members', value: thousand }));
    assert.equal(res.status, 200);
    assert.equal(res.body.members.length, 500);
  });
  assert.deepEqual(removed.map((e) => [e.action, e.details.count]), [['group.member_removed', 1000]]);

  // PUT with 1,000 members replaces 500 with 1,000: one removal and one addition event.
  const replaced = await g.written(async () => {
    const res = await g.req('PUT', `/Groups/${group.id}?excludedAttributes=members`, { schemas: [GROUP_SCHEMA], displayName: 'Everyone', members: thousand });
    assert.equal(res.status, 200);
  });
  assert.deepEqual(replaced.map((e) => [e.action, e.details.count]), [['group.member_removed', 500], ['group.member_added', 1000]]);
  assert.deepEqual(await memberIds(g, group.id), people.slice(0, 1000).map((u) => u.id).sort());
});

test('one transaction: when the audit trail cannot be written, none of the 1,000 memberships stay', async () => {
  const g = await groupsApp();
  const people = await g.bulkUsers(1000, 'atom');
  const { db, dialect } = g.t.database;
  const { body: group } = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Atomic' });
  // The same services the app wires, over a trail that writes its rows and then fails: the change rolls back whole.
  const real = createAuditWriter(dialect);
  const failing: AuditWriter = {
    async append(trx, drafts) {
      await real.append(trx, drafts);
      throw new Error('the audit trail is unavailable');
    },
  };
  const revocations = { revoked() {}, revokedAll() {} };
  const groups = createGroupService({ groups: createGroupStore(db, dialect, failing), clock: systemClock, revocations });
  const scim = createScimGroupService({ groups, reader: createScimGroupStore(db, dialect) });
  const urls = { group: (id: string) => `/Groups/${id}`, user: (id: string) => `/Users/${id}` };
  const body = patchOp({ op: 'add', path: 'members', value: people.map((u) => ({ value: u.id })) }, { op: 'replace', path: 'displayName', value: 'Renamed' });
  await assert.rejects(scim.patch(group.id, body, undefined, { attributes: [], excludedAttributes: [] }, urls), /audit trail is unavailable/);
  const after = await g.req('GET', `/Groups/${group.id}`);
  assert.deepEqual(after.body, group, 'no member, no rename, same version');
  assert.equal(Number((await db.selectFrom('group_members').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 0);
});

/** Records the tables every query reads or writes. */
function tableRecorder(): KyselyPlugin & { tables: string[] } {
  const tables: string[] = [];
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const n = node as { kind?: string; table?: { identifier?: { name?: string } } };
    if (n.kind === 'TableNode' && n.table?.identifier?.name) tables.push(n.table.identifier.name);
    for (const value of Object.values(node)) walk(value);
  };
  return {
    tables,
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      walk(args.node);
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      return args.result;
    },
  };
}

test('excludedAttributes=members reads the group row only, whatever the size of the group', async () => {
  const g = await groupsApp();
  const people = await g.bulkUsers(1000, 'lean');
  const { body: group } = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Big', externalId: 'big', members: people.map((u) => ({ value: u.id })) });
  const { db, dialect } = g.t.database;
  const recorder = tableRecorder();
  const groups = createGroupService({ groups: createGroupStore(db, dialect), clock: systemClock, revocations: { revoked() {}, revokedAll() {} } });
  const scim = createScimGroupService({ groups, reader: createScimGroupStore(db.withPlugin(recorder), dialect) });
  // The URLs the app answers with (light-my-request's Host), so the service's answer can be compared with the app's.
  const base = 'http://localhost:80/scim/v2';
  const urls = { group: (id: string) => `${base}/Groups/${id}`, user: (id: string) => `${base}/Users/${id}` };

  const lean = await scim.get(group.id, { attributes: [], excludedAttributes: ['members'] }, urls);
  assert.equal(lean.body.members, undefined);
  assert.equal(lean.version, group.meta.version);
  assert.deepEqual(recorder.tables, ['groups'], 'one read of the groups table, no membership row');

  recorder.tables.length = 0;
  const named = await scim.get(group.id, { attributes: ['displayname'], excludedAttributes: [] }, urls);
  assert.deepEqual(named.body, { schemas: [GROUP_SCHEMA], id: group.id, displayName: 'Big' });
  assert.deepEqual(recorder.tables, ['groups']);

  recorder.tables.length = 0;
  const full = await scim.get(group.id, { attributes: [], excludedAttributes: [] }, urls);
  assert.equal((full.body.members as unknown[]).length, 1000);
  assert.ok(recorder.tables.includes('group_members'), 'the members are read when they are returned');

  // The HTTP answer is the same, and so is the time whatever the membership (a lookup by primary key).
  const res = await g.req('GET', `/Groups/${group.id}?excludedAttributes=members`);
  assert.deepEqual(res.body, lean.body);
  const listed = await g.req('GET', `/Groups?filter=${encodeURIComponent('externalId eq "big"')}&excludedAttributes=members`);
  assert.deepEqual(listed.body.Resources, [lean.body]);
});
