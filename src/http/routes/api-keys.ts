import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { apiKeyView, DEFAULT_API_KEY_ROLES, type ApiKeyService } from '../../domain/api-keys.ts';
import { API_KEY_SECURITY, ErrorDetail, protectedErrors, RoleNames } from '../schemas.ts';

const ApiKeyResponse = Type.Object(
  {
    id: Type.String(),
    prefix: Type.String({ description: 'The first characters of the key, to tell keys apart.' }),
    description: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String()),
    is_active: Type.Boolean(),
    created_at: Type.String({ format: 'date-time' }),
    deactivated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { title: 'ApiKeyResponse' },
);

const ApiKeyCreated = Type.Object(
  {
    id: Type.String(),
    key: Type.String({ description: 'The secret. Shown in this response only; store it now.' }),
    prefix: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String()),
    is_active: Type.Boolean(),
    created_at: Type.String({ format: 'date-time' }),
    message: Type.String(),
  },
  { title: 'ApiKeyCreated' },
);

const ApiKeyCreate = Type.Object(
  {
    description: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    roles: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50, default: DEFAULT_API_KEY_ROLES }),
  },
  { title: 'ApiKeyCreate' },
);

const IdParams = Type.Object({ id: Type.String() });

const tags = ['API Keys'];

/** CONTRACT.md §4: mint, list, read and deactivate API keys. The secret appears only in the mint response. */
export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ apiKeys: ApiKeyService }> = async (app, { apiKeys }) => {
  app.post(
    '/auth/api_keys',
    {
      config: { access: { permission: 'keys:write' } },
      // An empty POST means "defaults for everything": convenient from curl, and nothing to validate.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = { roles: [...DEFAULT_API_KEY_ROLES] };
      },
      schema: {
        operationId: 'create_api_key_auth_api_keys_post',
        summary: 'Create API Key',
        tags,
        security: API_KEY_SECURITY,
        body: ApiKeyCreate,
        response: { 200: ApiKeyCreated, 400: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request) => {
      const { key, secret } = await apiKeys.mint({ description: request.body.description ?? null, roles: request.body.roles });
      const { deactivated_at: _, ...view } = apiKeyView(key);
      return { ...view, key: secret, message: 'Store this key now: it is shown only once and cannot be recovered.' };
    },
  );

  app.get(
    '/auth/api_keys',
    {
      config: { access: { permission: 'keys:read' } },
      schema: {
        operationId: 'list_api_keys_auth_api_keys_get',
        summary: 'List API Keys',
        tags,
        security: API_KEY_SECURITY,
        response: { 200: Type.Array(ApiKeyResponse), ...protectedErrors() },
      },
    },
    async () => (await apiKeys.list()).map(apiKeyView),
  );

  app.get(
    '/auth/api_keys/:id',
    {
      config: { access: { permission: 'keys:read' } },
      schema: {
        operationId: 'get_api_key_auth_api_keys_id_get',
        summary: 'Get API Key',
        tags,
        security: API_KEY_SECURITY,
        params: IdParams,
        response: { 200: ApiKeyResponse, 404: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request) => apiKeyView(await apiKeys.get(request.params.id)),
  );

  app.delete(
    '/auth/api_keys/deactivate/:id',
    {
      config: { access: { permission: 'keys:write' } },
      schema: {
        operationId: 'deactivate_api_key_auth_api_keys_deactivate_id_delete',
        summary: 'Deactivate API Key',
        tags,
        security: API_KEY_SECURITY,
        params: IdParams,
        response: { 200: ApiKeyResponse, 404: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request) => apiKeyView(await apiKeys.deactivate(request.params.id)),
  );
};
