import { parse, type Filter as LibFilter } from 'scim2-parse-filter';
import { scimErrors } from './scim-errors.ts';

/**
 * SCIM filters (RFC 7644 §3.4.2.2), parsed by `scim2-parse-filter` and then checked against what one resource type
 * can be filtered by: every attribute must be one the resource type names (so the store can translate it to SQL over
 * its columns), every operator must suit the attribute's type, and every value must be of that type. Anything else —
 * a syntax error, an unknown attribute, `gt` on a boolean, a string compared with a number — is 400 `invalidFilter`.
 * The result is a small AST whose attribute names are the resource type's canonical names.
 */

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

export type ScimFilter =
  | { op: 'and' | 'or'; filters: ScimFilter[] }
  | { op: 'not'; filter: ScimFilter }
  | { op: 'pr'; attr: string }
  /** `value` is a string for string attributes, a boolean for booleans, epoch milliseconds for dateTimes. */
  | { op: CompareOp; attr: string; value: string | boolean | number }
  /** `attr[filter]`: `filter`'s attributes are the canonical sub-attribute names (`members.value`). */
  | { op: 'valuePath'; attr: string; filter: ScimFilter };

export type ScimAttributeType = 'string' | 'boolean' | 'dateTime' | 'reference' | 'integer';

export interface FilterableAttribute {
  /** Canonical name: `userName`, `name.givenName`, `emails.value`, `meta.lastModified`. */
  name: string;
  type: ScimAttributeType;
  /** Strings compared exactly (true) or case-insensitively (false: `userName`, emails). Default false. */
  caseExact?: boolean;
  /**
   * A multi-valued complex attribute (`emails`, `members`): it may head a value path (`emails[type eq "work"]`),
   * and used alone in a comparison it stands for its `value` sub-attribute.
   */
  multiValued?: boolean;
  /** Whether `sortBy` may name it (the store can order by it with an index or cheaply). Default false. */
  sortable?: boolean;
}

/** What one resource type can be filtered and sorted by. */
export interface FilterableResource {
  /** The core schema URN (`urn:ietf:params:scim:schemas:core:2.0:User`): a prefix that may be written before names. */
  schema: string;
  /** Extension schema URNs whose attributes are listed as `<urn>:<name>` in `attributes`. */
  extensions?: readonly string[];
  attributes: readonly FilterableAttribute[];
}

/** A filter longer than this is refused before parsing (a filter is one line in a query string). */
export const MAX_FILTER_LENGTH = 4096;
/** Comparisons in one filter at most: each one is a condition on every candidate row. */
export const MAX_FILTER_TERMS = 50;
const MAX_NESTING = 32;

/**
 * Resolves an attribute path as a client may write it — any case, optionally prefixed by the schema URN — to the
 * resource type's attribute, or undefined.
 */
export function resolveAttribute(resource: FilterableResource, path: string): FilterableAttribute | undefined {
  let name = path;
  const lower = path.toLowerCase();
  const core = resource.schema.toLowerCase() + ':';
  if (lower.startsWith(core)) name = path.slice(core.length);
  const wanted = name.toLowerCase();
  const found = resource.attributes.find((a) => a.name.toLowerCase() === wanted);
  // A multi-valued complex attribute alone stands for its `value` (RFC 7644 §3.4.2.2).
  if (found?.multiValued) return resource.attributes.find((a) => a.name.toLowerCase() === `${wanted}.value`);
  return found;
}

/** Parses and checks a filter for `resource`; throws 400 `invalidFilter` for anything it cannot answer. */
export function parseScimFilter(text: string, resource: FilterableResource): ScimFilter {
  if (typeof text !== 'string' || text.trim() === '') throw scimErrors.invalidFilter('The filter is empty');
  if (text.length > MAX_FILTER_LENGTH) throw scimErrors.invalidFilter(`The filter is longer than ${MAX_FILTER_LENGTH} characters`);
  let depth = 0;
  for (const ch of text) {
    if (ch === '(' || ch === '[') depth += 1;
    else if (ch === ')' || ch === ']') depth -= 1;
    if (depth > MAX_NESTING) throw scimErrors.invalidFilter(`The filter nests more than ${MAX_NESTING} levels deep`);
  }
  let ast: LibFilter;
  try {
    ast = parse(text);
  } catch {
    throw scimErrors.invalidFilter('The filter is not valid SCIM filter syntax');
  }
  const counter = { terms: 0 };
  return check(ast, resource, undefined, counter, 0);
}

type Counter = { terms: number };

function check(node: LibFilter, resource: FilterableResource, within: FilterableAttribute | undefined, counter: Counter, level: number): ScimFilter {
  if (level > MAX_NESTING * 2) throw scimErrors.invalidFilter(`The filter nests more than ${MAX_NESTING} levels deep`);
  if (!node || typeof node !== 'object') throw scimErrors.invalidFilter('The filter is not valid SCIM filter syntax');
  switch (node.op) {
    case 'and':
    case 'or': {
      const filters = (node as { filters: LibFilter[] }).filters.map((f) => check(f, resource, within, counter, level + 1));
      return { op: node.op, filters };
    }
    case 'not':
      return { op: 'not', filter: check((node as { filter: LibFilter }).filter, resource, within, counter, level + 1) };
    case '[]': {
      const { attrPath, valFilter } = node as { attrPath: string; valFilter: LibFilter };
      if (within) throw scimErrors.invalidFilter('A value path cannot be nested in another');
      const parent = multiValuedAttribute(resource, attrPath);
      if (!parent) throw scimErrors.invalidFilter(`${attrPath} is not a multi-valued attribute that can be filtered`);
      return { op: 'valuePath', attr: parent.name, filter: check(valFilter, resource, parent, counter, level + 1) };
    }
    case 'pr': {
      counter.terms += 1;
      if (counter.terms > MAX_FILTER_TERMS) throw scimErrors.invalidFilter(`The filter has more than ${MAX_FILTER_TERMS} comparisons`);
      const attr = attributeOf(resource, within, (node as { attrPath: string }).attrPath);
      return { op: 'pr', attr: attr.name };
    }
    case 'eq':
    case 'ne':
    case 'co':
    case 'sw':
    case 'ew':
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le': {
      counter.terms += 1;
      if (counter.terms > MAX_FILTER_TERMS) throw scimErrors.invalidFilter(`The filter has more than ${MAX_FILTER_TERMS} comparisons`);
      const { attrPath, compValue } = node as { attrPath: string; compValue: unknown };
      const attr = attributeOf(resource, within, attrPath);
      return { op: node.op, attr: attr.name, value: comparable(attr, node.op, compValue) };
    }
    default:
      throw scimErrors.invalidFilter(`Unsupported filter operator ${String((node as { op?: unknown }).op)}`);
  }
}

function multiValuedAttribute(resource: FilterableResource, path: string): FilterableAttribute | undefined {
  let name = path.toLowerCase();
  const core = resource.schema.toLowerCase() + ':';
  if (name.startsWith(core)) name = name.slice(core.length);
  return resource.attributes.find((a) => a.multiValued && a.name.toLowerCase() === name);
}

function attributeOf(resource: FilterableResource, within: FilterableAttribute | undefined, path: string): FilterableAttribute {
  if (typeof path !== 'string' || path === '') throw scimErrors.invalidFilter('The filter names no attribute');
  // Inside `emails[...]` names are relative (`type`, `value`); the parser also writes `emails.value` after `].`.
  const full = within && !path.toLowerCase().startsWith(within.name.toLowerCase() + '.') ? `${within.name}.${path}` : path;
  const attr = resolveAttribute(resource, full);
  if (!attr || attr.multiValued) throw scimErrors.invalidFilter(`The filter names ${path}, which cannot be filtered on`);
  if (within && !attr.name.toLowerCase().startsWith(within.name.toLowerCase() + '.')) {
    throw scimErrors.invalidFilter(`${path} is not a sub-attribute of ${within.name}`);
  }
  return attr;
}

const ORDERING: ReadonlySet<string> = new Set(['gt', 'ge', 'lt', 'le']);
const SUBSTRING: ReadonlySet<string> = new Set(['co', 'sw', 'ew']);

function comparable(attr: FilterableAttribute, op: CompareOp, value: unknown): string | boolean | number {
  switch (attr.type) {
    case 'boolean': {
      if (op !== 'eq' && op !== 'ne') throw scimErrors.invalidFilter(`${op} cannot compare the boolean ${attr.name}`);
      if (typeof value === 'boolean') return value;
      // Some identity providers quote booleans.
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw scimErrors.invalidFilter(`${attr.name} is compared with a boolean, true or false`);
    }
    case 'dateTime': {
      if (SUBSTRING.has(op)) throw scimErrors.invalidFilter(`${op} cannot compare the dateTime ${attr.name}`);
      const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
      if (!Number.isFinite(ms)) throw scimErrors.invalidFilter(`${attr.name} is compared with a dateTime such as "2026-01-31T12:00:00Z"`);
      return ms;
    }
    case 'integer': {
      if (SUBSTRING.has(op)) throw scimErrors.invalidFilter(`${op} cannot compare the integer ${attr.name}`);
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw scimErrors.invalidFilter(`${attr.name} is compared with an integer`);
      return value;
    }
    default: {
      if (typeof value !== 'string') throw scimErrors.invalidFilter(`${attr.name} is compared with a string in double quotes`);
      if (ORDERING.has(op) && attr.type === 'reference') throw scimErrors.invalidFilter(`${op} cannot compare the reference ${attr.name}`);
      if (value.length > 1024) throw scimErrors.invalidFilter('A filter value is longer than 1024 characters');
      return value;
    }
  }
}

/** Calls `visit` on every comparison and presence test of `filter` (value paths included). */
export function filterComparisons(filter: ScimFilter, visit: (node: Extract<ScimFilter, { attr: string }>) => void): void {
  switch (filter.op) {
    case 'and':
    case 'or':
      for (const f of filter.filters) filterComparisons(f, visit);
      return;
    case 'not':
      filterComparisons(filter.filter, visit);
      return;
    case 'valuePath':
      visit(filter);
      filterComparisons(filter.filter, visit);
      return;
    default:
      visit(filter);
  }
}
