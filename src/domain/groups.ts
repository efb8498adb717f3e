import { firstUnknownRole, normaliseRoles, type AssignableRole } from './access.ts';
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

export interface GroupStore {
  insert(group: Omit<Group, 'memberCount'>): Promise<'inserted' | 'name_taken'>;
  /** Groups in creation order, `limit` of them after the position `<created_at>.<id>` of a previous page's last. */
  list(limit: number, after: string | null): Promise<GroupPage<Group>>;
  find(id: string): Promise<Group | undefined>;
  /** Name, description and roles (replaced as a set) in one transaction; no member row is touched. */
  update(id: string, changes: { name?: string; description?: string | null; roles?: AssignableRole[] }, at: number): Promise<'updated' | 'not_found' | 'name_taken'>;
  delete(id: string): Promise<boolean>;
  /** Member user ids in id (= creation) order after `after`. */
  members(id: string, limit: number, after: string | null): Promise<GroupPage<string>>;
  /** Adds the users (existing ones only) in one transaction; returns the ids that do not exist. */
  addMembers(id: string, userIds: string[], at: number): Promise<{ missing: string[] }>;
  /** Removes the users in one transaction; returns how many were members. */
  removeMembers(id: string, userIds: string[]): Promise<number>;
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
      if ((await groups.insert(group)) === 'name_taken') throw errors.groupExists(name);
      return { ...group, memberCount: 0 };
    },

    list: (limit: number, cursor: string | undefined) => groups.list(limit, decodeCursor(cursor, GROUP_POSITION)),
    get: find,

    async update(id: string, input: GroupInput): Promise<Group> {
      const changes: { name?: string; description?: string | null; roles?: AssignableRole[] } = {};
      if (input.name !== undefined) changes.name = checkName(input.name);
      if (input.description !== undefined) changes.description = input.description;
      if (input.roles !== undefined) changes.roles = checkRoles(input.roles);
      const outcome = await groups.update(id, changes, clock.now());
      if (outcome === 'not_found') throw errors.groupNotFound(id);
      if (outcome === 'name_taken') throw errors.groupExists(changes.name!);
      if (changes.roles !== undefined) changed();
      return find(id);
    },

    async remove(id: string): Promise<void> {
      if (!(await groups.delete(id))) throw errors.groupNotFound(id);
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
      const { missing } = await groups.addMembers(id, unique, clock.now());
      if (missing.length > 0) throw errors.userNotFound(missing[0]!);
      changed();
      return find(id);
    },

    async removeMembers(id: string, userIds: string[]): Promise<Group> {
      await find(id);
      await groups.removeMembers(id, [...new Set(userIds)]);
      changed();
      return find(id);
    },
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
