import { OAuthError } from './errors.ts';
import type { OAuthClientStore, StoredOAuthClient } from './sign-in-ports.ts';

/** The console's client id: a public client (no secret) using the authorization code flow with PKCE. */
export const CONSOLE_CLIENT_ID = 'gatehouse-console';

/** Where the console lives, for an issuer: /console/ at the issuer's origin (the redirect and post-logout URI). */
export const consoleUrl = (issuer: string): string => new URL('/console/', issuer).href;

/**
 * The console as an OpenID Connect client. It is built in rather than stored: it exists on every installation
 * from the first start, follows GATEHOUSE_ISSUER when that changes, and nobody can edit it into something else.
 */
export function consoleClient(issuer: string): StoredOAuthClient {
  const url = consoleUrl(issuer);
  return {
    clientId: CONSOLE_CLIENT_ID,
    clientName: 'Gatehouse console',
    authMethod: 'none',
    redirectUris: [url],
    postLogoutRedirectUris: [url],
    grantTypes: ['authorization_code', 'refresh_token'],
    createdAt: 0,
    updatedAt: 0,
    secretHash: null,
  };
}

const builtIn = (clientId: string) => new OAuthError('invalid_client_metadata', `${clientId} is built into Gatehouse and cannot be changed or deleted`);

/**
 * A client store that also answers for the built-in clients: found by id (so sign-in and GET work), their ids
 * taken (registering one is a conflict), never listed among the registered ones, and not changeable.
 */
export function withBuiltInClients(store: OAuthClientStore, clients: StoredOAuthClient[]): OAuthClientStore {
  const byId = new Map(clients.map((c) => [c.clientId, c]));
  return {
    insert: (client, audit) => store.insert(client, audit),
    list: () => store.list(),
    find: async (clientId) => byId.get(clientId) ?? store.find(clientId),
    async update(clientId, changes, at, audit) {
      if (byId.has(clientId)) throw builtIn(clientId);
      return store.update(clientId, changes, at, audit);
    },
    async delete(clientId, at, audit) {
      if (byId.has(clientId)) throw builtIn(clientId);
      return store.delete(clientId, at, audit);
    },
  };
}

