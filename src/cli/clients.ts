import { Command } from 'commander';
import type { ClientMetadataInput } from '../domain/oauth-clients.ts';
import { clientView } from '../http/views/client-view.ts';
import { withServices, type DatabaseOptions } from './context.ts';
import { collect, databaseOption, jsonOption } from './options.ts';
import { printJson, printLine, type OutputOptions } from './output.ts';

type Options = DatabaseOptions & OutputOptions;

/**
 * `gatehouse clients …`: the applications users sign in to, straight on the database (no running server or API key
 * needed), through the same service and so the same validation as `POST /auth/clients`. Clients are printed as JSON
 * whether or not `--json` is given: their metadata is JSON (RFC 7591), and that is what an operator pastes into the
 * application's configuration.
 */
export function clientsCommand(): Command {
  const clients = new Command('clients').description('register and manage the applications users sign in to (OpenID Connect clients)');

  jsonOption(databaseOption(clients.command('add')))
    .description('register an application; prints it as JSON, with its secret (shown this once)')
    .option('--redirect-uri <uri>', 'where sign-in returns to; repeat for several (at least one)', collect)
    .option('--name <name>', 'the name shown on the login page')
    .option('--post-logout-redirect-uri <uri>', 'where sign-out may return to; repeat for several', collect)
    .option('--public', 'a public client (single-page or native app): no secret, PKCE only')
    .option('--client-id <id>', 'keep this client id (e.g. from Keycloak) instead of a generated one')
    .option('--client-secret <secret>', "keep this secret (e.g. Keycloak's) instead of a generated one")
    .option('--no-refresh-tokens', 'issue no refresh tokens to it')
    .action(async (o: Options & { redirectUri?: string[]; name?: string; postLogoutRedirectUri?: string[]; public?: boolean; clientId?: string; clientSecret?: string; refreshTokens: boolean }) => {
      await withServices(o, async ({ services }) => {
        const input: ClientMetadataInput = {
          redirect_uris: o.redirectUri ?? [],
          post_logout_redirect_uris: o.postLogoutRedirectUri ?? [],
          ...(o.name !== undefined ? { client_name: o.name } : {}),
          ...(o.public ? { token_endpoint_auth_method: 'none' } : {}),
          ...(o.clientId !== undefined ? { client_id: o.clientId } : {}),
          ...(o.clientSecret !== undefined ? { client_secret: o.clientSecret } : {}),
          ...(o.refreshTokens === false ? { grant_types: ['authorization_code'] } : {}),
        };
        const { client, secret } = await services.clients.register(input);
        printJson({ ...clientView(client), ...(secret !== null ? { client_secret: secret } : {}) });
      });
    });

  jsonOption(databaseOption(clients.command('list')))
    .description('every registered application, as JSON (never their secrets)')
    .action(async (o: Options) => {
      await withServices(o, async ({ services }) => printJson((await services.clients.list()).map(clientView)));
    });

  jsonOption(databaseOption(clients.command('get')))
    .description('one application, as JSON (never its secret)')
    .argument('<client-id>', 'the client id')
    .action(async (id: string, o: Options) => {
      await withServices(o, async ({ services }) => printJson(clientView(await services.clients.get(id))));
    });

  jsonOption(databaseOption(clients.command('rotate-secret')))
    .description('a new secret (printed once); the old one stops working at once')
    .argument('<client-id>', 'the client id')
    .action(async (id: string, o: Options) => {
      await withServices(o, async ({ services }) => {
        const { client, secret } = await services.clients.rotateSecret(id);
        printJson({ ...clientView(client), client_secret: secret });
      });
    });

  jsonOption(databaseOption(clients.command('remove')))
    .description('delete the application; every token issued to it stops working')
    .argument('<client-id>', 'the client id')
    .action(async (id: string, o: Options) => {
      await withServices(o, async ({ services }) => {
        await services.clients.remove(id);
        if (o.json) return printJson({ client_id: id, removed: true });
        printLine(`gatehouse: client ${id} removed`);
      });
    });

  return clients;
}
