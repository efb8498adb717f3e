import { OAuthError, errors } from './errors.ts';
import {
  CLIENT_AUTH_METHODS,
  CLIENT_GRANT_TYPES,
  type ClientAuthMethod,
  type ClientChanges,
  type ClientGrantType,
  type OAuthClient,
  type OAuthClientStore,
  type StoredOAuthClient,
} from './sign-in-ports.ts';
import type { Clock } from './ports.ts';
import type { Revocations } from './principal-cache.ts';
import type { AuditDraft } from './audit.ts';

export const CLIENT_SECRET_PREFIX = 'gcs_';
const CLIENT_ID = /^[A-Za-z0-9][\w.-]{0,99}$/;
const MAX_URIS = 20;
const MAX_URI_LENGTH = 2000;
const IMPORTED_SECRET_MIN_LENGTH = 32;
// Schemes that run code or read local data when navigated to: never a redirect target.
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:', 'filesystem:']);

/** RFC 7591 client metadata as sent to `POST /auth/clients` (and, every field optional, `PATCH`). */
export interface ClientMetadataInput {
  client_id?: unknown;
  client_secret?: unknown;
  client_name?: unknown;
  redirect_uris?: unknown;
  post_logout_redirect_uris?: unknown;
  token_endpoint_auth_method?: unknown;
  grant_types?: unknown;
  response_types?: unknown;
}

const metadataError = (message: string) => new OAuthError('invalid_client_metadata', message);

function uriList(value: unknown, field: string, code: 'invalid_redirect_uri' | 'invalid_client_metadata', min: number): string[] {
  if (!Array.isArray(value) || value.length < min || value.length > MAX_URIS) {
    throw new OAuthError(code, `${field} must be an array of ${min} to ${MAX_URIS} URIs`);
  }
  for (const uri of value) {
    if (typeof uri !== 'string' || uri.length > MAX_URI_LENGTH) throw new OAuthError(code, `${field} must hold URI strings of at most ${MAX_URI_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new OAuthError(code, `${field}: "${uri}" is not an absolute URI`);
    }
    // Redirects are compared as exact strings, so the registered form must be one a browser sends back unchanged.
    if (url.hash !== '' || uri.includes('#')) throw new OAuthError(code, `${field}: "${uri}" must not have a fragment`);
    if (FORBIDDEN_SCHEMES.has(url.protocol)) throw new OAuthError(code, `${field}: the ${url.protocol} scheme is not allowed`);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.username + url.password !== '') {
      throw new OAuthError(code, `${field}: "${uri}" must not carry credentials`);
    }
  }
  return [...new Set(value as string[])];
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw metadataError(`${field} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function grantTypes(value: unknown): ClientGrantType[] {
  if (!Array.isArray(value) || value.length === 0) throw metadataError('grant_types must be a non-empty array');
  const types = [...new Set(value.map((v) => oneOf(v, CLIENT_GRANT_TYPES, 'grant_types')))];
  if (!types.includes('authorization_code')) throw metadataError('grant_types must include authorization_code');
  return types;
}

function clientName(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || value.length > 200) throw metadataError('client_name must be a string of at most 200 characters');
  return value;
}

function checkResponseTypes(value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.length !== 1 || value[0] !== 'code') throw metadataError('response_types must be ["code"]: no other flow is offered');
}

const clientTarget = (clientId: string) => ({ type: 'client', id: clientId });

/**
 * The metadata fields (their RFC 7591 names) whose stored value a change replaces with a different one;
 * `client_secret` when a secret is issued or removed (never the secret or its hash).
 */
function changedFields(before: StoredOAuthClient, changes: ClientChanges): string[] {
  const differs = (a: unknown, b: unknown) => a !== undefined && JSON.stringify(a) !== JSON.stringify(b);
  const fields: string[] = [];
  if (differs(changes.clientName, before.clientName)) fields.push('client_name');
  if (differs(changes.redirectUris, before.redirectUris)) fields.push('redirect_uris');
  if (differs(changes.postLogoutRedirectUris, before.postLogoutRedirectUris)) fields.push('post_logout_redirect_uris');
  if (differs(changes.grantTypes, before.grantTypes)) fields.push('grant_types');
  if (differs(changes.authMethod, before.authMethod)) fields.push('token_endpoint_auth_method');
  if (changes.secretHash !== undefined && changes.secretHash !== before.secretHash) fields.push('client_secret');
  return fields;
}

export interface OAuthClientDeps {
  clients: OAuthClientStore;
  clock: Clock;
  secrets: { randomSecret(): string; digest(secret: string): string; equal(a: string, b: string): boolean };
  newClientId(): string;
  /** Told about users whose tokens a deleted client took with it; the CLI, with no server running, needs none. */
  revocations?: Revocations;
}

/** Registration and authentication of the applications users sign in to (CONTRACT.md §4a). */
export function createOAuthClientService(deps: OAuthClientDeps) {
  const { clients, clock, secrets } = deps;
  const newSecret = () => CLIENT_SECRET_PREFIX + secrets.randomSecret();

  async function get(clientId: string): Promise<StoredOAuthClient> {
    const client = await clients.find(clientId);
    if (!client) throw errors.clientNotFound();
    return client;
  }

  return {
    /** Registers a client; the secret (confidential clients) is in the result only. */
    async register(input: ClientMetadataInput): Promise<{ client: OAuthClient; secret: string | null }> {
      checkResponseTypes(input.response_types);
      let clientId = deps.newClientId();
      if (input.client_id !== undefined) {
        if (typeof input.client_id !== 'string' || !CLIENT_ID.test(input.client_id)) {
          throw metadataError('client_id must be 1-100 letters, digits, dots, dashes or underscores');
        }
        clientId = input.client_id;
      }
      const authMethod: ClientAuthMethod =
        input.token_endpoint_auth_method === undefined ? 'client_secret_basic' : oneOf(input.token_endpoint_auth_method, CLIENT_AUTH_METHODS, 'token_endpoint_auth_method');
      let secret: string | null = null;
      if (authMethod !== 'none') {
        // Moving from Keycloak: an existing secret may be kept, so the application's settings need not change.
        if (input.client_secret !== undefined) {
          if (typeof input.client_secret !== 'string' || input.client_secret.length < IMPORTED_SECRET_MIN_LENGTH || input.client_secret.length > 512 || /\s/.test(input.client_secret)) {
            throw metadataError(`client_secret must be ${IMPORTED_SECRET_MIN_LENGTH}-512 characters without whitespace`);
          }
          secret = input.client_secret;
        } else {
          secret = newSecret();
        }
      } else if (input.client_secret !== undefined) {
        throw metadataError('A public client (token_endpoint_auth_method none) has no secret');
      }
      const now = clock.now();
      const client: StoredOAuthClient = {
        clientId,
        clientName: input.client_name === undefined ? null : clientName(input.client_name),
        secretHash: secret === null ? null : secrets.digest(secret),
        authMethod,
        redirectUris: uriList(input.redirect_uris, 'redirect_uris', 'invalid_redirect_uri', 1),
        postLogoutRedirectUris:
          input.post_logout_redirect_uris === undefined ? [] : uriList(input.post_logout_redirect_uris, 'post_logout_redirect_uris', 'invalid_client_metadata', 0),
        grantTypes: input.grant_types === undefined ? ['authorization_code', 'refresh_token'] : grantTypes(input.grant_types),
        createdAt: now,
        updatedAt: now,
      };
      if (await clients.find(clientId)) throw errors.clientExists(clientId);
      const registered: AuditDraft = {
        action: 'client.registered',
        target: clientTarget(clientId),
        details: {
          client_name: client.clientName,
          token_endpoint_auth_method: authMethod,
          redirect_uris: client.redirectUris,
          post_logout_redirect_uris: client.postLogoutRedirectUris,
          grant_types: client.grantTypes,
          // Where the secret came from, never the secret: generated here, imported (kept from another server), none.
          credential: secret === null ? 'none' : input.client_secret !== undefined ? 'imported' : 'generated',
        },
      };
      try {
        await clients.insert(client, [registered]);
      } catch (err) {
        if (await clients.find(clientId)) throw errors.clientExists(clientId); // lost a race for the same id
        throw err;
      }
      const { secretHash: _hidden, ...view } = client;
      return { client: view, secret };
    },

    list: () => clients.list(),

    async get(clientId: string): Promise<OAuthClient> {
      const { secretHash: _hidden, ...client } = await get(clientId);
      return client;
    },

    /** Changes the given metadata; switching to or from a public client adds or removes the secret. */
    async update(clientId: string, input: ClientMetadataInput): Promise<{ client: OAuthClient; secret: string | null }> {
      checkResponseTypes(input.response_types);
      if (input.client_id !== undefined && input.client_id !== clientId) throw metadataError('client_id cannot be changed');
      if (input.client_secret !== undefined) throw metadataError('Rotate the secret with POST /auth/clients/{client_id}/secret');
      const current = await get(clientId);
      const changes: ClientChanges = {};
      if (input.client_name !== undefined) changes.clientName = clientName(input.client_name);
      if (input.redirect_uris !== undefined) changes.redirectUris = uriList(input.redirect_uris, 'redirect_uris', 'invalid_redirect_uri', 1);
      if (input.post_logout_redirect_uris !== undefined) {
        changes.postLogoutRedirectUris = uriList(input.post_logout_redirect_uris, 'post_logout_redirect_uris', 'invalid_client_metadata', 0);
      }
      if (input.grant_types !== undefined) changes.grantTypes = grantTypes(input.grant_types);
      let secret: string | null = null;
      if (input.token_endpoint_auth_method !== undefined) {
        changes.authMethod = oneOf(input.token_endpoint_auth_method, CLIENT_AUTH_METHODS, 'token_endpoint_auth_method');
        if (changes.authMethod === 'none') changes.secretHash = null;
        else if (current.secretHash === null) {
          secret = newSecret();
          changes.secretHash = secrets.digest(secret);
        }
      }
      // Nothing changed (every value given equals the stored one): no event.
      const events = (before: StoredOAuthClient): AuditDraft[] => {
        const fields = changedFields(before, changes);
        return fields.length === 0 ? [] : [{ action: 'client.updated', target: clientTarget(clientId), details: { fields } }];
      };
      const updated = await clients.update(clientId, changes, clock.now(), events);
      if (!updated) throw errors.clientNotFound();
      const { secretHash: _hidden, ...client } = updated;
      return { client, secret };
    },

    async remove(clientId: string): Promise<void> {
      const events = (before: StoredOAuthClient, usersRevoked: string[]): AuditDraft[] => [
        { action: 'client.deleted', target: clientTarget(clientId), details: { client_name: before.clientName, users_signed_out: usersRevoked.length } },
      ];
      const users = await clients.delete(clientId, clock.now(), events);
      if (!users) throw errors.clientNotFound();
      for (const userId of users) deps.revocations?.revoked(userId);
    },

    /** A new secret; the old one stops working at once. */
    async rotateSecret(clientId: string): Promise<{ client: OAuthClient; secret: string }> {
      const current = await get(clientId);
      if (current.authMethod === 'none') throw metadataError('A public client has no secret to rotate');
      const secret = newSecret();
      const rotated: AuditDraft[] = [{ action: 'client.secret_rotated', target: clientTarget(clientId) }];
      const updated = await clients.update(clientId, { secretHash: secrets.digest(secret) }, clock.now(), () => rotated);
      if (!updated) throw errors.clientNotFound();
      const { secretHash: _hidden, ...client } = updated;
      return { client, secret };
    },

    /**
     * Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3). A confidential
     * client proves itself with its secret (basic or post: both are "client secret"); a public one only names
     * itself. Every failure is the same `invalid_client`, so nobody learns which client ids exist.
     */
    async authenticate(clientId: string | undefined, secret: string | undefined): Promise<OAuthClient> {
      if (clientId === undefined) throw errors.invalidClient();
      // Every stored id has the registration's shape, so anything else is unknown without asking the database.
      const client = CLIENT_ID.test(clientId) ? await clients.find(clientId) : undefined;
      const digest = secrets.digest(secret ?? '');
      if (!client) {
        secrets.equal(digest, digest); // same work as a real comparison
        throw errors.invalidClient();
      }
      if (client.secretHash === null) {
        if (secret !== undefined) throw errors.invalidClient();
      } else if (secret === undefined || !secrets.equal(digest, client.secretHash)) {
        throw errors.invalidClient();
      }
      const { secretHash: _hidden, ...view } = client;
      return view;
    },

    /** A client by id for the authorization and logout endpoints, which cannot authenticate it. */
    find: async (clientId: string): Promise<OAuthClient | undefined> => {
      const client = CLIENT_ID.test(clientId) ? await clients.find(clientId) : undefined;
      if (!client) return undefined;
      const { secretHash: _hidden, ...view } = client;
      return view;
    },
  };
}

export type OAuthClientService = ReturnType<typeof createOAuthClientService>;
