import { firstUnknownRole, hasPermission, normaliseRoles, roleView, type RoleView } from './access.ts';
import { emailProblem, normaliseEmail } from './email.ts';
import { errors, valueError, ValidationError, type FieldProblem } from './errors.ts';
import { uuidv7 } from './ids.ts';
import { checkPassword } from './password-policy.ts';
import type { Revocations } from './principal-cache.ts';
import type { Principal } from './principal.ts';
import type { Clock, PasswordHasher, SortOrder, User, UserStore } from './ports.ts';

export interface CreateUserInput {
  email: string;
  password: string;
  temporary: boolean;
  roles: string[];
  firstName: string | null;
  lastName: string | null;
}

/** The seed's `UserResponse`. */
export interface UserView {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  roles: RoleView[];
}

export function userView(user: User): UserView {
  return {
    id: user.id,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    roles: user.roles.map(roleView),
  };
}

/** 422 at `loc` when the password breaks the policy; the one check create, reset and change all use. */
export function assertPasswordAcceptable(password: string, loc: (string | number)[]): void {
  const problem = checkPassword(password);
  if (problem) throw new ValidationError([valueError(loc, password, problem)]);
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
}

/** More terms than this are refused (422): each one is a separate index lookup and a filter on every row. */
export const MAX_SEARCH_TERMS = 10;

/** Search terms of §3.4: trimmed, split on whitespace, compared case-insensitively. */
export function searchTerms(searchString: string | undefined): string[] {
  const trimmed = (searchString ?? '').trim();
  if (trimmed === '') return [];
  const terms = [...new Set(trimmed.toLowerCase().split(/\s+/u))];
  if (terms.length > MAX_SEARCH_TERMS) {
    throw new ValidationError([
      valueError(['query', 'search_string'], searchString, `at most ${MAX_SEARCH_TERMS} search terms are allowed`),
    ]);
  }
  return terms;
}

// Beyond this offset no database holds rows; answering [] directly keeps absurd page numbers cheap and safe.
const MAX_OFFSET = 2 ** 53;

export function createUserService(deps: { users: UserStore; hasher: PasswordHasher; clock: Clock; revocations: Revocations }) {
  const { users, hasher, clock, revocations } = deps;

  return {
    async create(input: CreateUserInput): Promise<User> {
      const email = normaliseEmail(input.email);
      const problems: FieldProblem[] = [];
      const emailIssue = emailProblem(email);
      if (emailIssue) problems.push(valueError(['body', 'email'], input.email, emailIssue));
      const passwordIssue = checkPassword(input.password);
      if (passwordIssue) problems.push(valueError(['body', 'password'], input.password, passwordIssue));
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
      };
      if ((await users.insert(user)) === 'email_taken') throw errors.userExists(email);
      return { ...user, tokenVersion: 0 };
    },

    async delete(id: string): Promise<User> {
      const deleted = await users.delete(id);
      if (!deleted) throw errors.userNotFound(id);
      revocations.revoked(id);
      return deleted;
    },

    /**
     * §3.3: an admin resetting someone else's password makes it temporary; a user resetting their own makes it
     * permanent. Either way the token version moves, so every older token dies on its next use.
     */
    async resetPassword(caller: Principal, id: string, password: string): Promise<{ id: string; temporary: boolean }> {
      assertPasswordAcceptable(password, ['body', 'password']);
      const own = caller.kind === 'user' && caller.id === id;
      if (!own && !hasPermission(caller.roles, 'users:write')) throw errors.cannotResetPassword();
      if (!(await users.findById(id))) throw errors.userNotFound(id);
      const passwordHash = await hasher.hash(password);
      const temporary = !own;
      if (!(await users.setPassword(id, passwordHash, temporary, clock.now()))) throw errors.userNotFound(id);
      revocations.revoked(id);
      return { id, temporary };
    },

    async search(input: SearchInput): Promise<User[]> {
      const terms = searchTerms(input.searchString);
      const offset = input.page * input.pageSize;
      if (offset >= MAX_OFFSET) return [];
      return users.search({ terms, sort: input.sort, limit: input.pageSize, offset });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
