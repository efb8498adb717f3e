import { resolveAttribute, type FilterableResource } from './scim-filter.ts';
import { scimErrors } from './scim-errors.ts';

/**
 * Query parameters of a SCIM list (RFC 7644 §3.4.2): paging (`startIndex`, 1-based; `count`, where 0 asks only for
 * the total), sorting, and the projection (`attributes` / `excludedAttributes`, §3.4.2.5 and §3.9). The same
 * parameters come as strings in a GET's query and as typed values in a `POST /.search` body; both go through here.
 */

export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

/** Page size when the client asks for none, and the most one page holds (ServiceProviderConfig `filter.maxResults`). */
export const DEFAULT_COUNT = 100;
export const MAX_COUNT = 1000;

export interface Projection {
  /** Lower-cased attribute paths the client asked for (empty: the default set). */
  attributes: string[];
  /** Lower-cased attribute paths to leave out. */
  excludedAttributes: string[];
}

export interface ListParams {
  startIndex: number;
  count: number;
  filter?: string;
  sortBy?: string;
  sortOrder: 'ascending' | 'descending';
  projection: Projection;
}

export interface ListResponse<T> {
  schemas: [typeof LIST_RESPONSE_SCHEMA];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: T[];
}

/** The raw parameters, from a query string (strings) or a search body (typed); unknown keys are ignored. */
export interface RawListParams {
  startIndex?: unknown;
  count?: unknown;
  filter?: unknown;
  sortBy?: unknown;
  sortOrder?: unknown;
  attributes?: unknown;
  excludedAttributes?: unknown;
}

function integer(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[-+]?\d{1,16}\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw scimErrors.invalidValue(`${name} must be an integer`);
  return n;
}

function text(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw scimErrors.invalidValue(`${name} must be a string`);
  return value;
}

/** `attributes` as a comma-separated string (query) or an array of strings (search body). */
export function attributeList(value: unknown, name: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
  if (!items || items.some((i) => typeof i !== 'string')) throw scimErrors.invalidValue(`${name} must be a list of attribute names`);
  const list = (items as string[]).map((i) => i.trim()).filter((i) => i !== '');
  if (list.length > 100 || list.some((i) => i.length > 300)) throw scimErrors.invalidValue(`${name} names too many attributes`);
  return list.map((i) => i.toLowerCase());
}

/**
 * Checks and defaults the list parameters. `startIndex` below 1 is 1 and a negative `count` is 0 (RFC 7644
 * §3.4.2.4); `count` above MAX_COUNT is MAX_COUNT. `sortBy` must name a sortable attribute of `resource`.
 */
export function parseListParams(raw: RawListParams, resource: FilterableResource): ListParams & { sortAttribute?: string } {
  const startIndex = Math.max(1, integer(raw.startIndex, 'startIndex') ?? 1);
  const count = Math.min(MAX_COUNT, Math.max(0, integer(raw.count, 'count') ?? DEFAULT_COUNT));
  const filter = text(raw.filter, 'filter');
  const sortBy = text(raw.sortBy, 'sortBy');
  const order = text(raw.sortOrder, 'sortOrder');
  let sortOrder: 'ascending' | 'descending' = 'ascending';
  if (order !== undefined && order !== '') {
    const lower = order.toLowerCase();
    if (lower !== 'ascending' && lower !== 'descending') throw scimErrors.invalidValue('sortOrder must be "ascending" or "descending"');
    sortOrder = lower;
  }
  let sortAttribute: string | undefined;
  if (sortBy !== undefined && sortBy !== '') {
    const attr = resolveAttribute(resource, sortBy);
    if (!attr || !attr.sortable) throw scimErrors.invalidValue(`sortBy names ${sortBy}, which results cannot be sorted by`);
    sortAttribute = attr.name;
  }
  const projection = parseProjection(raw);
  return {
    startIndex,
    count,
    sortOrder,
    projection,
    ...(filter !== undefined && filter !== '' ? { filter } : {}),
    ...(sortBy !== undefined && sortBy !== '' ? { sortBy } : {}),
    ...(sortAttribute ? { sortAttribute } : {}),
  };
}

/** `attributes` and `excludedAttributes` of a GET of one resource, a POST, PUT or PATCH (RFC 7644 §3.9). */
export function parseProjection(raw: { attributes?: unknown; excludedAttributes?: unknown }): Projection {
  const attributes = attributeList(raw.attributes, 'attributes');
  const excludedAttributes = attributeList(raw.excludedAttributes, 'excludedAttributes');
  if (attributes.length > 0 && excludedAttributes.length > 0) {
    throw scimErrors.invalidValue('attributes and excludedAttributes cannot be used together');
  }
  return { attributes, excludedAttributes };
}

export function listResponse<T>(totalResults: number, startIndex: number, resources: T[]): ListResponse<T> {
  return { schemas: [LIST_RESPONSE_SCHEMA], totalResults, startIndex, itemsPerPage: resources.length, Resources: resources };
}

/** How a projection sees a resource type: its URNs and what is returned whatever the client asks. */
export interface ProjectionSchema {
  /** The core schema URN; a path may be prefixed by it. */
  schema: string;
  /** Extension URNs: the resource holds each as a top-level key, and a path `<urn>:<attr>` reaches inside it. */
  extensions?: readonly string[];
  /** Top-level attributes returned always (RFC 7643 `returned: "always"`): `id`, and `schemas`. */
  always: readonly string[];
  /** Top-level attributes returned only when asked for by `attributes` (RFC 7643 `returned: "request"`). */
  requestOnly?: readonly string[];
}

/** A path split into segments, the first being a top-level key (an extension URN counts as one). */
function segments(path: string, schema: ProjectionSchema): string[] {
  const lower = path.toLowerCase();
  const core = schema.schema.toLowerCase();
  if (lower === core) return [];
  if (lower.startsWith(core + ':')) return lower.slice(core.length + 1).split('.');
  for (const ext of schema.extensions ?? []) {
    const e = ext.toLowerCase();
    if (lower === e) return [e];
    if (lower.startsWith(e + ':')) return [e, ...lower.slice(e.length + 1).split('.')];
  }
  return lower.split('.');
}

/**
 * Whether the projection returns the top-level attribute `name` (case-insensitive) at all: lets a store skip
 * loading what will not be returned (a group's members under `excludedAttributes=members`).
 */
export function isReturned(projection: Projection, name: string, schema: ProjectionSchema): boolean {
  const wanted = name.toLowerCase();
  if (schema.always.some((a) => a.toLowerCase() === wanted)) return true;
  const top = (p: string) => segments(p, schema)[0];
  if (projection.attributes.length > 0) return projection.attributes.some((p) => top(p) === wanted);
  if ((schema.requestOnly ?? []).some((a) => a.toLowerCase() === wanted)) return false;
  // Excluded only when the whole attribute is (excluding `members.display` still returns members).
  return !projection.excludedAttributes.some((p) => {
    const s = segments(p, schema);
    return s.length === 1 && s[0] === wanted;
  });
}

type Json = Record<string, unknown>;

/** Applies `attributes` / `excludedAttributes` to one resource as it would be returned in full. */
export function project<T extends Json>(resource: T, projection: Projection, schema: ProjectionSchema): Json {
  const always = new Set(schema.always.map((a) => a.toLowerCase()));
  const requestOnly = new Set((schema.requestOnly ?? []).map((a) => a.toLowerCase()));
  if (projection.attributes.length > 0) {
    const paths = projection.attributes.map((p) => segments(p, schema)).filter((s) => s.length > 0);
    const out: Json = {};
    for (const [key, value] of Object.entries(resource)) {
      const lower = key.toLowerCase();
      if (always.has(lower)) {
        out[key] = value;
        continue;
      }
      const mine = paths.filter((s) => s[0] === lower);
      if (mine.length === 0) continue;
      if (mine.some((s) => s.length === 1)) out[key] = value;
      else {
        const picked = pick(value, mine.map((s) => s.slice(1)));
        if (picked !== undefined) out[key] = picked;
      }
    }
    return out;
  }
  const excluded = projection.excludedAttributes.map((p) => segments(p, schema)).filter((s) => s.length > 0);
  const out: Json = {};
  for (const [key, value] of Object.entries(resource)) {
    const lower = key.toLowerCase();
    if (always.has(lower)) {
      out[key] = value;
      continue;
    }
    if (requestOnly.has(lower)) continue;
    const mine = excluded.filter((s) => s[0] === lower);
    if (mine.some((s) => s.length === 1)) continue;
    out[key] = mine.length === 0 ? value : drop(value, mine.map((s) => s.slice(1)));
  }
  return out;
}

/** Keeps only the sub-paths (one level or more) of an object, or of each object in an array. */
function pick(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => pick(v, paths)).filter((v) => v !== undefined && !(isObject(v) && Object.keys(v).length === 0));
    return items.length > 0 ? items : undefined;
  }
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    const mine = paths.filter((p) => p[0] === key.toLowerCase());
    if (mine.length === 0) continue;
    if (mine.some((p) => p.length === 1)) out[key] = v;
    else {
      const inner = pick(v, mine.map((p) => p.slice(1)));
      if (inner !== undefined) out[key] = inner;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function drop(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) return value.map((v) => drop(v, paths));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    const mine = paths.filter((p) => p[0] === key.toLowerCase());
    if (mine.some((p) => p.length === 1)) continue;
    out[key] = mine.length === 0 ? v : drop(v, mine.map((p) => p.slice(1)));
  }
  return out;
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
