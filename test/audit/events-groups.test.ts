import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../src/domain/audit.ts';
import { createGroupService } from '../../src/domain/groups.ts';
import { systemClock } from '../../src/domain/ports.ts';
import { createGroupStore } from '../../src/store/group-store.ts';
import { forEachDialect } from '../store/dialects.ts';
import { events, head, written, refusedSilently, onlyEvent, assertChainVerifies } from './event-helpers.ts';

// The audit events of group changes, at the service level on each dialect: one event per change, in the change's
// transaction (so none for a refused change), with details that name what changed, and a chain that verifies.

const only = (list: AuditEvent[], action: string, targetId: string) => onlyEvent(list, action, 'group', targetId);

forEachDialect('audit events of groups', (h) => {
  const service = () =>
    createGroupService({ groups: createGroupStore(h.db, h.dialect), clock: systemClock, revocations: { revoked() {}, revokedAll() {} } });
  const userIds = ['0190a000-0000-7000-8000-000000000001', '0190a000-0000-7000-8000-000000000002', '0190a000-0000-7000-8000-000000000003'];

  test('users to put in groups (inserted directly: no events of their own)', async () => {
    const now = Date.now();
    await h.db
      .insertInto('users')
      .values(
        userIds.map((id, i) => ({
          id,
          email: `member${i}@example.test`,
          first_name: null,
          last_name: null,
          search_text: `member${i}@example.test`,
          password_hash: 'not-a-hash',
          password_temporary: 0,
          password_set_at: now,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
    assert.equal(await head(h), 0);
  });

  let groupId = '';

  test('group.created: name, description and roles', async () => {
    let id = '';
    const list = await written(h, async () => {
      id = (await service().create({ name: 'Editors', description: 'they edit', roles: ['CHAT-USER'] })).id;
    });
    groupId = id;
    const e = only(list, 'group.created', id);
    assert.deepEqual(e.details, { name: 'Editors', description: 'they edit', roles: ['CHAT-USER'] });
  });

  test('a duplicate name is refused and writes nothing', async () => {
    await refusedSilently(h, () => service().create({ name: 'Editors' }), /exists|already/i);
  });

  test('group.updated: the changed field names; the roles before and after when they change', async () => {
    const renamed = await written(h, () => service().update(groupId, { name: 'Writers', description: 'they edit' }));
    assert.deepEqual(only(renamed, 'group.updated', groupId).details, { fields: ['name'] }, 'an unchanged description is not a change');

    const roles = await written(h, () => service().update(groupId, { roles: ['ORG-AUDITOR', 'CHAT-USER'], description: null }));
    assert.deepEqual(only(roles, 'group.updated', groupId).details, {
      fields: ['description', 'roles'],
      roles: { before: ['CHAT-USER'], after: (await service().get(groupId)).roles },
    });
  });

  test('an update that changes nothing, of a missing group, or to a taken name writes nothing', async () => {
    assert.deepEqual(await written(h, () => service().update(groupId, { name: 'Writers', roles: ['CHAT-USER', 'ORG-AUDITOR'] })), []);
    await refusedSilently(h, () => service().update('0190a000-0000-7000-8000-00000000dead', { name: 'Ghosts' }), /not found/i);
    await service().create({ name: 'Readers' });
    await refusedSilently(h, () => service().update(groupId, { name: 'Readers' }), /exists|already/i);
  });

  test('group.member_added: ONE event per request, with the ids of the users who were not members yet', async () => {
    const first = await written(h, () => service().addMembers(groupId, [userIds[0]!, userIds[1]!, userIds[0]!]));
    assert.deepEqual(only(first, 'group.member_added', groupId).details, { user_ids: [userIds[0], userIds[1]], count: 2 });

    const again = await written(h, () => service().addMembers(groupId, [userIds[1]!, userIds[2]!]));
    assert.deepEqual(only(again, 'group.member_added', groupId).details, { user_ids: [userIds[2]], count: 1 }, 'a member already is no change');

    assert.deepEqual(await written(h, () => service().addMembers(groupId, [userIds[0]!])), [], 'nobody new: no event');
    await refusedSilently(h, () => service().addMembers(groupId, [userIds[0]!, '0190a000-0000-7000-8000-00000000beef']), /not found/i);
  });

  test('group.member_removed: ONE event per request, with the ids of the users who were members', async () => {
    const removed = await written(h, () => service().removeMembers(groupId, [userIds[0]!, userIds[2]!, '0190a000-0000-7000-8000-00000000beef']));
    const e = only(removed, 'group.member_removed', groupId);
    assert.deepEqual({ ...e.details, user_ids: [...(e.details.user_ids as string[])].sort() }, { user_ids: [userIds[0], userIds[2]], count: 2 });
    assert.deepEqual(await written(h, () => service().removeMembers(groupId, [userIds[0]!])), [], 'not a member: no event');
  });

  test('group.deleted: name, roles and member count; a missing group writes nothing', async () => {
    const group = await service().get(groupId);
    const deleted = await written(h, () => service().remove(groupId));
    assert.deepEqual(only(deleted, 'group.deleted', groupId).details, { name: 'Writers', roles: group.roles, member_count: 1 });
    await refusedSilently(h, () => service().remove(groupId), /not found/i);
  });

  test('every event has its own sequence number and the chain verifies', async () => {
    const all = await events(h);
    assert.deepEqual(
      all.map((e) => e.action),
      ['group.created', 'group.updated', 'group.updated', 'group.created', 'group.member_added', 'group.member_added', 'group.member_removed', 'group.deleted'],
    );
    assert.ok(!JSON.stringify(all).includes('not-a-hash'), 'no password hash in any event');
    await assertChainVerifies(h);
  });
});
