import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ADMIN_ROLE } from '../../domain/access.ts';
import { DEFAULT_API_KEY_ROLES } from '../../domain/access.ts';
import type { ApiKeyService } from '../../domain/api-keys.ts';
import { apiKeyView } from '../views/api-key-view.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../domain/paging.ts';
import { API_KEY_SECURITY, ErrorDetail, protectedErrors } from '../schemas.ts';

const Timestamp = Type.String({ format: 'date-time' });

const expiresAtField = Type.Union([Timestamp, Type.Null()], {
  description: 'From this instant on the key is refused (401), as a deactivated one is. Null: it never expires.',
});
const lastUsedAtField = Type.Union([Timestamp, Type.Null()], {
  description: 'When the key last authenticated a request. Recorded at most once a minute per server process, so it can lag by up to a minute. Null: never used.',
});

const ApiKeyResponse = Type.Object(
  {
    id: Type.String(),
    prefix: Type.String({ description: 'The first characters of the key, to tell keys apart.' }),
    description: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String()),
    is_active: Type.Boolean({ description: 'False once deactivated. An expired key stays true here but is refused: see expires_at.' }),
    created_at: Timestamp,
    deactivated_at: Type.Union([Timestamp, Type.Null()]),
    expires_at: expiresAtField,
    last_used_at: lastUsedAtField,
  },
  { title: 'ApiKeyResponse' },
);

const ApiKeyPage = Type.Object(
  {
    items: Type.Array(ApiKeyResponse),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null: this is the last page.' }),
  },
  { title: 'ApiKeyPage' },
);

const ListQuery = Type.Object({
  page_size: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      description: `Keys per page, 1–${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}). With this or \`cursor\` the answer is a page object.`,
    }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'The `next_cursor` of the previous page (opaque).' })),
});

const ApiKeyCreated = Type.Object(
  {
    id: Type.String(),
    key: Type.String({ description: 'The secret. Shown in this response only; store it now.' }),
    prefix: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String()),
    is_active: Type.Boolean(),
    created_at: Timestamp,
    expires_at: expiresAtField,
    last_used_at: lastUsedAtField,
    message: Type.String(),
  },
  { title: 'ApiKeyCreated' },
);

const ApiKeyCreate = Type.Object(
  {
    description: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    roles: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50, default: DEFAULT_API_KEY_ROLES }),
    // No `format` here: request validation registers no formats; the service parses the text (422 value_error).
    expires_at: Type.Optional(
      Type.Union([Type.String({ maxLength: 64 }), Type.Null()], {
        description: 'When the key stops working: an RFC 3339 date-time with an offset (e.g. 2030-01-31T12:00:00Z), in the future. Absent or null: never.',
      }),
    ),
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
      const { key, secret } = await apiKeys.mint({
        description: request.body.description ?? null,
        roles: request.body.roles,
        expiresAt: request.body.expires_at,
      });
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
        description:
          'Every key in creation order, as an array. With `page_size` and/or `cursor`: one page of them, ' +
          '`{"items": [...], "next_cursor": str|null}`, in the same order; follow `next_cursor` until it is null.',
        tags,
        security: API_KEY_SECURITY,
        querystring: ListQuery,
        response: { 200: Type.Union([Type.Array(ApiKeyResponse), ApiKeyPage]), ...protectedErrors() },
      },
    },
    async (request) => {
      const { page_size: pageSize, cursor } = request.query;
      if (pageSize === undefined && cursor === undefined) return (await apiKeys.list()).map(apiKeyView);
      const page = await apiKeys.page({ pageSize: pageSize ?? DEFAULT_PAGE_SIZE, cursor });
      return { items: page.items.map(apiKeyView), next_cursor: page.nextCursor };
    },
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
        description:
          'The key is refused from the next request on; deactivating an inactive key returns it unchanged. 409 when ' +
          `no admin key is configured and this is the last active, unexpired ${ADMIN_ROLE} key (mint another first).`,
        tags,
        security: API_KEY_SECURITY,
        params: IdParams,
        response: { 200: ApiKeyResponse, 404: ErrorDetail, 409: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request) => apiKeyView(await apiKeys.deactivate(request.params.id)),
  );
};
