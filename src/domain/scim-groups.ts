import { parse as parseFilterSyntax, stringify as filterText, type Filter as FilterSyntax } from 'scim2-parse-filter';
import { errors } from './errors.ts';
import type { Group, GroupService } from './groups.ts';
import { scimErrors } from './scim-errors.ts';
import { parseScimFilter, resolveAttribute, type FilterableResource, type ScimFilter } from './scim-filter.ts';
import { isReturned, project, type ListParams, type Projection, type ProjectionSchema } from './scim-list.ts';
import { checkIfMatch, scimMeta, weakVersion } from './scim-meta.ts';
import { GROUP_SCHEMA } from './scim-schemas.ts';

/**
 * SCIM Groups (RFC 7643 §4.2) over Gatehouse's groups: `displayName` is the group's name, `externalId` the
 * identity provider's id for it, `members` its users (`value` = user id; nested groups are not supported). A group's
 * description and roles are Gatehouse's own and no SCIM attribute: a PUT or PATCH leaves them as they are.
 *
 * Every change goes through the group service, so it is audited (with the SCIM key as the actor) and revokes cached
 * principals like the REST API's; a PUT or PATCH — however many members it adds or removes — is ONE transaction.
 *
 * PATCH is interpreted here rather than by `scim-patch`: that library applies operations to a resource held in
 * memory, which for a group means loading every member (a million, for "Everyone") to add one. Here operations
 * become sets of users to add and remove (in order: a later operation on the same user wins), applied by SQL.
 */

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** What a group can be filtered and sorted by; each maps to a column or an indexed membership lookup. */
export const GROUP_FILTERABLE: FilterableResource = {
  schema: GROUP_SCHEMA,
  attributes: [
    { name: 'id', type: 'string', caseExact: true, sortable: true },
    { name: 'displayName', type: 'string', caseExact: false, sortable: true },
    { name: 'externalId', type: 'string', caseExact: true, sortable: true },
    { name: 'members', type: 'string', multiValued: true },
    { name: 'members.value', type: 'string', caseExact: true },
    { name: 'members.type', type: 'string', caseExact: false },
    { name: 'meta.created', type: 'dateTime', sortable: true },
    { name: 'meta.lastModified', type: 'dateTime', sortable: true },
    { name: 'meta.resourceType', type: 'string', caseExact: true },
  ],
};

/**
 * A filter over groups. `members eq "<id>"` — the multi-valued attribute alone, standing for its `value` (RFC 7644
 * §3.4.2.2; Entra ID asks it) — is written as `members.value` first: scim-filter.ts's `resolveAttribute` answers the
 * multi-valued attribute itself for its own name, which its checker then refuses.
 */
export function parseGroupFilter(text: string): ScimFilter {
  let syntax: FilterSyntax | undefined;
  try {
    syntax = typeof text === 'string' && /members/i.test(text) ? parseFilterSyntax(text) : undefined;
  } catch {
    syntax = undefined; // parseScimFilter says what is wrong with it
  }
  if (syntax === undefined || !rewriteBareMembers(syntax)) return parseScimFilter(text, GROUP_FILTERABLE);
  return parseScimFilter(filterText(syntax), GROUP_FILTERABLE);
}

const BARE_MEMBERS = new Set(['members', `${GROUP_SCHEMA.toLowerCase()}:members`]);

/** Rewrites `members <op> …` to `members.value <op> …` in place; true when it rewrote anything. */
function rewriteBareMembers(node: FilterSyntax): boolean {
  const n = node as { op: string; attrPath?: string; filters?: FilterSyntax[]; filter?: FilterSyntax };
  if (n.op === 'and' || n.op === 'or') return (n.filters ?? []).map(rewriteBareMembers).some(Boolean);
  if (n.op === 'not') return n.filter !== undefined && rewriteBareMembers(n.filter);
  if (n.op === '[]') return false;
  if (typeof n.attrPath === 'string' && BARE_MEMBERS.has(n.attrPath.toLowerCase())) {
    n.attrPath = `${n.attrPath}.value`;
    return true;
  }
  return false;
}

export const GROUP_PROJECTION: ProjectionSchema = { schema: GROUP_SCHEMA, always: ['id', 'schemas'] };

/** The group's columns the SCIM resource shows (no member count: reading a group must not scan its members). */
export interface ScimGroupRecord {
  id: string;
  name: string;
  externalId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ScimMember {
  /** The user's id. */
  value: string;
  /** The user's email (their SCIM userName). */
  display: string;
}

export interface ScimGroupQuery {
  filter?: ScimFilter | undefined;
  /** A canonical attribute name of GROUP_FILTERABLE marked sortable; absent: creation order. */
  sortBy?: string | undefined;
  descending: boolean;
  offset: number;
  limit: number;
}

/** The reads SCIM needs, as SQL over the groups' columns and indexes (store/scim-group-store.ts). */
export interface ScimGroupReader {
  find(id: string): Promise<ScimGroupRecord | undefined>;
  search(query: ScimGroupQuery): Promise<ScimGroupRecord[]>;
  count(filter: ScimFilter | undefined): Promise<number>;
  /** Each group's members in user id (= creation) order; a group without members is absent or empty. */
  members(groupIds: string[]): Promise<Map<string, ScimMember[]>>;
}

/** Where resources are: absolute URLs of a group (meta.location) and of a user (members' `$ref`). */
export interface ScimUrls {
  group(id: string): string;
  user(id: string): string;
}

type Json = Record<string, unknown>;

/**
 * The group's version: a digest of what a SCIM client sees of the group row, and of `updatedAt`, which every change
 * of its members moves forward (strictly) — so a membership change is a new version without reading the members.
 */
export function groupVersion(g: Pick<ScimGroupRecord, 'id' | 'name' | 'externalId' | 'updatedAt'>): string {
  return weakVersion('Group', g.id, g.updatedAt, g.name, g.externalId);
}

const record = (g: Group): ScimGroupRecord => ({ id: g.id, name: g.name, externalId: g.externalId, createdAt: g.createdAt, updatedAt: g.updatedAt });

/** The resource in full (`members` only when given: left out, the projection had excluded them). */
export function groupResource(g: ScimGroupRecord, members: ScimMember[] | undefined, urls: ScimUrls): Json {
  return {
    schemas: [GROUP_SCHEMA],
    id: g.id,
    ...(g.externalId !== null ? { externalId: g.externalId } : {}),
    displayName: g.name,
    ...(members !== undefined && members.length > 0
      ? { members: members.map((m) => ({ value: m.value, $ref: urls.user(m.value), display: m.display, type: 'User' })) }
      : {}),
    meta: scimMeta({ resourceType: 'Group', createdAt: g.createdAt, updatedAt: g.updatedAt, location: urls.group(g.id), version: groupVersion(g) }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Request bodies

const MAX_EXTERNAL_ID = 512;
const MAX_MEMBER_ID = 100;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The key of `body` named `name` in any case (SCIM attribute names are case-insensitive), core URN prefix allowed. */
function field(body: Json, name: string): unknown {
  const wanted = name.toLowerCase();
  const prefixed = `${GROUP_SCHEMA.toLowerCase()}:${wanted}`;
  for (const [k, v] of Object.entries(body)) {
    const lower = k.toLowerCase();
    if (lower === wanted || lower === prefixed) return v;
  }
  return undefined;
}

function checkSchemas(body: Json, required: string, what: string): void {
  const schemas = body.schemas;
  if (schemas === undefined) return; // tolerated: some clients leave it out, and the endpoint says what the body is
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === required.toLowerCase())) {
    throw scimErrors.invalidSyntax(`${what}'s schemas must hold ${required}`);
  }
}

function displayNameOf(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw scimErrors.invalidValue('displayName must be a non-empty string');
  // The group service's rule, said in SCIM's words (it would name the field `name`).
  if (!/^[^\p{Cc}]{1,100}$/u.test(value.trim())) throw scimErrors.invalidValue('displayName is at most 100 printable characters');
  return value;
}

/** `externalId` as given: a string (empty: none) or null. */
function externalIdOf(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw scimErrors.invalidValue('externalId must be a string');
  if (value.length > MAX_EXTERNAL_ID) throw scimErrors.invalidValue(`externalId is longer than ${MAX_EXTERNAL_ID} characters`);
  return value === '' ? null : value;
}

/** One member as a client sends it: `{"value": "<user id>"}` (`display`, `$ref` ignored; `type` must be User). */
function memberIdOf(value: unknown): string {
  if (!isObject(value)) throw scimErrors.invalidValue('A member is an object with the user id in "value"');
  const id = field(value, 'value');
  if (typeof id !== 'string' || id === '' || id.length > MAX_MEMBER_ID) throw scimErrors.invalidValue('A member\'s "value" must be a user id');
  const type = field(value, 'type');
  if (type !== undefined && type !== null && (typeof type !== 'string' || type.toLowerCase() !== 'user')) {
    throw scimErrors.invalidValue('Members are users: Gatehouse does not nest groups');
  }
  return id;
}

/** A list of members (a single member object is taken as a list of one, as some clients send it). */
function memberIdsOf(value: unknown): string[] {
  if (value === null) return [];
  const list = Array.isArray(value) ? value : isObject(value) ? [value] : undefined;
  if (!list) throw scimErrors.invalidValue('members must be a list of {"value": "<user id>"}');
  return list.map(memberIdOf);
}

export interface GroupBody {
  name: string;
  /** Absent: not given (a PUT leaves it as it is). */
  externalId?: string | null;
  /** Absent: not given (a PUT leaves the members as they are; `[]` removes them all). */
  members?: string[];
}

/** The body of a POST or PUT. Read-only attributes (`id`, `meta`) are ignored, as RFC 7643 §2.2 says. */
export function parseGroupBody(body: unknown): GroupBody {
  if (!isObject(body)) throw scimErrors.invalidSyntax('The body must be a Group object');
  checkSchemas(body, GROUP_SCHEMA, 'A Group');
  const name = displayNameOf(field(body, 'displayName'));
  const out: GroupBody = { name };
  const externalId = field(body, 'externalId');
  if (externalId !== undefined) out.externalId = externalIdOf(externalId);
  const members = field(body, 'members');
  if (members !== undefined) out.members = memberIdsOf(members);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// PATCH (RFC 7644 §3.5.2), as identity providers send it

/** The net effect of a PATCH's operations on one group. */
export interface GroupPatch {
  name?: string;
  externalId?: string | null;
  /** The members were replaced as a whole: everyone not in `add` leaves. */
  replaceMembers: boolean;
  add: string[];
  remove: string[];
}

export const MAX_PATCH_OPERATIONS = 1000;

type Target =
  | { attr: 'displayName' | 'externalId' }
  | { attr: 'members'; ids?: string[] }
  | { attr: 'readOnly'; name: string };

const URN_PREFIX = `${GROUP_SCHEMA.toLowerCase()}:`;

/** The user ids a member filter selects: `value eq "id"`, joined by `or` (and `type eq "User"` alongside). */
function selectedIds(filter: ScimFilter): string[] {
  switch (filter.op) {
    case 'or':
      return [...new Set(filter.filters.flatMap(selectedIds))];
    case 'and': {
      const values = filter.filters.filter((f) => !(f.op === 'eq' && f.attr === 'members.type' && typeof f.value === 'string' && f.value.toLowerCase() === 'user'));
      if (values.length === 1) return selectedIds(values[0]!);
      break;
    }
    case 'eq':
      if (filter.attr === 'members.value' && typeof filter.value === 'string') return [filter.value];
      break;
    default:
      break;
  }
  throw scimErrors.invalidFilter('A PATCH selects members by value: members[value eq "<user id>"] (several joined by or)');
}

/** Resolves a PATCH path to what it targets; anything Gatehouse's groups do not have is `invalidPath`. */
function targetOf(path: string): Target {
  const trimmed = path.trim();
  let bare = trimmed;
  if (bare.toLowerCase().startsWith(URN_PREFIX)) bare = bare.slice(URN_PREFIX.length);
  const lower = bare.toLowerCase();
  if (lower === 'displayname') return { attr: 'displayName' };
  if (lower === 'externalid') return { attr: 'externalId' };
  if (lower === 'members' || lower === 'members.value') return { attr: 'members' };
  if (lower === 'id' || lower === 'schemas' || lower === 'meta' || lower.startsWith('meta.')) return { attr: 'readOnly', name: bare };
  if (lower.startsWith('members[')) {
    if (!lower.endsWith(']')) throw scimErrors.invalidPath(`${path} is not a path Gatehouse can change: use members[value eq "<user id>"]`);
    let filter: ScimFilter;
    try {
      filter = parseScimFilter(bare, GROUP_FILTERABLE);
    } catch {
      throw scimErrors.invalidPath(`${path} is not a valid path`);
    }
    if (filter.op !== 'valuePath' || filter.attr !== 'members') throw scimErrors.invalidPath(`${path} is not a valid path`);
    return { attr: 'members', ids: selectedIds(filter.filter) };
  }
  if (lower.startsWith('members.')) throw scimErrors.invalidPath(`${path}: members are changed as a whole ("members") or by value (members[value eq "<id>"])`);
  throw scimErrors.invalidPath(`A Group has no attribute ${path} that Gatehouse stores`);
}

/** Applies PATCH operations to a plan; `groupId` is the group's id (a client may repeat it in a path-less replace). */
export function parseGroupPatch(body: unknown, groupId: string): GroupPatch {
  if (!isObject(body)) throw scimErrors.invalidSyntax('The body must be a PatchOp object');
  checkSchemas(body, PATCH_OP_SCHEMA, 'A PatchOp');
  const operations = field(body, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0) throw scimErrors.invalidSyntax('A PatchOp has a non-empty list of Operations');
  if (operations.length > MAX_PATCH_OPERATIONS) throw scimErrors.invalidSyntax(`A PatchOp has at most ${MAX_PATCH_OPERATIONS} operations`);

  const plan: { name?: string; externalId?: string | null } = {};
  let replaceMembers = false;
  /** user id → member after the operations so far (true) or not (false); the last operation on a user wins. */
  const states = new Map<string, boolean>();

  const setMembers = (ids: string[], member: boolean) => {
    for (const id of ids) {
      states.delete(id); // keeps the order of the last operation
      states.set(id, member);
    }
  };
  const replaceAll = (ids: string[]) => {
    replaceMembers = true;
    states.clear();
    setMembers(ids, true);
  };

  const apply = (op: 'add' | 'replace' | 'remove', target: Target, value: unknown, hasValue: boolean) => {
    switch (target.attr) {
      case 'readOnly':
        if (target.name.toLowerCase() === 'id' && op !== 'remove' && value === groupId) return; // restating the id
        throw scimErrors.mutability(`${target.name} is read-only`);
      case 'displayName':
        if (op === 'remove') throw scimErrors.mutability('displayName is required and cannot be removed');
        plan.name = displayNameOf(unwrapped(value));
        return;
      case 'externalId':
        plan.externalId = op === 'remove' ? null : externalIdOf(unwrapped(value));
        return;
      case 'members': {
        if (target.ids) {
          // members[value eq "x"]: remove selects those members; add or replace puts the value's members in their place.
          setMembers(target.ids, false);
          if (op !== 'remove' && hasValue) setMembers(memberIdsOf(value), true);
          else if (op !== 'remove') throw scimErrors.invalidValue(`${op} of members needs a value`);
          return;
        }
        if (op === 'remove') {
          // Without a filter: the members listed in `value` (as Entra ID sends it), or every member.
          if (hasValue && value !== null) setMembers(memberIdsOf(value), false);
          else replaceAll([]);
          return;
        }
        if (!hasValue) throw scimErrors.invalidValue(`${op} of members needs a value`);
        if (op === 'add') setMembers(memberIdsOf(value), true);
        else replaceAll(memberIdsOf(value));
        return;
      }
    }
  };

  for (const [i, raw] of operations.entries()) {
    if (!isObject(raw)) throw scimErrors.invalidSyntax(`Operation ${i + 1} is not an object`);
    const opName = field(raw, 'op');
    const op = typeof opName === 'string' ? opName.toLowerCase() : '';
    if (op !== 'add' && op !== 'remove' && op !== 'replace') throw scimErrors.invalidSyntax(`Operation ${i + 1}: op must be add, remove or replace`);
    const path = field(raw, 'path');
    const hasValue = Object.keys(raw).some((k) => k.toLowerCase() === 'value');
    const value = field(raw, 'value');
    if (path !== undefined && path !== null && (typeof path !== 'string' || path.trim() === '')) throw scimErrors.invalidPath(`Operation ${i + 1}: path must be a string`);
    if (typeof path === 'string') {
      apply(op, targetOf(path), value, hasValue);
      continue;
    }
    if (op === 'remove') throw scimErrors.noTarget(`Operation ${i + 1}: remove needs a path`);
    // No path: the value is an object of attributes (their names in any case, dotted or URN-prefixed).
    if (!isObject(value)) throw scimErrors.invalidValue(`Operation ${i + 1}: ${op} without a path takes an object of attributes`);
    for (const [key, v] of Object.entries(value)) {
      const lower = key.toLowerCase();
      if (lower === 'schemas' || lower === 'meta') continue; // read-only, restated by some clients: ignored
      apply(op, targetOf(key), v, true);
    }
  }

  const add: string[] = [];
  const remove: string[] = [];
  for (const [id, member] of states) (member ? add : remove).push(id);
  return { ...plan, replaceMembers, add, remove };
}

/** A single value some clients wrap: `[{"value": "x"}]` or `{"value": "x"}` for "x". */
function unwrapped(value: unknown): unknown {
  const one = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (isObject(one) && Object.keys(one).length === 1 && Object.keys(one)[0]!.toLowerCase() === 'value') return Object.values(one)[0];
  return one;
}

// ---------------------------------------------------------------------------------------------------------------
// The service

/** The sort attribute of a list, as a canonical name GROUP_FILTERABLE marks sortable. */
function sortAttributeOf(sortBy: string | undefined): string | undefined {
  if (sortBy === undefined || sortBy === '') return undefined;
  const attr = resolveAttribute(GROUP_FILTERABLE, sortBy);
  if (!attr || !attr.sortable) throw scimErrors.invalidValue(`sortBy names ${sortBy}, which groups cannot be sorted by`);
  return attr.name;
}

const unknownMember = (id: string) => scimErrors.invalidValue(`members: no user has the id ${id}`);

export function createScimGroupService(deps: { groups: GroupService; reader: ScimGroupReader }) {
  const { groups, reader } = deps;

  async function findRecord(id: string): Promise<ScimGroupRecord> {
    const found = await reader.find(id);
    if (!found) throw errors.groupNotFound(id);
    return found;
  }

  /** The resource as the projection shows it; members are read only when it returns them. */
  async function view(g: ScimGroupRecord, projection: Projection, urls: ScimUrls): Promise<{ body: Json; version: string }> {
    const members = isReturned(projection, 'members', GROUP_PROJECTION) ? ((await reader.members([g.id])).get(g.id) ?? []) : undefined;
    return { body: project(groupResource(g, members, urls), projection, GROUP_PROJECTION), version: groupVersion(g) };
  }

  const ifMatches = (ifMatch: string | undefined) => (before: Group) => checkIfMatch(ifMatch, groupVersion(record(before)));

  return {
    async get(id: string, projection: Projection, urls: ScimUrls) {
      return view(await findRecord(id), projection, urls);
    },

    /** One page of groups matching `params.filter`, with the total; `count` 0 reads only the total. */
    async list(params: ListParams, urls: ScimUrls): Promise<{ totalResults: number; resources: Json[] }> {
      const filter = params.filter !== undefined ? parseGroupFilter(params.filter) : undefined;
      const sortBy = sortAttributeOf(params.sortBy);
      const totalResults = await reader.count(filter);
      if (params.count === 0 || params.startIndex > totalResults) return { totalResults, resources: [] };
      const page = await reader.search({ filter, sortBy, descending: params.sortOrder === 'descending', offset: params.startIndex - 1, limit: params.count });
      const withMembers = isReturned(params.projection, 'members', GROUP_PROJECTION);
      const members = withMembers && page.length > 0 ? await reader.members(page.map((g) => g.id)) : undefined;
      const resources = page.map((g) => project(groupResource(g, members ? (members.get(g.id) ?? []) : undefined, urls), params.projection, GROUP_PROJECTION));
      return { totalResults, resources };
    },

    async create(body: unknown, projection: Projection, urls: ScimUrls) {
      const input = parseGroupBody(body);
      const created = await groups.createWithMembers({ name: input.name, externalId: input.externalId ?? null }, input.members ?? [], unknownMember);
      return view(record(created), projection, urls);
    },

    /** PUT: displayName, externalId and members as given (members left out stay as they are), in one transaction. */
    async replace(id: string, body: unknown, ifMatch: string | undefined, projection: Projection, urls: ScimUrls) {
      const input = parseGroupBody(body);
      await groups.change(
        id,
        {
          name: input.name,
          ...(input.externalId !== undefined ? { externalId: input.externalId } : {}),
          ...(input.members !== undefined ? { add: input.members, replaceMembers: true } : {}),
        },
        { check: ifMatches(ifMatch), missingUser: unknownMember },
      );
      return view(await findRecord(id), projection, urls);
    },

    async patch(id: string, body: unknown, ifMatch: string | undefined, projection: Projection, urls: ScimUrls) {
      const plan = parseGroupPatch(body, id);
      await groups.change(
        id,
        {
          ...(plan.name !== undefined ? { name: plan.name } : {}),
          ...(plan.externalId !== undefined ? { externalId: plan.externalId } : {}),
          add: plan.add,
          remove: plan.remove,
          replaceMembers: plan.replaceMembers,
        },
        { check: ifMatches(ifMatch), missingUser: unknownMember },
      );
      return view(await findRecord(id), projection, urls);
    },

    async remove(id: string, ifMatch: string | undefined): Promise<void> {
      await groups.remove(id, ifMatches(ifMatch));
    },
  };
}

export type ScimGroupService = ReturnType<typeof createScimGroupService>;
