import { Command, Option } from 'commander';
import { ADMIN_ROLE } from '../domain/access.ts';
import { normaliseEmail } from '../domain/email.ts';
import { errors } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import type { UserRecord, UserService } from '../domain/users.ts';
import { userView } from '../http/views/user-view.ts';
import { withServices, type DatabaseOptions } from './context.ts';
import { usageError } from './exit-codes.ts';
import { generatePassword } from './generated-password.ts';
import { collect, databaseOption, jsonOption, readStdin, wholeNumber } from './options.ts';
import { dash, printFields, printJson, printLine, printTable, type OutputOptions } from './output.ts';

type Options = DatabaseOptions & OutputOptions;

// The limits the API's request schema puts on the same fields.
const NAME_MAX = 100;
const ROLES_MAX = 50;

/**
 * Who resets a password from the command line: an administrator, never the user themselves, so the new password
 * is temporary and a lockout is lifted, exactly as when an ORG-ADMIN key calls POST /users/{id}/reset_password.
 */
const OPERATOR: Principal = { kind: 'admin_key', id: 'cli', roles: [ADMIN_ROLE], email: null, firstName: null, lastName: null };

/** A user named by id, or by email address (anything with an @): operators know people by their address. */
async function findUser(users: UserService, ref: string): Promise<UserRecord> {
  if (!ref.includes('@')) return users.get(ref);
  const email = normaliseEmail(ref);
  if (/\s/.test(email)) throw errors.userNotFound(ref);
  // The search matches substrings (al@example.com is in pal@example.com too), so read on until the exact address.
  const pageSize = 500;
  for (let page = 0; ; page += 1) {
    const found = await users.search({ searchString: email, sort: 'asc', pageSize, page });
    const user = found.find((r) => r.user.email === email);
    if (user) return user;
    if (found.length < pageSize) throw errors.userNotFound(ref);
  }
}

function printUser(record: UserRecord, options: OutputOptions, extra: Record<string, unknown> = {}): void {
  const view = userView(record);
  if (options.json) return printJson({ ...view, ...extra });
  printFields([
    ['id', view.id],
    ['email', view.email],
    ['name', dash([view.first_name, view.last_name].filter(Boolean).join(' '))],
    ['roles', dash(view.roles.map((r) => r.name).join(', '))],
    ['groups', dash(view.groups.map((g) => g.name).join(', '))],
    ['enabled', String(view.enabled)],
    ['locked until', dash(view.locked_until)],
    ['created', view.created_at],
    ['updated', view.updated_at],
  ]);
}

/** The password to set: typed by the operator (flag or standard input), or generated and then shown once. */
async function chosenPassword(options: { temporaryPassword?: string; passwordStdin?: boolean }): Promise<{ password: string; generated: boolean }> {
  if (options.temporaryPassword !== undefined && options.passwordStdin) throw usageError('give --temporary-password or --password-stdin, not both');
  if (options.temporaryPassword !== undefined) return { password: options.temporaryPassword, generated: false };
  if (options.passwordStdin) return { password: await readStdin(), generated: false };
  return { password: generatePassword(), generated: true };
}

function checkName(flag: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  if (value.length > NAME_MAX) throw usageError(`${flag} must be at most ${NAME_MAX} characters`);
  return value;
}

const passwordOptions = (command: Command) =>
  command
    .addOption(new Option('--temporary-password <password>', 'the temporary password (otherwise one is generated and printed once); visible to other local users in the process list, prefer --password-stdin'))
    .option('--password-stdin', 'read the temporary password from standard input');

function userRef(command: Command): Command {
  return command.argument('<user>', 'the user: their id, or their email address');
}

export function usersCommand(): Command {
  const users = new Command('users').description('list, read, create, disable, enable and delete users; reset their passwords');

  jsonOption(databaseOption(users.command('list')))
    .description('users in creation order, a page at a time (as GET /users)')
    .option('--search <text>', 'every whitespace-separated term must occur in the email, first or last name')
    .option('--role <role>', 'only users holding this role, directly or through a group')
    .option('--group <group-id>', 'only members of this group')
    .addOption(new Option('--enabled', 'only enabled users').conflicts('disabled'))
    .option('--disabled', 'only disabled users')
    .addOption(new Option('--sort <order>', 'creation order').choices(['asc', 'desc']).default('desc'))
    .option('--limit <n>', 'users per page, 1-5000', wholeNumber(1, 5000), 50)
    .option('--page <n>', 'page number, from 0', wholeNumber(0, Number.MAX_SAFE_INTEGER), 0)
    .action(async (o: Options & { search?: string; role?: string; group?: string; enabled?: boolean; disabled?: boolean; sort: 'asc' | 'desc'; limit: number; page: number }) => {
      if (o.search !== undefined && o.search.length > 200) throw usageError('--search must be at most 200 characters');
      await withServices(o, async ({ services }) => {
        const enabled = o.enabled ? true : o.disabled ? false : undefined;
        const found = await services.users.search({
          searchString: o.search,
          sort: o.sort,
          pageSize: o.limit,
          page: o.page,
          filters: { role: o.role, groupId: o.group, enabled },
        });
        if (o.json) return printJson(found.map(userView));
        printTable(
          ['ID', 'EMAIL', 'NAME', 'ROLES', 'ENABLED'],
          found.map(({ user }) => [user.id, user.email, dash([user.firstName, user.lastName].filter(Boolean).join(' ')), dash(user.roles.join(',')), String(user.enabled)]),
        );
        if (found.length === o.limit) printLine(`(more may follow: --page ${o.page + 1})`);
      });
    });

  jsonOption(databaseOption(userRef(users.command('get'))))
    .description('one user (as GET /users/{id})')
    .action(async (ref: string, o: Options) => {
      await withServices(o, async ({ services }) => printUser(await findUser(services.users, ref), o));
    });

  jsonOption(databaseOption(passwordOptions(users.command('create'))))
    .description('create a user with a temporary password, which they change at first sign-in (as POST /users)')
    .requiredOption('--email <email>', 'their email address (unique)')
    .option('--first-name <name>', 'first name')
    .option('--last-name <name>', 'last name')
    .option('--role <role>', 'a role to hold; repeat for several (gatehouse roles: see GET /roles)', collect)
    .action(async (o: Options & { email: string; firstName?: string; lastName?: string; role?: string[]; temporaryPassword?: string; passwordStdin?: boolean }) => {
      const firstName = checkName('--first-name', o.firstName);
      const lastName = checkName('--last-name', o.lastName);
      const roles = o.role ?? [];
      if (roles.length > ROLES_MAX) throw usageError(`at most ${ROLES_MAX} roles`);
      const { password, generated } = await chosenPassword(o);
      await withServices(o, async ({ services }) => {
        const created = await services.users.create({ email: o.email, password, temporary: true, roles, firstName, lastName });
        // The one time a password is printed: one the operator did not choose, so they have no other copy of it.
        const shown = generated ? { temporary_password: password } : {};
        if (o.json) return printJson({ ...userView(created), ...shown });
        printUser(created, o);
        if (generated) printLine(`\ntemporary password (shown this once; the user must change it at first sign-in):\n  ${password}`);
      });
    });

  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    jsonOption(databaseOption(userRef(users.command(verb))))
      .description(enabled ? 'let the user sign in again (their old tokens stay dead)' : 'stop the user signing in; every token and session of theirs ends at once')
      .action(async (ref: string, o: Options) => {
        await withServices(o, async ({ services }) => {
          const { user } = await findUser(services.users, ref);
          const updated = await services.users.update(user.id, { enabled });
          if (o.json) return printJson(userView(updated));
          printLine(`gatehouse: user ${user.email} (${user.id}) ${enabled ? 'enabled' : 'disabled'}`);
        });
      });
  }

  jsonOption(databaseOption(userRef(users.command('delete'))))
    .description('delete the user; their tokens stop working at once')
    .action(async (ref: string, o: Options) => {
      await withServices(o, async ({ services }) => {
        const { user } = await findUser(services.users, ref);
        const deleted = await services.users.delete(user.id);
        if (o.json) return printJson(userView(deleted));
        printLine(`gatehouse: user ${user.email} (${user.id}) deleted`);
      });
    });

  jsonOption(databaseOption(passwordOptions(userRef(users.command('reset-password')))))
    .description('set a temporary password (the user must change it at next sign-in); lifts a lockout; every older token dies')
    .action(async (ref: string, o: Options & { temporaryPassword?: string; passwordStdin?: boolean }) => {
      const { password, generated } = await chosenPassword(o);
      await withServices(o, async ({ services }) => {
        const { user } = await findUser(services.users, ref);
        const result = await services.users.resetPassword(OPERATOR, user.id, password);
        const shown = generated ? { temporary_password: password } : {};
        if (o.json) return printJson({ id: result.id, email: user.email, temporary: result.temporary, ...shown });
        printLine(`gatehouse: password of ${user.email} (${user.id}) reset; it is temporary and must be changed at next sign-in`);
        if (generated) printLine(`\ntemporary password (shown this once):\n  ${password}`);
      });
    });

  return users;
}
