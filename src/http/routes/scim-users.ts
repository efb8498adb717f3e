import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { parseListParams, parseProjection, type RawListParams } from '../../domain/scim-list.ts';
import { notModified } from '../../domain/scim-meta.ts';
import { USER_RESOURCE, versionOf } from '../../domain/scim-users.ts';
import { ifMatchOf, resourceLocation, SCIM_ACCESS, SCIM_CONTENT_TYPE, scimBaseUrl, searchRequestParams, sendResource, type ScimRouteDeps } from './scim.ts';

type IdParams = { Params: { id: string } };

/** Query parameters by lower-cased name: SCIM parameter names are case-insensitive (`startindex` works too). */
export function scimQuery(request: FastifyRequest): RawListParams {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const byName = new Map(Object.entries(query).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.at(-1) : v]));
  return {
    startIndex: byName.get('startindex'),
    count: byName.get('count'),
    filter: byName.get('filter'),
    sortBy: byName.get('sortby'),
    sortOrder: byName.get('sortorder'),
    attributes: byName.get('attributes'),
    excludedAttributes: byName.get('excludedattributes'),
  };
}

/** SCIM Users (`/scim/v2/Users`, RFC 7644 §3): create, read, list, search, replace, patch, delete. */
export const scimUserRoutes: FastifyPluginAsync<ScimRouteDeps> = async (app, deps) => {
  const scimUsers = deps.services.scimUsers;

  deps.searchers.push({
    resourceType: 'User',
    search: async (params, request) => {
      const raw = { ...params, attributes: params.projection.attributes, excludedAttributes: params.projection.excludedAttributes };
      const page = await scimUsers.list(parseListParams(raw, USER_RESOURCE), scimBaseUrl(request));
      return { totalResults: page.totalResults, resources: page.Resources };
    },
  });

  app.get('/Users', { config: SCIM_ACCESS }, async (request, reply) => {
    const params = parseListParams(scimQuery(request), USER_RESOURCE);
    return reply.type(SCIM_CONTENT_TYPE).send(await scimUsers.list(params, scimBaseUrl(request)));
  });

  app.post('/Users/.search', { config: SCIM_ACCESS }, async (request, reply) => {
    const params = parseListParams(searchRequestParams(request.body), USER_RESOURCE);
    return reply.type(SCIM_CONTENT_TYPE).send(await scimUsers.list(params, scimBaseUrl(request)));
  });

  app.get<IdParams>('/Users/:id', { config: SCIM_ACCESS }, async (request, reply) => {
    const projection = parseProjection(scimQuery(request));
    const view = await scimUsers.get(request.params.id, scimBaseUrl(request));
    const version = versionOf(view);
    if (notModified(request.headers['if-none-match'], version)) return reply.code(304).header('etag', version).send();
    return sendResource(reply, 200, scimUsers.project(view, projection), version);
  });

  app.post('/Users', { config: SCIM_ACCESS }, async (request, reply) => {
    const projection = parseProjection(scimQuery(request));
    const view = await scimUsers.create(request.body, scimBaseUrl(request));
    return sendResource(reply, 201, scimUsers.project(view, projection), versionOf(view), resourceLocation(request, 'Users', view.id as string));
  });

  app.put<IdParams>('/Users/:id', { config: SCIM_ACCESS }, async (request, reply) => {
    const projection = parseProjection(scimQuery(request));
    const view = await scimUsers.replace(request.params.id, request.body, scimBaseUrl(request), ifMatchOf(request));
    return sendResource(reply, 200, scimUsers.project(view, projection), versionOf(view));
  });

  app.patch<IdParams>('/Users/:id', { config: SCIM_ACCESS }, async (request, reply) => {
    const projection = parseProjection(scimQuery(request));
    const view = await scimUsers.patch(request.params.id, request.body, scimBaseUrl(request), ifMatchOf(request));
    return sendResource(reply, 200, scimUsers.project(view, projection), versionOf(view));
  });

  app.delete<IdParams>('/Users/:id', { config: SCIM_ACCESS }, async (request, reply) => {
    await scimUsers.delete(request.params.id, scimBaseUrl(request), ifMatchOf(request));
    return reply.code(204).send();
  });
};
