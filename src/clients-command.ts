import { parseArgs } from 'node:util';
import type { Config } from './config.ts';
import type { ClientMetadataInput } from './domain/oauth-clients.ts';
import { clientView } from './http/views/client-view.ts';
import { OAuthError, DomainError } from './domain/errors.ts';
import { createArgon2Hasher } from './security/argon2-hasher.ts';
import { createServices } from './services.ts';
import { openDatabase } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';

export const CLIENTS_USAGE = `usage: gatehouse clients <add|list|get|rotate-secret|remove> ...

  add --redirect-uri URI [--redirect-uri URI ...] [--name NAME] [--post-logout-redirect-uri URI ...]
      [--public] [--client-id ID] [--client-secret SECRET] [--no-refresh-tokens]
             register an application; prints it as JSON, with its secret (shown this once)
  list       every registered application, as JSON
  get ID     one application, as JSON
  rotate-secret ID
             a new secret (printed once); the old one stops working at once
  remove ID  delete the application; every token issued to it stops working`;

/**
 * `gatehouse clients …`: first setup of the applications users sign in to, straight on the database (no running
 * server or API key needed). The same services (createServices) and so the same validation as `POST /auth/clients`.
 */
export async function clientsCommand(config: Readonly<Config>, argv: string[], out: (text: string) => void): Promise<number> {
  const [verb, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      public: { type: 'boolean' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'no-refresh-tokens': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || verb === undefined || verb === 'help') {
    out(CLIENTS_USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (!['add', 'list', 'get', 'rotate-secret', 'remove'].includes(verb)) throw new Error(`unknown clients command "${verb}" (see gatehouse clients help)`);
  const database = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    await migrateToLatest(database.db, database.dialect, database.schema);
    const { clients } = await createServices(config, { database, hasher: createArgon2Hasher() });
    const print = (value: unknown) => out(JSON.stringify(value, null, 2) + '\n');
    const id = positionals[0];
    switch (verb) {
      case 'add': {
        const input: ClientMetadataInput = {
          redirect_uris: values['redirect-uri'] ?? [],
          post_logout_redirect_uris: values['post-logout-redirect-uri'] ?? [],
          ...(values.name !== undefined ? { client_name: values.name } : {}),
          ...(values.public ? { token_endpoint_auth_method: 'none' } : {}),
          ...(values['client-id'] !== undefined ? { client_id: values['client-id'] } : {}),
          ...(values['client-secret'] !== undefined ? { client_secret: values['client-secret'] } : {}),
          ...(values['no-refresh-tokens'] ? { grant_types: ['authorization_code'] } : {}),
        };
        const { client, secret } = await clients.register(input);
        print({ ...clientView(client), ...(secret !== null ? { client_secret: secret } : {}) });
        return 0;
      }
      case 'list':
        print((await clients.list()).map(clientView));
        return 0;
      case 'get':
      case 'rotate-secret':
      case 'remove': {
        if (id === undefined) throw new Error(`clients ${verb} needs a client id`);
        if (verb === 'get') print(clientView(await clients.get(id)));
        else if (verb === 'remove') {
          await clients.remove(id);
          out(`gatehouse: client ${id} removed\n`);
        } else {
          const { client, secret } = await clients.rotateSecret(id);
          print({ ...clientView(client), client_secret: secret });
        }
        return 0;
      }
      default:
        throw new Error(`unknown clients command "${verb}"`);
    }
  } catch (err) {
    // Domain errors are the user's mistakes: one line, no stack.
    if (err instanceof OAuthError || err instanceof DomainError) throw new Error(err.message);
    throw err;
  } finally {
    await database.close();
  }
}
