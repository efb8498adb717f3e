import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { createScimGroupService, GROUP_FILTERABLE, type ScimUrls } from '../../domain/scim-groups.ts';
import { listResponse, parseListParams, parseProjection, type RawListParams } from '../../domain/scim-list.ts';
import { notModified } from '../../domain/scim-meta.ts';
import { createScimGroupStore } from '../../store/scim-group-store.ts';
import { ifMatchOf, resourceLocation, SCIM_ACCESS, SCIM_CONTENT_TYPE, searchRequestParams, sendResource, type ScimRouteDeps } from './scim.ts';

type IdParams = { Params: { id: string } };

/**
 * SCIM Groups (`/scim/v2/Groups`, RFC 7644 §3): create, read, list and search (filters become SQL), replace, patch
 * (members by the thousand in one transaction) and delete, with `ETag` / `If-Match` on every resource. The rules live
 * in domain/scim-groups.ts; registered by `scimRoutes` in scim.ts, whose error handler answers SCIM errors.
 */
export const scimGroupRoutes: FastifyPluginAsync<ScimRouteDeps> = async (app, deps) => {
  const groups = createScimGroupService({ groups: deps.services.groups, reader: createScimGroupStore(deps.database.db, deps.database.dialect) });
  const urls = (request: FastifyRequest): ScimUrls => ({
    group: (id) => resourceLocation(request, 'Groups', id),
    user: (id) => resourceLocation(request, 'Users', id),
  });
  const query = (request: FastifyRequest) => (request.query ?? {}) as RawListParams;

  async function list(raw: RawListParams, request: FastifyRequest) {
    const params = parseListParams(raw, GROUP_FILTERABLE);
    const page = await groups.list(params, urls(request));
    return { params, ...page };
  }

  deps.searchers.push({
    resourceType: 'Group',
    search: async (params, request) => groups.list(params, urls(request)),
  });

  app.get('/Groups', { config: SCIM_ACCESS }, async (request, reply) => {
    const { params, totalResults, resources } = await list(query(request), request);
    return reply.type(SCIM_CONTENT_TYPE).send(listResponse(totalResults, params.startIndex, resources));
  });

  app.post('/Groups/.search', { config: SCIM_ACCESS }, async (request, reply) => {
    const { params, totalResults, resources } = await list(searchRequestParams(request.body), request);
    return reply.type(SCIM_CONTENT_TYPE).send(listResponse(totalResults, params.startIndex, resources));
  });

  app.get<IdParams>('/Groups/:id', { config: SCIM_ACCESS }, async (request, reply) => {
    const { body, version } = await groups.get(request.params.id, parseProjection(query(request)), urls(request));
    if (notModified(request.headers['if-none-match'], version)) return reply.code(304).header('etag', version).send();
    return sendResource(reply, 200, body, version);
  });

  app.post('/Groups', { config: SCIM_ACCESS }, async (request, reply) => {
    const { body, version } = await groups.create(request.body, parseProjection(query(request)), urls(request));
    return sendResource(reply, 201, body, version, resourceLocation(request, 'Groups', String(body.id)));
  });

  app.put<IdParams>('/Groups/:id', { config: SCIM_ACCESS }, async (request, reply) => {
    const { body, version } = await groups.replace(request.params.id, request.body, ifMatchOf(request), parseProjection(query(request)), urls(request));
    return sendResource(reply, 200, body, version);
  });

  app.patch<IdParams>('/Groups/:id', { config: SCIM_ACCESS }, async (request, reply) => {
    const { body, version } = await groups.patch(request.params.id, request.body, ifMatchOf(request), parseProjection(query(request)), urls(request));
    return sendResource(reply, 200, body, version);
  });

  app.delete<IdParams>('/Groups/:id', { config: SCIM_ACCESS }, async (request, reply) => {
    await groups.remove(request.params.id, ifMatchOf(request));
    return reply.code(204).send();
  });
};
