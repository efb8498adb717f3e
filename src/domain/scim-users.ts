import { randomBytes } from 'node:crypto';
import { scimPatch, type ScimPatchOperation } from 'scim-patch';
import { parse as parseFilterSyntax } from 'scim2-parse-filter';
import { ScimError, scimErrors } from './scim-errors.ts';
import { parseScimFilter, type FilterableResource, type ScimFilter } from './scim-filter.ts';
import { isReturned, listResponse, project, type ListParams, type ListResponse, type Projection, type ProjectionSchema } from './scim-list.ts';
import { checkIfMatch, scimMeta, weakVersion } from './scim-meta.ts';
import { USER_SCHEMA } from './scim-schemas.ts';
import { emailProblem, normaliseEmail } from './email.ts';
import type { UpdateUserInput, UserService } from './users.ts';

/**
 * SCIM Users (RFC 7643 §4.1) over Gatehouse's users. `userName` is the email (unique, compared case-insensitively,
 * stored lower-cased) unless a provider sets it apart — `jdoe` with the address in `emails` — in which case it is
 * kept beside the email, unique among userNames and emails alike. `name.givenName`/`name.familyName` are the first
 * and last name, `emails` the one email (type "work", primary; of several sent, the primary, else the work one,
 * else the first is kept), `active` the enabled flag, `externalId` the provider's id, `groups` the memberships (read-only),
 * `password` write-only. Every change goes through the user service, so the password policy, the audit trail (with
 * the SCIM key as the actor) and "disabling ends every session and token" are exactly those of the REST API.
 */

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** What the user endpoints can be filtered and sorted by: all of it becomes SQL over `users` and its indexes. */
export const USER_RESOURCE: FilterableResource = {
  schema: USER_SCHEMA,
  attributes: [
    { name: 'id', type: 'string', caseExact: true, sortable: true },
    { name: 'externalId', type: 'string', caseExact: true, sortable: true },
    { name: 'userName', type: 'string', sortable: true },
    { name: 'name.givenName', type: 'string', sortable: true },
    { name: 'name.familyName', type: 'string', sortable: true },
    { name: 'emails', type: 'string', multiValued: true },
    { name: 'emails.value', type: 'string', sortable: true },
    { name: 'emails.type', type: 'string' },
    { name: 'emails.primary', type: 'boolean' },
    { name: 'active', type: 'boolean' },
    { name: 'groups', type: 'string', multiValued: true },
    { name: 'groups.value', type: 'string', caseExact: true },
    { name: 'groups.display', type: 'string' },
    { name: 'meta.created', type: 'dateTime', sortable: true },
    { name: 'meta.lastModified', type: 'dateTime', sortable: true },
  ],
};

export const USER_PROJECTION: ProjectionSchema = { schema: USER_SCHEMA, always: ['id', 'schemas'] };

/** A user as SCIM shows them, read in one query with their external id and groups. */
export interface ScimUserRecord {
  id: string;
  email: string;
  /** A userName apart from the email, or null when the userName is the email. */
  userName: string | null;
  firstName: string | null;
  lastName: string | null;
  enabled: boolean;
  externalId: string | null;
  createdAt: number;
  updatedAt: number;
  groups: { id: string; name: string }[];
}

export interface ScimUserQuery {
  filter?: ScimFilter;
  /** A canonical attribute name of USER_RESOURCE (`userName`, `meta.created`…); absent: creation order. */
  sortBy?: string;
  sortOrder: 'ascending' | 'descending';
  offset: number;
  limit: number;
}

/** Reads for SCIM: filters and sorting as SQL (store/scim-users.ts). */
export interface ScimUserQueries {
  findById(id: string): Promise<ScimUserRecord | undefined>;
  count(filter: ScimFilter | undefined): Promise<number>;
  list(query: ScimUserQuery): Promise<ScimUserRecord[]>;
}

export interface ScimUserServiceDeps {
  users: UserService;
  queries: ScimUserQueries;
  /** A password nobody knows, for a user provisioned without one (they cannot sign in until one is set). */
  randomPassword?: () => string;
}

type Json = Record<string, unknown>;

const MAX_NAME = 100;
const MAX_EXTERNAL_ID = 1024;
const MAX_OPERATIONS = 1000;

/** What a client may write (the rest is read-only, or not stored and ignored). */
const WRITABLE = new Set(['username', 'name', 'emails', 'active', 'externalid', 'password']);
/** Read-only attributes: a PATCH that changes them is 400 `mutability`. */
const READ_ONLY = new Set(['id', 'meta', 'groups']);

export function scimUserView(record: ScimUserRecord, base: string): Json {
  const name: Json = {};
  if (record.firstName !== null) name.givenName = record.firstName;
  if (record.lastName !== null) name.familyName = record.lastName;
  const body: Json = { schemas: [USER_SCHEMA], id: record.id };
  if (record.externalId !== null) body.externalId = record.externalId;
  body.userName = record.userName ?? record.email;
  if (Object.keys(name).length > 0) body.name = name;
  body.emails = [{ value: record.email, type: 'work', primary: true }];
  body.active = record.enabled;
  body.groups = record.groups.map((g) => ({ value: g.id, $ref: `${base}/Groups/${encodeURIComponent(g.id)}`, display: g.name, type: 'direct' }));
  const version = weakVersion(body);
  body.meta = scimMeta({ resourceType: 'User', createdAt: record.createdAt, updatedAt: record.updatedAt, location: `${base}/Users/${encodeURIComponent(record.id)}`, version });
  return body;
}

export function versionOf(view: Json): string {
  return (view.meta as { version: string }).version;
}

/** Lower-cased keys, so `UserName` and `userName` are the same attribute (attribute names are case-insensitive). */
function lowerKeys(body: Json): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(body)) {
    let key = k.toLowerCase();
    if (key.startsWith(USER_SCHEMA.toLowerCase() + ':')) key = key.slice(USER_SCHEMA.length + 1);
    out.set(key, v);
  }
  return out;
}

function asObject(body: unknown, what: string): Json {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw scimErrors.invalidSyntax(`${what} must be a JSON object`);
  return body as Json;
}

function optionalString(value: unknown, name: string, max: number): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== 'string') throw scimErrors.invalidValue(`${name} must be a string`);
  if (value.length > max) throw scimErrors.invalidValue(`${name} is longer than ${max} characters`);
  return value;
}

/** A boolean as identity providers send it: true/false, or the strings "True"/"False" in any case. */
export function scimBoolean(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw scimErrors.invalidValue(`${name} must be true or false`);
}

function userNameOf(attrs: Map<string, unknown>): string | undefined {
  const userName = attrs.get('username');
  if (userName === undefined || userName === null) return undefined;
  if (typeof userName !== 'string') throw scimErrors.invalidValue('userName must be a string');
  return userName.trim() === '' ? undefined : userName;
}

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
const isTrue = (v: unknown) => v === true || (typeof v === 'string' && v.trim().toLowerCase() === 'true');

/** The address Gatehouse keeps of an `emails` list: the primary one, else the work one, else the first. */
function emailOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw scimErrors.invalidValue('emails must be an array');
  const list = value.filter((e): e is Json => e !== null && typeof e === 'object' && typeof (e as Json).value === 'string' && ((e as Json).value as string).trim() !== '');
  const chosen = list.find((e) => isTrue(e.primary)) ?? list.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ?? list[0];
  return chosen?.value as string | undefined;
}

/**
 * The email and the separate userName (null: the userName is the email) of a userName and an emails address.
 * Without an address the userName must be one; `fallback` is the address a user already has (PUT, PATCH).
 */
function identityOf(userName: string, email: string | undefined, fallback?: string): { email: string; userName: string | null } {
  if (email !== undefined) return { email, userName: same(email, userName) ? null : userName };
  if (emailProblem(normaliseEmail(userName)) === null) return { email: userName, userName: null };
  if (fallback !== undefined) return { email: fallback, userName };
  throw scimErrors.invalidValue(`userName ${JSON.stringify(userName.slice(0, 100))} is not an email address: send the user's address in emails`);
}

interface UserFields {
  userName: string;
  /** The address of `emails`, when given. */
  email: string | undefined;
  firstName: string | null;
  lastName: string | null;
  active: boolean | undefined;
  externalId: string | null | undefined;
  password: string | undefined;
}

/** The fields of a POST or PUT body. */
function fieldsOf(body: unknown): UserFields {
  const attrs = lowerKeys(asObject(body, 'A User'));
  const schemas = attrs.get('schemas');
  if (schemas !== undefined && (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === USER_SCHEMA.toLowerCase()))) {
    throw scimErrors.invalidSyntax(`A User's schemas must hold ${USER_SCHEMA}`);
  }
  const userName = userNameOf(attrs);
  if (userName === undefined) throw scimErrors.invalidValue('userName is required');
  const email = emailOf(attrs.get('emails'));
  const nameValue = attrs.get('name');
  let firstName: string | null = null;
  let lastName: string | null = null;
  if (nameValue !== undefined && nameValue !== null) {
    const name = lowerKeys(asObject(nameValue, 'name'));
    firstName = optionalString(name.get('givenname'), 'name.givenName', MAX_NAME) ?? null;
    lastName = optionalString(name.get('familyname'), 'name.familyName', MAX_NAME) ?? null;
  }
  const activeValue = attrs.get('active');
  const active = activeValue === undefined || activeValue === null ? undefined : scimBoolean(activeValue, 'active');
  const externalId = optionalString(attrs.get('externalid'), 'externalId', MAX_EXTERNAL_ID);
  const passwordValue = attrs.get('password');
  if (passwordValue !== undefined && passwordValue !== null && typeof passwordValue !== 'string') throw scimErrors.invalidValue('password must be a string');
  return { userName, email, firstName, lastName, active, externalId, password: typeof passwordValue === 'string' ? passwordValue : undefined };
}

function scimPatchError(err: unknown): ScimError {
  if (err instanceof ScimError) return err;
  const name = (err as { constructor?: { name?: string } })?.constructor?.name ?? '';
  const message = err instanceof Error ? err.message.replace(/\s*\[object Object\]$/, '') : 'Invalid patch';
  switch (name) {
    case 'NoPathInScimPatchOp':
    case 'NoTarget':
    case 'FilterOnEmptyArray':
    case 'FilterArrayTargetNotFound':
      return scimErrors.noTarget(message);
    case 'InvalidScimPatchOp':
    case 'InvalidRemoveOpPath':
      return scimErrors.invalidPath(message);
    case 'InvalidScimPatchRequest':
      return scimErrors.invalidSyntax(message);
    default:
      return scimErrors.invalidValue(message);
  }
}

/** The top-level attribute a PATCH path starts at (lower-cased, core schema prefix removed), or an extension URN. */
function topOfPath(path: string): string {
  let p = path.trim();
  const lower = p.toLowerCase();
  const core = USER_SCHEMA.toLowerCase() + ':';
  if (lower.startsWith(core)) p = p.slice(core.length);
  else if (lower.startsWith('urn:')) return lower; // an extension: nothing of it is stored
  const end = p.search(/[.[]/);
  return (end === -1 ? p : p.slice(0, end)).toLowerCase();
}

const NAME = '[A-Za-z$][\\w$-]*';
const PATH_SHAPE = new RegExp(`^(?:urn:[\\w.:-]+:)?${NAME}(?:\\.${NAME})?(?:\\[([^\\[\\]]+)\\](?:\\.${NAME})?)?$`);

/** A PATCH path (RFC 7644 §3.5.2: attrPath, or valuePath with an optional subAttr) or 400 invalidPath. */
function checkPath(path: string): void {
  const m = PATH_SHAPE.exec(path);
  if (!m) throw scimErrors.invalidPath(`${path.slice(0, 100)} is not a valid attribute path`);
  if (m[1] !== undefined) {
    try {
      parseFilterSyntax(m[1]);
    } catch {
      throw scimErrors.invalidPath(`The filter in ${path.slice(0, 100)} is not valid`);
    }
  }
}

/** Single-valued complex attributes: a value for them sets the sub-attributes given and leaves the others (§3.5.2.1, §3.5.2.3). */
const COMPLEX = new Set(['name']);

/** `{name: {givenName: "x"}}` as `{"name.givenName": "x"}`, so only the sub-attributes given change. */
function flattenComplex(values: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(values)) {
    if (COMPLEX.has(topOfPath(k)) && !k.includes('.') && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [sub, subValue] of Object.entries(v as Json)) out[`${k}.${sub}`] = subValue;
    } else out[k] = v;
  }
  return out;
}

/**
 * The operations of a PatchOp body, as identity providers send them, made plain for `scim-patch`: `op` in any case,
 * attributes Gatehouse does not store dropped (they are ignored, as on POST and PUT), read-only ones refused.
 */
export function normalisePatch(body: unknown): ScimPatchOperation[] {
  const patch = asObject(body, 'A PatchOp');
  const keys = lowerKeys(patch);
  const schemas = keys.get('schemas');
  if (schemas !== undefined && (!Array.isArray(schemas) || !schemas.includes(PATCH_OP_SCHEMA))) {
    throw scimErrors.invalidSyntax(`A PATCH body's schemas must be ["${PATCH_OP_SCHEMA}"]`);
  }
  const operations = keys.get('operations');
  if (!Array.isArray(operations) || operations.length === 0) throw scimErrors.invalidSyntax('A PATCH body needs a non-empty Operations array');
  if (operations.length > MAX_OPERATIONS) throw scimErrors.tooMany(`A PATCH body may hold at most ${MAX_OPERATIONS} operations`);
  const out: ScimPatchOperation[] = [];
  for (const raw of operations) {
    const operation = lowerKeys(asObject(raw, 'An operation'));
    const opValue = operation.get('op');
    if (typeof opValue !== 'string') throw scimErrors.invalidSyntax('Each operation needs an op: add, remove or replace');
    const op = opValue.trim().toLowerCase();
    if (op !== 'add' && op !== 'remove' && op !== 'replace') throw scimErrors.invalidSyntax(`Unknown operation "${opValue.slice(0, 20)}": use add, remove or replace`);
    const path = operation.get('path');
    if (path !== undefined && path !== null && (typeof path !== 'string' || path.length > 1024)) throw scimErrors.invalidPath('path must be a string');
    const value = operation.get('value');
    if (typeof path === 'string' && path.trim() !== '') {
      checkPath(path.trim());
      const top = topOfPath(path);
      if (READ_ONLY.has(top)) throw scimErrors.mutability(`${path} is read-only`);
      if (!WRITABLE.has(top)) continue;
      if (op === 'remove') out.push({ op, path: path.trim() });
      else if (COMPLEX.has(top) && !path.includes('.') && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const kept = flattenComplex({ [path.trim()]: value });
        if (Object.keys(kept).length > 0) out.push({ op, value: kept });
      } else out.push({ op, path: path.trim(), value });
      continue;
    }
    if (op === 'remove') throw scimErrors.noTarget('A remove operation needs a path');
    // No path: the value is an object of attributes (dotted keys allowed: "name.givenName").
    const values = asObject(value, 'The value of an operation without a path');
    const kept: Json = {};
    for (const [k, v] of Object.entries(flattenComplex(values))) {
      const top = topOfPath(k);
      if (READ_ONLY.has(top)) throw scimErrors.mutability(`${k} is read-only`);
      if (WRITABLE.has(top)) kept[k] = v;
    }
    if (Object.keys(kept).length > 0) out.push({ op, value: kept });
  }
  return out;
}

/** What a patched representation asks to change, compared with the user as they are (`view`: as SCIM showed them). */
function changesOf(before: ScimUserRecord, view: Json, after: Json): UpdateUserInput {
  const attrs = lowerKeys(after);
  const changes: UpdateUserInput = {};
  const userName = userNameOf(attrs);
  if (userName === undefined) throw scimErrors.mutability('userName is required and cannot be removed');
  const emailsTouched = JSON.stringify(after.emails ?? null) !== JSON.stringify(view.emails);
  const userNameTouched = !same(userName, String(view.userName));
  // While the userName is the email (the common case), changing one carries the other along; once they are apart,
  // or both are changed at once, each keeps its own value.
  const email = emailsTouched ? emailOf(attrs.get('emails')) : before.userName === null ? undefined : before.email;
  if (emailsTouched && email === undefined && emailProblem(normaliseEmail(userName)) !== null) {
    throw scimErrors.mutability('A user always has an email address: replace it rather than remove it');
  }
  const identity =
    before.userName === null && !userNameTouched && email !== undefined ? { email, userName: null } : identityOf(userName, email, before.email);
  if (!same(identity.email, before.email)) changes.email = identity.email;
  const wantedUserName = identity.userName === null ? null : identity.userName.trim().toLowerCase();
  if (wantedUserName !== before.userName) changes.userName = wantedUserName;
  const nameValue = attrs.get('name');
  const name = nameValue !== undefined && nameValue !== null ? lowerKeys(asObject(nameValue, 'name')) : new Map<string, unknown>();
  const firstName = optionalString(name.get('givenname'), 'name.givenName', MAX_NAME) ?? null;
  const lastName = optionalString(name.get('familyname'), 'name.familyName', MAX_NAME) ?? null;
  if (firstName !== before.firstName) changes.firstName = firstName;
  if (lastName !== before.lastName) changes.lastName = lastName;
  const activeValue = attrs.get('active');
  // Removing `active` would leave it unassigned; read as "true" it would silently enable a disabled user.
  if (activeValue === undefined || activeValue === null) throw scimErrors.mutability('active cannot be removed: replace it with true or false');
  const active = scimBoolean(activeValue, 'active');
  if (active !== before.enabled) changes.enabled = active;
  const externalId = optionalString(attrs.get('externalid'), 'externalId', MAX_EXTERNAL_ID) ?? null;
  if (externalId !== before.externalId) changes.externalId = externalId;
  const password = attrs.get('password');
  if (password !== undefined && password !== null) {
    if (typeof password !== 'string') throw scimErrors.invalidValue('password must be a string');
    changes.password = password;
  }
  return changes;
}

export function createScimUserService(deps: ScimUserServiceDeps) {
  const { users, queries } = deps;
  const randomPassword = deps.randomPassword ?? (() => `${randomBytes(24).toString('base64url')}-Aa1!`);

  async function find(id: string): Promise<ScimUserRecord> {
    const found = await queries.findById(id);
    if (!found) throw scimErrors.notFound(`User ${id} not found`);
    return found;
  }

  async function current(id: string, base: string, ifMatch: string | undefined) {
    const before = await find(id);
    const view = scimUserView(before, base);
    checkIfMatch(ifMatch, versionOf(view));
    return { before, view };
  }

  /**
   * Saves the changes; with If-Match, only if the user has not changed since `before` was read (the check holds to
   * the write). Without it, only the attributes this request changes are written, so concurrent changes of other
   * attributes all stand.
   */
  async function update(id: string, changes: UpdateUserInput, base: string, before: ScimUserRecord, ifMatch: string | undefined): Promise<Json> {
    if (Object.keys(changes).length > 0) await users.update(id, changes, ifMatch !== undefined ? before.updatedAt : undefined);
    return scimUserView(await find(id), base);
  }

  return {
    /** The full representation (not projected) with its version. */
    async get(id: string, base: string): Promise<Json> {
      return scimUserView(await find(id), base);
    },

    async create(body: unknown, base: string): Promise<Json> {
      const fields = fieldsOf(body);
      const identity = identityOf(fields.userName, fields.email);
      const { user } = await users.create({
        email: identity.email,
        userName: identity.userName,
        password: fields.password ?? randomPassword(),
        // Without a password the user holds one nobody knows: an administrator's reset (temporary) lets them in.
        temporary: fields.password === undefined,
        roles: [],
        firstName: fields.firstName,
        lastName: fields.lastName,
        externalId: fields.externalId ?? null,
        enabled: fields.active !== false,
      });
      return scimUserView(await find(user.id), base);
    },

    /** PUT: replaces the user's names and email; `active`, `externalId` and `password` change only when given. */
    async replace(id: string, body: unknown, base: string, ifMatch?: string): Promise<Json> {
      const fields = fieldsOf(body);
      const { before } = await current(id, base, ifMatch);
      const changes: UpdateUserInput = {};
      const identity = identityOf(fields.userName, fields.email, before.email);
      if (!same(identity.email, before.email)) changes.email = identity.email;
      const userName = identity.userName === null ? null : identity.userName.trim().toLowerCase();
      if (userName !== before.userName) changes.userName = userName;
      if (fields.firstName !== before.firstName) changes.firstName = fields.firstName;
      if (fields.lastName !== before.lastName) changes.lastName = fields.lastName;
      if (fields.active !== undefined && fields.active !== before.enabled) changes.enabled = fields.active;
      if (fields.externalId !== undefined && fields.externalId !== before.externalId) changes.externalId = fields.externalId;
      if (fields.password !== undefined) changes.password = fields.password;
      return update(id, changes, base, before, ifMatch);
    },

    /** PATCH (RFC 7644 §3.5.2), applied by `scim-patch` to the user as SCIM shows them, then saved in one update. */
    async patch(id: string, body: unknown, base: string, ifMatch?: string): Promise<Json> {
      const operations = normalisePatch(body);
      const { before, view } = await current(id, base, ifMatch);
      if (operations.length === 0) return view;
      let after: Json;
      try {
        after = scimPatch(structuredClone(view) as never, operations, { mutateDocument: true, treatMissingAsAdd: true }) as unknown as Json;
      } catch (err) {
        throw scimPatchError(err);
      }
      const changes = changesOf(before, view, after);
      return update(id, changes, base, before, ifMatch);
    },

    /** With If-Match, the user is deleted only if still unchanged since the version was checked (held to the delete). */
    async delete(id: string, base: string, ifMatch?: string): Promise<void> {
      const { before } = await current(id, base, ifMatch);
      await users.delete(id, ifMatch !== undefined ? before.updatedAt : undefined);
    },

    /** One page of users, projected. */
    async list(params: ListParams & { sortAttribute?: string }, base: string): Promise<ListResponse<Json>> {
      const filter = params.filter !== undefined ? parseScimFilter(params.filter, USER_RESOURCE) : undefined;
      const totalResults = await queries.count(filter);
      const offset = params.startIndex - 1;
      const records =
        params.count === 0 || offset >= totalResults
          ? []
          : await queries.list({
              ...(filter ? { filter } : {}),
              ...(params.sortAttribute ? { sortBy: params.sortAttribute } : {}),
              sortOrder: params.sortOrder,
              offset,
              limit: params.count,
            });
      return listResponse(totalResults, params.startIndex, records.map((r) => project(scimUserView(r, base), params.projection, USER_PROJECTION)));
    },

    project: (view: Json, projection: Projection) => project(view, projection, USER_PROJECTION),
    returns: (projection: Projection, attribute: string) => isReturned(projection, attribute, USER_PROJECTION),
  };
}

export type ScimUserService = ReturnType<typeof createScimUserService>;
