import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError } from 'fastify';
import { Type } from 'typebox';
import { OAuthError } from '../../domain/errors.ts';
import type { ClientMetadataInput, OAuthClientService } from '../../domain/oauth-clients.ts';
import { clientView } from '../views/client-view.ts';
import type { OAuthClient } from '../../domain/sign-in-ports.ts';
import { OAuthErrorBody } from '../oauth-replies.ts';
import { API_KEY_SECURITY, ErrorDetail, protectedErrors } from '../schemas.ts';

const tags = ['Clients'];
const Uris = Type.Array(Type.String());

const ClientResponse = Type.Object(
  {
    client_id: Type.String(),
    client_name: Type.Union([Type.String(), Type.Null()]),
    redirect_uris: Uris,
    post_logout_redirect_uris: Uris,
    token_endpoint_auth_method: Type.String(),
    grant_types: Type.Array(Type.String()),
    response_types: Type.Array(Type.String()),
    client_id_issued_at: Type.Integer(),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { title: 'ClientResponse' },
);

const ClientWithSecret = Type.Object(
  {
    ...ClientResponse.properties,
    client_secret: Type.Optional(Type.String({ description: 'Shown in this response only; store it now.' })),
    client_secret_expires_at: Type.Optional(Type.Integer({ description: '0: the secret does not expire (RFC 7591).' })),
  },
  { title: 'ClientWithSecret' },
);

const ClientMetadata = Type.Object(
  {
    client_id: Type.Optional(Type.String({ description: 'Chosen id (default: generated); letters, digits, `.`, `-`, `_`.' })),
    client_secret: Type.Optional(Type.String({ description: 'Keep an existing secret (moving from Keycloak); default: generated.' })),
    client_name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    redirect_uris: Type.Optional(Uris),
    post_logout_redirect_uris: Type.Optional(Uris),
    token_endpoint_auth_method: Type.Optional(Type.String({ description: '`client_secret_basic` (default), `client_secret_post` or `none`' })),
    grant_types: Type.Optional(Type.Array(Type.String())),
    response_types: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'ClientMetadata', additionalProperties: true },
);

const ClientIdParams = Type.Object({ client_id: Type.String() });

/**
 * RFC 7591 §3.2.2: a body that is not client metadata is `invalid_client_metadata`; authentication and
 * authorization failures (which run first) keep their usual `{"detail"}` shape.
 */
function metadataErrorHandler(error: FastifyError): never {
  if (error.validation?.some((v) => v.instancePath === '/redirect_uris' || v.instancePath.startsWith('/redirect_uris/'))) {
    throw new OAuthError('invalid_redirect_uri', 'redirect_uris must be an array of absolute URI strings');
  }
  if (error.validation || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'GH_JSON_TOO_DEEP' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    throw new OAuthError('invalid_client_metadata', 'The body must be a JSON object of client metadata (RFC 7591)');
  }
  throw error;
}

const withSecret = (client: OAuthClient, secret: string | null) => ({
  ...clientView(client),
  ...(secret !== null ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
});

/** CONTRACT.md §4a: the applications users sign in to. ORG-ADMIN registers and changes them; ORG-AUDITOR reads. */
export const clientRoutes: FastifyPluginAsyncTypebox<{ clients: OAuthClientService }> = async (app, { clients }) => {
  const errors = { ...protectedErrors(), 400: OAuthErrorBody, 404: ErrorDetail, 409: ErrorDetail };

  app.post(
    '/auth/clients',
    {
      config: { access: { permission: 'clients:write' } },
      errorHandler: metadataErrorHandler,
      schema: {
        operationId: 'register_client_auth_clients_post',
        summary: 'Register Client',
        description: 'RFC 7591 metadata. A confidential client gets a `client_secret`, shown in this response only.',
        tags,
        security: API_KEY_SECURITY,
        body: ClientMetadata,
        response: { 201: ClientWithSecret, ...errors },
      },
    },
    async (request, reply) => {
      const { client, secret } = await clients.register(request.body as ClientMetadataInput);
      return reply.code(201).send(withSecret(client, secret));
    },
  );

  app.get(
    '/auth/clients',
    {
      config: { access: { permission: 'clients:read' } },
      schema: { operationId: 'list_clients_auth_clients_get', summary: 'List Clients', tags, security: API_KEY_SECURITY, response: { 200: Type.Array(ClientResponse), ...protectedErrors() } },
    },
    async () => (await clients.list()).map(clientView),
  );

  app.get(
    '/auth/clients/:client_id',
    {
      config: { access: { permission: 'clients:read' } },
      schema: { operationId: 'get_client', summary: 'Get Client', tags, security: API_KEY_SECURITY, params: ClientIdParams, response: { 200: ClientResponse, ...errors } },
    },
    async (request) => clientView(await clients.get(request.params.client_id)),
  );

  app.patch(
    '/auth/clients/:client_id',
    {
      config: { access: { permission: 'clients:write' } },
      errorHandler: metadataErrorHandler,
      schema: {
        operationId: 'update_client',
        summary: 'Update Client',
        description: 'Changes the metadata given. Switching a public client to a confidential one returns its new secret.',
        tags,
        security: API_KEY_SECURITY,
        params: ClientIdParams,
        body: ClientMetadata,
        response: { 200: ClientWithSecret, ...errors },
      },
    },
    async (request) => {
      const { client, secret } = await clients.update(request.params.client_id, request.body as ClientMetadataInput);
      return withSecret(client, secret);
    },
  );

  app.delete(
    '/auth/clients/:client_id',
    {
      config: { access: { permission: 'clients:write' } },
      schema: {
        operationId: 'delete_client',
        summary: 'Delete Client',
        description: 'Every token issued to the client stops working.',
        tags,
        security: API_KEY_SECURITY,
        params: ClientIdParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await clients.remove(request.params.client_id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/clients/:client_id/secret',
    {
      config: { access: { permission: 'clients:write' } },
      schema: {
        operationId: 'rotate_client_secret',
        summary: 'Rotate Client Secret',
        description: 'A new secret, shown in this response only; the old one stops working at once.',
        tags,
        security: API_KEY_SECURITY,
        params: ClientIdParams,
        response: { 200: ClientWithSecret, ...errors },
      },
    },
    async (request) => {
      const { client, secret } = await clients.rotateSecret(request.params.client_id);
      return withSecret(client, secret);
    },
  );
};
