import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../domain/ports.ts';
import { DomainError, ValidationError } from '../../domain/errors.ts';
import { ScimError, scimErrors } from '../../domain/scim-errors.ts';
import { listResponse, parseListParams, SEARCH_REQUEST_SCHEMA, type ListParams, type RawListParams } from '../../domain/scim-list.ts';
import { resourceTypes, schemaDefinitions, serviceProviderConfig, SCIM_MAX_PAYLOAD_BYTES } from '../../domain/scim-schemas.ts';
import type { Services } from '../../services.ts';
import type { Database } from '../../store/database.ts';
import { authPlugin, type Authenticate } from '../auth.ts';
import { API_KEY_SECURITY } from '../schemas.ts';
import { JsonTooDeepError, jsonDepthExceeds, MAX_JSON_DEPTH } from '../json-depth.ts';
import { scimGroupRoutes } from './scim-groups.ts';
import { scimUserRoutes } from './scim-users.ts';

/**
 * SCIM 2.0 (RFC 7644) under `/scim/v2`: its own content type (`application/scim+json`, `application/json` accepted
 * too), its own error shape (`{"schemas":[Error], "status":"400", "scimType", "detail"}`), bearer API keys holding
 * `scim:provision`, the discovery endpoints, and `POST /.search` across resource types. Users and Groups are the
 * plugins in scim-users.ts and scim-groups.ts, registered inside this one so they share all of that.
 */

export const SCIM_PREFIX = '/scim/v2';
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';
/** The permission every SCIM route declares (`config: SCIM_ACCESS`). */
export const SCIM_ACCESS = { access: { permission: 'scim:provision' as const } };

/** What a resource type offers to the cross-type `POST /scim/v2/.search` (each resource plugin pushes one). */
export interface ScimSearcher {
  resourceType: string;
  /** One page: the total that match and the projected resources from `params.startIndex` (1-based), at most `params.count`. */
  search(params: ListParams, request: FastifyRequest): Promise<{ totalResults: number; resources: Record<string, unknown>[] }>;
}

export interface ScimRouteDeps {
  /** Every service: users and groups changes go through them, so the audit trail and revocations stay as for the REST API. */
  services: Services;
  /** For the SCIM query stores (filters become SQL over indexed columns). */
  database: Database;
  clock: Clock;
  /** Resource plugins add their searcher here, for the root `/.search`. */
  searchers: ScimSearcher[];
}

export interface ScimPluginOptions {
  services: Services;
  database: Database;
  clock: Clock;
  authenticate: Authenticate;
}

/** `https://host/scim/v2` as the client reached it (X-Forwarded-* honoured only with GATEHOUSE_TRUST_PROXY). */
export function scimBaseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${SCIM_PREFIX}`;
}

/** The absolute URL of a resource, e.g. `resourceLocation(request, 'Groups', id)`. */
export function resourceLocation(request: FastifyRequest, endpoint: 'Users' | 'Groups', id: string): string {
  return `${scimBaseUrl(request)}/${endpoint}/${encodeURIComponent(id)}`;
}

/**
 * Sends one resource: `ETag` from `meta.version`, `Location` on 201 (RFC 7644 §3.3). The body should already be
 * projected; pass the version separately when the projection may have dropped `meta`.
 */
export function sendResource(reply: FastifyReply, status: number, body: Record<string, unknown>, version: string, location?: string): FastifyReply {
  reply.code(status).header('etag', version);
  if (location && status === 201) reply.header('location', location);
  return reply.type(SCIM_CONTENT_TYPE).send(body);
}

/** The `If-Match` header as a string, or undefined. */
export function ifMatchOf(request: FastifyRequest): string | undefined {
  const h = request.headers['if-match'];
  return Array.isArray(h) ? h.join(',') : h;
}

/** The body of a `POST …/.search` (RFC 7644 §3.4.3): a SearchRequest object. */
export function searchRequestParams(body: unknown): RawListParams {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw scimErrors.invalidSyntax('The body must be a SearchRequest object');
  const b = body as Record<string, unknown>;
  if (b.schemas !== undefined && (!Array.isArray(b.schemas) || !b.schemas.includes(SEARCH_REQUEST_SCHEMA))) {
    throw scimErrors.invalidSyntax(`A search request's schemas must hold ${SEARCH_REQUEST_SCHEMA}`);
  }
  return b;
}

/** A domain error as SCIM sees it. */
function fromDomain(error: DomainError): ScimError {
  if (error instanceof ValidationError) {
    // Only our own messages: a policy message quotes nothing of a password, inputs are never echoed.
    const detail = error.problems.map((p) => `${p.loc.filter((l) => l !== 'body').join('.')}: ${p.msg.replace(/^Value error, /, '')}`).join('; ');
    return scimErrors.invalidValue(detail || 'Invalid value');
  }
  switch (error.code) {
    case 'not_found':
      return scimErrors.notFound(error.message);
    case 'conflict':
      return scimErrors.uniqueness(error.message);
    case 'bad_request':
      return scimErrors.invalidValue(error.message);
    case 'precondition_failed':
      return scimErrors.preconditionFailed();
    default:
      return new ScimError(error.status, error.message);
  }
}

function sendError(reply: FastifyReply, error: ScimError) {
  return reply.code(error.status).type(SCIM_CONTENT_TYPE).send(error.toJSON());
}

export const scimRoutes: FastifyPluginAsync<ScimPluginOptions> = async (app, opts) => {
  const searchers: ScimSearcher[] = [];
  const deps: ScimRouteDeps = { services: opts.services, database: opts.database, clock: opts.clock, searchers };

  // Group pushes of a thousand members outgrow the API's 64 KiB bodies.
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= SCIM_MAX_PAYLOAD_BYTES;
    // Listed in /docs under their own tag; their shapes are SCIM's (RFC 7643), served by /scim/v2/Schemas.
    route.schema = { tags: ['SCIM 2.0'], security: API_KEY_SECURITY, ...(route.schema ?? {}) };
  });
  app.addContentTypeParser('application/scim+json', { parseAs: 'string', bodyLimit: SCIM_MAX_PAYLOAD_BYTES }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return done(new JsonTooDeepError(), undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(scimErrors.invalidSyntax('The body is not valid JSON'), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | ScimError | DomainError, request, reply) => {
    if (error instanceof ScimError) return sendError(reply, error);
    if (error instanceof DomainError) {
      if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="gatehouse-scim"');
      return sendError(reply, fromDomain(error));
    }
    const e = error as FastifyError;
    if (e.code === 'GH_JSON_TOO_DEEP') return sendError(reply, scimErrors.invalidSyntax(e.message));
    if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (e instanceof SyntaxError && e.statusCode === 400)) {
      return sendError(reply, scimErrors.invalidSyntax('The body is not valid JSON'));
    }
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, new ScimError(413, `The body is larger than ${SCIM_MAX_PAYLOAD_BYTES} bytes`));
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.code === 'FST_ERR_CTP_INVALID_TYPE') {
      return sendError(reply, new ScimError(415, 'Unsupported media type: send application/scim+json'));
    }
    if (e.validation) return sendError(reply, scimErrors.invalidSyntax('The request does not match the SCIM schema'));
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) return sendError(reply, new ScimError(e.statusCode, 'Bad request'));
    if (opts.database.isUnavailable(error)) {
      request.log.warn({ code: e.code }, 'database unavailable');
      reply.header('retry-after', '1');
      return sendError(reply, new ScimError(503, 'Service temporarily unavailable: the database cannot be reached'));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, new ScimError(500, 'Internal server error'));
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, scimErrors.notFound(`No SCIM endpoint at ${request.method} ${request.url.split('?')[0]}`)));

  await app.register(authPlugin, { authenticate: opts.authenticate });

  // Discovery (RFC 7644 §4).
  app.get('/ServiceProviderConfig', { config: SCIM_ACCESS }, async (request, reply) => reply.type(SCIM_CONTENT_TYPE).send(serviceProviderConfig(scimBaseUrl(request))));
  app.get('/ResourceTypes', { config: SCIM_ACCESS }, async (request, reply) => {
    const types = resourceTypes(scimBaseUrl(request));
    return reply.type(SCIM_CONTENT_TYPE).send(listResponse(types.length, 1, types));
  });
  app.get<{ Params: { name: string } }>('/ResourceTypes/:name', { config: SCIM_ACCESS }, async (request, reply) => {
    const found = resourceTypes(scimBaseUrl(request)).find((t) => t.id === request.params.name || t.name === request.params.name);
    if (!found) throw scimErrors.notFound(`Resource type ${request.params.name} not found`);
    return reply.type(SCIM_CONTENT_TYPE).send(found);
  });
  app.get('/Schemas', { config: SCIM_ACCESS }, async (request, reply) => {
    const schemas = schemaDefinitions(scimBaseUrl(request));
    return reply.type(SCIM_CONTENT_TYPE).send(listResponse(schemas.length, 1, schemas));
  });
  app.get<{ Params: { id: string } }>('/Schemas/:id', { config: SCIM_ACCESS }, async (request, reply) => {
    const found = schemaDefinitions(scimBaseUrl(request)).find((s) => s.id === request.params.id);
    if (!found) throw scimErrors.notFound(`Schema ${request.params.id} not found`);
    return reply.type(SCIM_CONTENT_TYPE).send(found);
  });
  for (const path of ['/ServiceProviderConfig', '/ResourceTypes', '/Schemas']) {
    app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url: path, config: SCIM_ACCESS, handler: async () => {
      throw scimErrors.methodNotAllowed(`${path.slice(1)} is read-only`);
    } });
  }

  // Searching every resource type at once (RFC 7644 §3.4.3): Users first, then Groups, paged across both.
  app.post('/.search', { config: SCIM_ACCESS }, async (request, reply) => {
    const raw = searchRequestParams(request.body);
    // Attributes are checked per type; parse here only for paging and the projection.
    const params = parseListParams({ ...raw, sortBy: undefined }, { schema: '', attributes: [] });
    const pages = await Promise.allSettled(searchers.map((s) => s.search({ ...params, ...(raw.sortBy ? { sortBy: String(raw.sortBy) } : {}), startIndex: 1, count: 0 }, request)));
    const usable = pages.flatMap((p, i) => (p.status === 'fulfilled' ? [{ searcher: searchers[i]!, total: p.value.totalResults }] : []));
    if (usable.length === 0) {
      const failed = pages.find((p) => p.status === 'rejected') as PromiseRejectedResult | undefined;
      throw failed?.reason ?? scimErrors.invalidFilter('No resource type can answer this filter');
    }
    const totalResults = usable.reduce((n, u) => n + u.total, 0);
    const resources: Record<string, unknown>[] = [];
    let skip = params.startIndex - 1;
    for (const { searcher, total } of usable) {
      if (resources.length >= params.count) break;
      if (skip >= total) {
        skip -= total;
        continue;
      }
      const page = await searcher.search({ ...params, ...(raw.sortBy ? { sortBy: String(raw.sortBy) } : {}), startIndex: skip + 1, count: params.count - resources.length }, request);
      resources.push(...page.resources);
      skip = 0;
    }
    return reply.type(SCIM_CONTENT_TYPE).send(listResponse(totalResults, params.startIndex, resources));
  });

  await app.register(scimUserRoutes, deps);
  await app.register(scimGroupRoutes, deps);
};
