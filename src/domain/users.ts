import { firstUnknownRole, hasPermission, normaliseRoles, ROLES, type AssignableRole } from './access.ts';
import { emailProblem, normaliseEmail } from './email.ts';
import { errors, valueError, ValidationError, type FieldProblem } from './errors.ts';
import { uuidv7 } from './ids.ts';
import { checkPassword } from './password-policy.ts';
import type { Revocations } from './principal-cache.ts';
import type { Principal } from './principal.ts';
import type { Clock, LoginFailureStore, PasswordHasher, SortOrder, User, UserBefore, UserChanges, UserFilters, UserStore } from './ports.ts';
import type { AuditDraft } from './audit.ts';

export interface CreateUserInput {
  email: string;
  password: string;
  temporary: boolean;
  roles: string[];
  firstName: string | null;
  lastName: string | null;
  /** The provisioning identity provider's id for the user (SCIM `externalId`). */
  externalId?: string | null;
  /** Provisioning only: a SCIM `userName` that is not the email. Absent or null: the userName is the email. */
  userName?: string | null;
  /** false: created disabled (provisioning an inactive user). Default true. */
  enabled?: boolean;
}

/** What `PATCH /users/{id}` may change; absent fields stay as they are. */
export interface UpdateUserInput {
  email?: string;
  firstName?: string | null;
  lastName?: string | null;
  roles?: string[];
  enabled?: boolean;
  /** Provisioning only: the identity provider's id for the user; null clears it. */
  externalId?: string | null;
  /** Provisioning only: a SCIM `userName` apart from the email; null: the userName is the email again. */
  userName?: string | null;
  /** Provisioning only: a new permanent password, checked by the password policy (422 at `password`). */
  password?: string;
}

/** A user with their lockout state, as every user-facing view needs it. */
export interface UserRecord {
  user: User;
  /** Until when sign-in is locked after failed attempts (epoch ms), or null. */
  lockedUntil: number | null;
}

const ROLE_ORDER = Object.keys(ROLES);

/** The user's own roles and their groups' roles: what permission checks, tokens and `/users/me` use. */
export function effectiveRoles(user: User): AssignableRole[] {
  const all = new Set<AssignableRole>([...user.roles, ...user.groups.flatMap((g) => g.roles)]);
  return [...all].sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));
}

/** 422 at `field` when the password breaks the policy; the one check create, reset and change all use. */
export function assertPasswordAcceptable(password: string, field: string): void {
  const problem = checkPassword(password);
  if (problem) throw new ValidationError([valueError([field], password, problem)]);
}

/** Route-level rule of §3.3: admins reset anyone, a user only themselves, nobody else. Runs before validation. */
export function mayResetPasswordOf(caller: Principal, userId: string): boolean {
  return hasPermission(caller.roles, 'users:write') || (caller.kind === 'user' && caller.id === userId);
}

export interface SearchInput {
  searchString: string | undefined;
  sort: SortOrder;
  pageSize: number;
  page: number;
  filters?: SearchFilterInput;
}

export interface SearchFilterInput {
  role?: string | undefined;
  groupId?: string | undefined;
  enabled?: boolean | undefined;
}

/** More terms than this are refused (422): each one is a separate index lookup and a filter on every row. */
export const MAX_SEARCH_TERMS = 10;

/** Search terms of §3.4: trimmed, split on whitespace, compared case-insensitively. */
export function searchTerms(searchString: string | undefined): string[] {
  const trimmed = (searchString ?? '').trim();
  if (trimmed === '') return [];
  const terms = [...new Set(trimmed.toLowerCase().split(/\s+/u))];
  if (terms.length > MAX_SEARCH_TERMS) {
    throw new ValidationError([valueError(['search_string'], searchString, `at most ${MAX_SEARCH_TERMS} search terms are allowed`)]);
  }
  return terms;
}

function filtersOf(input: SearchFilterInput | undefined): UserFilters | undefined {
  if (!input) return undefined;
  const { role, groupId, enabled } = input;
  if (role !== undefined && firstUnknownRole([role]) !== undefined) throw errors.unknownRole(role);
  return { role: role as AssignableRole | undefined, groupId, enabled };
}

const userTarget = (id: string) => ({ type: 'user', id });

/** The events of one PATCH: what changed (names of fields; old and new roles), and disable/enable on their own. */
function updateEvents(before: UserBefore, changes: UserChanges): AuditDraft[] {
  const target = userTarget(before.id);
  const events: AuditDraft[] = [];
  const changed: string[] = (['email', 'firstName', 'lastName'] as const).filter((f) => changes[f] !== undefined && changes[f] !== before[f]);
  if (changes.externalId !== undefined && changes.externalId !== before.externalId) changed.push('externalId');
  if (changes.userName !== undefined && changes.userName !== before.userName) changed.push('userName');
  if (changed.length > 0) events.push({ action: 'user.updated', target, details: { fields: changed } });
  const sameRoles = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((r) => b.includes(r));
  if (changes.roles !== undefined && !sameRoles(changes.roles, before.roles)) {
    events.push({ action: 'user.roles_changed', target, details: { before: before.roles, after: changes.roles } });
  }
  if (changes.enabled !== undefined && changes.enabled !== before.enabled) {
    events.push({ action: changes.enabled ? 'user.enabled' : 'user.disabled', target });
  }
  if (changes.passwordHash !== undefined) events.push({ action: 'user.password_reset', target, details: { temporary: false, via: 'update' } });
  return events;
}

const MAX_USER_NAME = 256;

/**
 * A provisioned userName as stored: trimmed and lower-cased, so it compares case-insensitively (RFC 7643 makes
 * userName caseExact false) through the same index as the lower-cased emails. 422 at `userName` when unusable.
 */
export function normaliseUserName(value: string): string {
  const name = value.trim().toLowerCase();
  if (name === '' || [...name].length > MAX_USER_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ValidationError([valueError(['userName'], value, `userName must be 1 to ${MAX_USER_NAME} characters without control characters`)]);
  }
  return name;
}

// Beyond this offset no database holds rows; answering [] directly keeps absurd page numbers cheap and safe.
const MAX_OFFSET = 2 ** 53;

export interface UserServiceDeps {
  users: UserStore;
  hasher: PasswordHasher;
  clock: Clock;
  revocations: Revocations;
  failures: LoginFailureStore;
  /** How recent a sign-in must be for a user to set their own password with an access token (ms). */
  reauthWindowMs: number;
}

export function createUserService(deps: UserServiceDeps) {
  const { users, hasher, clock, revocations, failures } = deps;

  async function withLock(user: User): Promise<UserRecord> {
    const state = await failures.state(user.email, clock.now());
    const now = clock.now();
    return { user, lockedUntil: state.lockedUntil !== null && state.lockedUntil > now ? state.lockedUntil : null };
  }

  async function withLocks(list: User[]): Promise<UserRecord[]> {
    return Promise.all(list.map(withLock));
  }

  async function find(id: string): Promise<User> {
    const user = await users.findById(id);
    if (!user) throw errors.userNotFound(id);
    return user;
  }

  return {
    async create(input: CreateUserInput): Promise<UserRecord> {
      const email = normaliseEmail(input.email);
      const problems: FieldProblem[] = [];
      const emailIssue = emailProblem(email);
      if (emailIssue) problems.push(valueError(['email'], input.email, emailIssue));
      const passwordIssue = checkPassword(input.password);
      if (passwordIssue) problems.push(valueError(['password'], input.password, passwordIssue));
      if (problems.length > 0) throw new ValidationError(problems);

      const unknown = firstUnknownRole(input.roles);
      if (unknown !== undefined) throw errors.unknownRole(unknown);
      // Cheap pre-check so a duplicate costs no password hash; the unique index still decides races.
      if (await users.emailTaken(email)) throw errors.userExists(email);

      const passwordHash = await hasher.hash(input.password);
      const now = clock.now();
      const user = {
        id: uuidv7(now),
        email,
        firstName: input.firstName,
        lastName: input.lastName,
        passwordHash,
        passwordTemporary: input.temporary,
        roles: normaliseRoles(input.roles),
        createdAt: now,
        ...(input.externalId != null ? { externalId: input.externalId } : {}),
        ...(input.userName != null ? { userName: normaliseUserName(input.userName) } : {}),
        ...(input.enabled === false ? { enabled: false } : {}),
      };
      const createdEvent: AuditDraft = {
        action: 'user.created',
        target: userTarget(user.id),
        details: { email, roles: user.roles, temporary_password: input.temporary, ...(input.enabled === false ? { enabled: false } : {}) },
      };
      if ((await users.insert(user, [createdEvent])) === 'email_taken') throw errors.userExists(user.userName ?? email);
      const { passwordHash: _hash, externalId: _externalId, userName: _userName, enabled: _enabled, ...created } = user;
      return { user: { ...created, groups: [], tokenVersion: 0, enabled: input.enabled !== false, updatedAt: now }, lockedUntil: null };
    },

    get: async (id: string): Promise<UserRecord> => withLock(await find(id)),

    /** The users with these ids (in that order), for lists that hold user ids (group members). */
    getMany: async (ids: string[]): Promise<UserRecord[]> => withLocks(await users.findByIds(ids)),

    /** Changes names, email, own roles and enabled in one transaction; answers with the updated user. */
    /** `unchangedSince`: write only if the user's `updatedAt` is still that (else 412, nothing written). */
    async update(id: string, input: UpdateUserInput, unchangedSince?: number): Promise<UserRecord> {
      const changes: UserChanges = {};
      if (input.email !== undefined) {
        const email = normaliseEmail(input.email);
        const problem = emailProblem(email);
        if (problem) throw new ValidationError([valueError(['email'], input.email, problem)]);
        changes.email = email;
      }
      if (input.roles !== undefined) {
        const unknown = firstUnknownRole(input.roles);
        if (unknown !== undefined) throw errors.unknownRole(unknown);
        changes.roles = normaliseRoles(input.roles);
      }
      if (input.firstName !== undefined) changes.firstName = input.firstName;
      if (input.lastName !== undefined) changes.lastName = input.lastName;
      if (input.enabled !== undefined) changes.enabled = input.enabled;
      if (input.externalId !== undefined) changes.externalId = input.externalId;
      if (input.userName !== undefined) changes.userName = input.userName === null ? null : normaliseUserName(input.userName);
      if (input.password !== undefined) {
        assertPasswordAcceptable(input.password, 'password');
        changes.passwordHash = await hasher.hash(input.password);
      }
      const outcome = await users.update(id, changes, clock.now(), (before) => updateEvents(before, changes), unchangedSince);
      if (outcome === 'not_found') throw errors.userNotFound(id);
      if (outcome === 'changed_meanwhile') throw errors.userChangedMeanwhile(id);
      if (outcome === 'email_taken') throw errors.userExists(changes.userName ?? changes.email ?? id);
      // Roles or enabled changed: what this process remembers of the user's credentials is out of date.
      revocations.revoked(id);
      return withLock(await find(id));
    },

    /** `unchangedSince`: delete only if the user's `updatedAt` is still that (else 412, nothing deleted). */
    async delete(id: string, unchangedSince?: number): Promise<UserRecord> {
      const deleted = await users.delete(id, [{ action: 'user.deleted', target: userTarget(id) }], unchangedSince);
      if (deleted === 'changed_meanwhile') throw errors.userChangedMeanwhile(id);
      if (!deleted) throw errors.userNotFound(id);
      revocations.revoked(id);
      return { user: deleted, lockedUntil: null };
    },

    /** Lifts a lockout from failed sign-ins. */
    async unlock(id: string): Promise<UserRecord> {
      const user = await find(id);
      await failures.clear(user.email, [{ action: 'user.unlocked', target: userTarget(id) }]);
      return { user, lockedUntil: null };
    },

    /**
     * §3.3: an admin resetting someone else's password makes it temporary (and lifts a lockout); a user resetting
     * their own makes it permanent, but only with a recent sign-in, so a stolen access token is not a stolen account.
     * Either way the token version moves, so every older token dies on its next use.
     */
    async resetPassword(caller: Principal, id: string, password: string): Promise<{ id: string; temporary: boolean }> {
      assertPasswordAcceptable(password, 'password');
      const own = caller.kind === 'user' && caller.id === id;
      const admin = hasPermission(caller.roles, 'users:write');
      if (!own && !admin) throw errors.cannotResetPassword();
      // Administrators too: their own password is self-service like anyone's.
      if (own && (caller.authTime === undefined || clock.now() - caller.authTime > deps.reauthWindowMs)) throw errors.signInAgain();
      const user = await find(id);
      const passwordHash = await hasher.hash(password);
      const temporary = !own;
      const event: AuditDraft = own
        ? { action: 'user.password_changed', target: userTarget(id), details: { via: 'reset_password' } }
        : { action: 'user.password_reset', target: userTarget(id), details: { temporary: true } };
      if (!(await users.setPassword(id, passwordHash, temporary, clock.now(), [event]))) throw errors.userNotFound(id);
      if (!own) await failures.clear(user.email);
      revocations.revoked(id);
      return { id, temporary };
    },

    async search(input: SearchInput): Promise<UserRecord[]> {
      const terms = searchTerms(input.searchString);
      const filters = filtersOf(input.filters);
      const offset = input.page * input.pageSize;
      if (offset >= MAX_OFFSET) return [];
      return withLocks(await users.search({ terms, filters, sort: input.sort, limit: input.pageSize, offset }));
    },

    async count(input: { searchString: string | undefined; filters?: SearchFilterInput }): Promise<number> {
      return users.count({ terms: searchTerms(input.searchString), filters: filtersOf(input.filters) });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
