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
  /** The identifier an identity provider gave the group (SCIM `externalId`); null when none did. */
  externalId: string | null;
  memberCount: number;
  createdAt: number;
  updatedAt: number;
}

export type GroupPage<T> = Page<T>;

/** Positions in the lists: groups by (created at, id), members by user id (time-ordered, so creation order). */
const GROUP_POSITION = /^\d{1,16}\.[\w-]{1,100}$/;
const MEMBER_POSITION = /^[\w-]{1,100}$/;

export type GroupChanges = { name?: string; description?: string | null; roles?: AssignableRole[]; externalId?: string | null };

/**
 * A change of fields and members in one transaction (a SCIM PUT or PATCH). `add` and `remove` are disjoint sets of
 * user ids; with `replaceMembers`, every member not in `add` leaves the group.
 */
export interface GroupMembershipChange {
  fields: GroupChanges;
  add: string[];
  remove: string[];
  replaceMembers?: boolean;
}

/** What a change did: the users who joined and who left (those who already were, or were not, members are left out). */
export interface GroupChangeResult {
  added: string[];
  removed: string[];
}

export type GroupChangeOutcome = ({ outcome: 'changed' } & GroupChangeResult) | { outcome: 'not_found' } | { outcome: 'name_taken' } | { outcome: 'missing_users'; missing: string[] };

/**
 * Mutating methods take the audit events of the change (`audit`, or a function of what the change found): the
 * store writes them in the change's own transaction, and only when the change happens.
 */
export interface GroupStore {
  insert(group: Omit<Group, 'memberCount'>, audit?: AuditDraft[]): Promise<'inserted' | 'name_taken'>;
  /**
   * Inserts the group and its first members (existing users only: else nothing is inserted and `missing` names
   * them) in one transaction; `members` gets the ids added.
   */
  insertWithMembers(
    group: Omit<Group, 'memberCount'>,
    userIds: string[],
    audit: AuditDraft[],
    members: (added: string[]) => AuditDraft[],
  ): Promise<'inserted' | 'name_taken' | { missing: string[] }>;
  /** Groups in creation order, `limit` of them after the position `<created_at>.<id>` of a previous page's last. */
  list(limit: number, after: string | null): Promise<GroupPage<Group>>;
  find(id: string): Promise<Group | undefined>;
  /** Name, description and roles (replaced as a set) in one transaction; no member row is touched. `audit` gets the group as it was. */
  update(id: string, changes: GroupChanges, at: number, audit?: (before: Group) => AuditDraft[]): Promise<'updated' | 'not_found' | 'name_taken'>;
  /** `audit` gets the group as it was just before the delete; `check` too, first, and may throw to refuse it. */
  delete(id: string, audit?: (before: Group) => AuditDraft[], check?: (before: Group) => void): Promise<boolean>;
  /** Member user ids in id (= creation) order after `after`. */
  members(id: string, limit: number, after: string | null): Promise<GroupPage<string>>;
  /**
   * Adds the users (existing ones only) in one transaction; returns the ids that do not exist (then nobody is
   * added). `audit` gets the users who were not members before, and is not called when there are none. A change
   * moves the group's `updatedAt` forward.
   */
  addMembers(id: string, userIds: string[], at: number, audit?: (added: string[]) => AuditDraft[]): Promise<{ missing: string[] }>;
  /**
   * Removes the users in one transaction; returns how many were members. `audit` gets the users who were members,
   * and is not called when there are none. A change moves the group's `updatedAt` forward.
   */
  removeMembers(id: string, userIds: string[], at: number, audit?: (removed: string[]) => AuditDraft[]): Promise<number>;
  /**
   * Fields and members in ONE transaction, however many members change (a SCIM PUT or PATCH of 1,000 members is one
   * commit). Unknown users in `add`: nothing changes ('missing_users'). `check` sees the group as it was (its row
   * locked on PostgreSQL) before anything is written, and may throw to refuse the change (If-Match). When anything
   * changed, the group's `updatedAt` moves forward (strictly: a later change never shares its predecessor's time).
   * `audit` gets the group as it was and what changed.
   */
  change(
    id: string,
    change: GroupMembershipChange,
    at: number,
    opts?: { check?: (before: Group) => void; audit?: (before: Group, result: GroupChangeResult) => AuditDraft[] },
  ): Promise<GroupChangeOutcome>;
}

const NAME = /^[^\p{Cc}]{1,100}$/u; // no control characters (C0, DEL, C1)
export const MAX_MEMBERS_PER_REQUEST = 1000;

export interface GroupInput {
  name?: string;
  description?: string | null;
  roles?: string[];
  externalId?: string | null;
}

/** Members one `change` may add or remove at most (a SCIM PUT or PATCH): each is a row in one transaction. */
export const MAX_MEMBERS_PER_CHANGE = 10_000;

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
  if (changes.externalId !== undefined && changes.externalId !== before.externalId) fields.push('external_id');
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

  type NewGroupInput = Required<Pick<GroupInput, 'name'>> & GroupInput;

  /** A checked new group and its group.created event. */
  function newGroup(input: NewGroupInput): { group: Omit<Group, 'memberCount'>; created: AuditDraft } {
    const name = checkName(input.name);
    const roles = checkRoles(input.roles ?? []);
    const now = clock.now();
    const externalId = input.externalId ?? null;
    const group = { id: uuidv7(now), name, description: input.description ?? null, roles, externalId, createdAt: now, updatedAt: now };
    const details: Record<string, unknown> = { name, description: group.description, roles };
    if (externalId !== null) details.external_id = externalId;
    return { group, created: { action: 'group.created', target: groupTarget(group.id), details } };
  }

  async function create(input: NewGroupInput): Promise<Group> {
    const { group, created } = newGroup(input);
    if ((await groups.insert(group, [created])) === 'name_taken') throw errors.groupExists(group.name);
    return { ...group, memberCount: 0 };
  }

  return {
    create,

    /**
     * Creates the group with its first members in ONE transaction (a SCIM POST with `members`): the group.created
     * and group.member_added events commit with it, and an unknown user creates nothing (`missingUser`'s error,
     * by default 404).
     */
    async createWithMembers(input: NewGroupInput, userIds: string[], missingUser: (id: string) => Error = errors.userNotFound): Promise<Group> {
      const unique = [...new Set(userIds)];
      if (unique.length === 0) return create(input);
      if (unique.length > MAX_MEMBERS_PER_CHANGE) {
        throw new ValidationError([valueError(['members'], unique.length, `at most ${MAX_MEMBERS_PER_CHANGE} members change at once`)]);
      }
      const { group, created } = newGroup(input);
      const outcome = await groups.insertWithMembers(group, unique, [created], (added) => memberEvent('group.member_added', group.id, added));
      if (outcome === 'name_taken') throw errors.groupExists(group.name);
      if (outcome !== 'inserted') throw missingUser(outcome.missing[0]!);
      changed();
      return find(group.id);
    },

    list: (limit: number, cursor: string | undefined) => groups.list(limit, decodeCursor(cursor, GROUP_POSITION)),
    get: find,

    async update(id: string, input: GroupInput): Promise<Group> {
      const changes: GroupChanges = {};
      if (input.name !== undefined) changes.name = checkName(input.name);
      if (input.description !== undefined) changes.description = input.description;
      if (input.roles !== undefined) changes.roles = checkRoles(input.roles);
      if (input.externalId !== undefined) changes.externalId = input.externalId;
      const outcome = await groups.update(id, changes, clock.now(), (before) => updateEvents(before, changes));
      if (outcome === 'not_found') throw errors.groupNotFound(id);
      if (outcome === 'name_taken') throw errors.groupExists(changes.name!);
      if (changes.roles !== undefined) changed();
      return find(id);
    },

    /** `check` sees the group as it is, in the delete's transaction, and may throw to refuse it (If-Match). */
    async remove(id: string, check?: (before: Group) => void): Promise<void> {
      const deleted = (before: Group): AuditDraft[] => [
        { action: 'group.deleted', target: groupTarget(id), details: { name: before.name, roles: before.roles, member_count: before.memberCount } },
      ];
      if (!(await groups.delete(id, deleted, check))) throw errors.groupNotFound(id);
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
      await groups.removeMembers(id, [...new Set(userIds)], clock.now(), (removed) => memberEvent('group.member_removed', id, removed));
      changed();
      return find(id);
    },

    /**
     * Name, external id and members in ONE transaction with their events (group.updated, group.member_added,
     * group.member_removed: one of each at most, naming every user whose membership changed). `check` may refuse
     * the change on seeing the group as it is (If-Match); an unknown user in `add` changes nothing and is
     * `missingUser`'s error (by default 404). Reads nothing back: a caller that shows the group reads what it shows.
     */
    async change(
      id: string,
      input: { name?: string; externalId?: string | null; add?: string[]; remove?: string[]; replaceMembers?: boolean },
      opts: { check?: (before: Group) => void; missingUser?: (id: string) => Error } = {},
    ): Promise<void> {
      const fields: GroupChanges = {};
      if (input.name !== undefined) fields.name = checkName(input.name);
      if (input.externalId !== undefined) fields.externalId = input.externalId;
      const add = [...new Set(input.add ?? [])];
      const adding = new Set(add);
      const remove = [...new Set(input.remove ?? [])].filter((u) => !adding.has(u));
      if (add.length + remove.length > MAX_MEMBERS_PER_CHANGE) {
        throw new ValidationError([valueError(['members'], add.length + remove.length, `at most ${MAX_MEMBERS_PER_CHANGE} members change at once`)]);
      }
      const change: GroupMembershipChange = { fields, add, remove, ...(input.replaceMembers ? { replaceMembers: true } : {}) };
      const audit = (before: Group, result: GroupChangeResult): AuditDraft[] => [
        ...updateEvents(before, fields),
        // In the order the store changes them: who left, then who joined.
        ...(result.removed.length > 0 ? memberEvent('group.member_removed', id, result.removed) : []),
        ...(result.added.length > 0 ? memberEvent('group.member_added', id, result.added) : []),
      ];
      const outcome = await groups.change(id, change, clock.now(), { ...(opts.check ? { check: opts.check } : {}), audit });
      if (outcome.outcome === 'not_found') throw errors.groupNotFound(id);
      if (outcome.outcome === 'name_taken') throw errors.groupExists(fields.name!);
      if (outcome.outcome === 'missing_users') throw (opts.missingUser ?? errors.userNotFound)(outcome.missing[0]!);
      if (outcome.added.length + outcome.removed.length > 0) changed();
    },
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
