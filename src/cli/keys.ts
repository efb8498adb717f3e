import { Command } from 'commander';
import { DEFAULT_API_KEY_ROLES } from '../domain/access.ts';
import { apiKeyView } from '../http/views/api-key-view.ts';
import { withServices, type DatabaseOptions } from './context.ts';
import { usageError } from './exit-codes.ts';
import { collect, databaseOption, jsonOption } from './options.ts';
import { dash, printJson, printLine, printTable, type OutputOptions } from './output.ts';

type Options = DatabaseOptions & OutputOptions;

// The limits the API's request schema puts on the same fields.
const DESCRIPTION_MAX = 200;
const ROLES_MAX = 50;

/**
 * `gatehouse keys …`: API keys, straight on the database. `keys mint --role ORG-ADMIN` is the way back in when the
 * bootstrap key is lost and no administrator can sign in: it needs only access to the database, not to the API.
 */
export function keysCommand(): Command {
  const keys = new Command('keys').description('mint, list and deactivate API keys');

  jsonOption(databaseOption(keys.command('mint')))
    .description('mint an API key; its secret is printed this once (as POST /auth/api_keys)')
    .option('--role <role>', `a role the key holds; repeat for several, e.g. --role ORG-ADMIN (default, as the API: ${DEFAULT_API_KEY_ROLES.join(', ')})`, collect)
    .option('--description <text>', 'what the key is for, shown in lists')
    .option('--expires-at <time>', 'when it stops working: an RFC 3339 time with an offset, e.g. 2030-01-31T12:00:00Z (default: never)')
    .action(async (o: Options & { role?: string[]; description?: string; expiresAt?: string }) => {
      const roles = o.role ?? [...DEFAULT_API_KEY_ROLES];
      if (roles.length > ROLES_MAX) throw usageError(`at most ${ROLES_MAX} roles`);
      if (o.description !== undefined && o.description.length > DESCRIPTION_MAX) throw usageError(`--description must be at most ${DESCRIPTION_MAX} characters`);
      await withServices(o, async ({ services }) => {
        const { key, secret } = await services.apiKeys.mint({ description: o.description ?? null, roles, expiresAt: o.expiresAt ?? null });
        // The field is `key`, as in the API's mint response.
        if (o.json) return printJson({ ...apiKeyView(key), key: secret });
        printLine(`gatehouse: minted API key ${key.id} (${key.roles.join(', ')}); the secret is shown this once, store it now:\n\n  ${secret}\n`);
        printLine('Use it as:  Authorization: Bearer <key>');
      });
    });

  jsonOption(databaseOption(keys.command('list')))
    .description('every API key, active or not, in creation order (as GET /auth/api_keys); never their secrets')
    .action(async (o: Options) => {
      await withServices(o, async ({ services }) => {
        const views = (await services.apiKeys.list()).map(apiKeyView);
        if (o.json) return printJson(views);
        printTable(
          ['ID', 'PREFIX', 'ROLES', 'ACTIVE', 'EXPIRES', 'LAST USED', 'DESCRIPTION'],
          views.map((k) => [k.id, k.prefix, k.roles.join(','), String(k.is_active), dash(k.expires_at), dash(k.last_used_at), dash(k.description)]),
        );
      });
    });

  jsonOption(databaseOption(keys.command('deactivate')))
    .description('deactivate an API key: it stops working at once (refused for the last ORG-ADMIN key unless GATEHOUSE_ADMIN_KEY is set)')
    .argument('<key-id>', 'the key id (see keys list)')
    .action(async (id: string, o: Options) => {
      await withServices(o, async ({ services }) => {
        const key = await services.apiKeys.deactivate(id);
        if (o.json) return printJson(apiKeyView(key));
        printLine(`gatehouse: API key ${key.id} (${key.prefix}…) deactivated`);
      });
    });

  return keys;
}
