import { firstUnknownRole, normaliseRoles, type AssignableRole } from './access.ts';
import type { AuditDraft } from './audit.ts';
import { errors, valueError, ValidationError } from './errors.ts';
import { uuidv7 } from './ids.ts';
import type { Revocations } from './principal-cache.ts';
import type { Clock } from './ports.ts';
import { decodeCursor, type Page } from './paging.ts';

export interface Group {
  id: string;
  name: string;
  description: string | null;
  roles: AssignableRole[];
  memberCount: number;
  createdAt: number;
  updatedAt: number;
}

export type GroupPage<T> = Page<T>;

/** Positions in the lists: groups by (created at, id), members by user id (time-ordered, so creation order). */
const GROUP_POSITION = /^\d{1,16}\.[\w-]{1,100}$/;
const MEMBER_POSITION = /^[\w-]{1,100}$/;

export type GroupChanges = { name?: string; description?: string | null; roles?: AssignableRole[] };

/**
 * Mutating methods take the audit events of the change (`audit`, or a function of what the change found): the
 * store writes them in the change's own transaction, and only when the change happens.
 */
export interface GroupStore {
  insert(group: Omit<Group, 'memberCount'>, audit?: AuditDraft[]): Promise<'inserted' | 'name_taken'>;
  /** Groups in creation order, `limit` of them after the position `<created_at>.<id>` of a previous page's last. */
  list(limit: number, after: string | null): Promise<GroupPage<Group>>;
  find(id: string): Promise<Group | undefined>;
  /** Name, description and roles (replaced as a set) in one transaction; no member row is touched. `audit` gets the group as it was. */
  update(id: string, changes: GroupChanges, at: number, audit?: (before: Group) => AuditDraft[]): Promise<'updated' | 'not_found' | 'name_taken'>;
  /** `audit` gets the group as it was just before the delete. */
  delete(id: string, audit?: (before: Group) => AuditDraft[]): Promise<boolean>;
  /** Member user ids in id (= creation) order after `after`. */
  members(id: string, limit: number, after: string | null): Promise<GroupPage<string>>;
  /**
   * Adds the users (existing ones only) in one transaction; returns the ids that do not exist (then nobody is
   * added). `audit` gets the users who were not members before, and is not called when there are none.
   */
  addMembers(id: string, userIds: string[], at: number, audit?: (added: string[]) => AuditDraft[]): Promise<{ missing: string[] }>;
  /**
   * Removes the users in one transaction; returns how many were members. `audit` gets the users who were members,
   * and is not called when there are none.
   */
  removeMembers(id: string, userIds: string[], audit?: (removed: string[]) => AuditDraft[]): Promise<number>;
}

const NAME = /^[^\p{Cc}]{1,100}$/u; // no control characters (C0, DEL, C1)
export const MAX_MEMBERS_PER_REQUEST = 1000;

export interface GroupInput {
  name?: string;
  description?: string | null;
  roles?: string[];
}

/**
 * Groups carry roles: a member's effective roles are their own plus their groups'. Changing a group's roles is one
 * update of the group, however many members it has; every process forgets its cached principals, so the change
 * holds on the next request (on other replicas within the cache's lifetime).
 */
const groupTarget = (id: string) => ({ type: 'group', id });

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * The event of one PATCH: the names of the fields whose value changed and, when the roles did, the roles before and
 * after. Nothing changed (every value given equals the stored one): no event.
 */
function updateEvents(before: Group, changes: GroupChanges): AuditDraft[] {
  const fields: string[] = [];
  if (changes.name !== undefined && changes.name !== before.name) fields.push('name');
  if (changes.description !== undefined && changes.description !== before.description) fields.push('description');
  const rolesChanged = changes.roles !== undefined && !sameSet(changes.roles, before.roles);
  if (rolesChanged) fields.push('roles');
  if (fields.length === 0) return [];
  const details: Record<string, unknown> = { fields };
  if (rolesChanged) details.roles = { before: before.roles, after: changes.roles };
  return [{ action: 'group.updated', target: groupTarget(before.id), details }];
}

/**
 * Membership events: ONE event per request (the API adds and removes many users at once, up to
 * MAX_MEMBERS_PER_REQUEST), targeting the group, with the ids of the users whose membership actually changed
 * (`user_ids`, in the order the store changed them) and their number (`count`). Users who already were (or were not)
 * members are no change and are left out; a request that changes nobody writes no event.
 */
function memberEvent(action: 'group.member_added' | 'group.member_removed', groupId: string, userIds: string[]): AuditDraft[] {
  return [{ action, target: groupTarget(groupId), details: { user_ids: userIds, count: userIds.length } }];
}

export function createGroupService(deps: { groups: GroupStore; clock: Clock; revocations: Revocations }) {
  const { groups, clock, revocations } = deps;

  function checkName(name: string): string {
    const trimmed = name.trim();
    if (!NAME.test(trimmed)) throw new ValidationError([valueError(['name'], name, 'a group name is 1-100 printable characters')]);
    return trimmed;
  }

  function checkRoles(roles: string[]): AssignableRole[] {
    const unknown = firstUnknownRole(roles);
    if (unknown !== undefined) throw errors.unknownRole(unknown);
    return normaliseRoles(roles);
  }

  async function find(id: string): Promise<Group> {
    const group = await groups.find(id);
    if (!group) throw errors.groupNotFound(id);
    return group;
  }

  const changed = () => revocations.revokedAll?.();

  return {
    async create(input: Required<Pick<GroupInput, 'name'>> & GroupInput): Promise<Group> {
      const name = checkName(input.name);
      const roles = checkRoles(input.roles ?? []);
      const now = clock.now();
      const group = { id: uuidv7(now), name, description: input.description ?? null, roles, createdAt: now, updatedAt: now };
      const created: AuditDraft = { action: 'group.created', target: groupTarget(group.id), details: { name, description: group.description, roles } };
      if ((await groups.insert(group, [created])) === 'name_taken') throw errors.groupExists(name);
      return { ...group, memberCount: 0 };
    },

    list: (limit: number, cursor: string | undefined) => groups.list(limit, decodeCursor(cursor, GROUP_POSITION)),
    get: find,

    async update(id: string, input: GroupInput): Promise<Group> {
      const changes: GroupChanges = {};
      if (input.name !== undefined) changes.name = checkName(input.name);
      if (input.description !== undefined) changes.description = input.description;
      if (input.roles !== undefined) changes.roles = checkRoles(input.roles);
      const outcome = await groups.update(id, changes, clock.now(), (before) => updateEvents(before, changes));
      if (outcome === 'not_found') throw errors.groupNotFound(id);
      if (outcome === 'name_taken') throw errors.groupExists(changes.name!);
      if (changes.roles !== undefined) changed();
      return find(id);
    },

    async remove(id: string): Promise<void> {
      const deleted = (before: Group): AuditDraft[] => [
        { action: 'group.deleted', target: groupTarget(id), details: { name: before.name, roles: before.roles, member_count: before.memberCount } },
      ];
      if (!(await groups.delete(id, deleted))) throw errors.groupNotFound(id);
      changed();
    },

    async members(id: string, limit: number, cursor: string | undefined): Promise<GroupPage<string>> {
      const after = decodeCursor(cursor, MEMBER_POSITION);
      await find(id);
      return groups.members(id, limit, after);
    },

    /** Adds users to the group in one transaction; all or nothing (an unknown user id is 404 and adds nobody). */
    async addMembers(id: string, userIds: string[]): Promise<Group> {
      await find(id);
      const unique = [...new Set(userIds)];
      const { missing } = await groups.addMembers(id, unique, clock.now(), (added) => memberEvent('group.member_added', id, added));
      if (missing.length > 0) throw errors.userNotFound(missing[0]!);
      changed();
      return find(id);
    },

    async removeMembers(id: string, userIds: string[]): Promise<Group> {
      await find(id);
      await groups.removeMembers(id, [...new Set(userIds)], (removed) => memberEvent('group.member_removed', id, removed));
      changed();
      return find(id);
    },
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
