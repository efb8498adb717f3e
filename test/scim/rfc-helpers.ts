/**
 * What the black-box SCIM suites (rfc-*, okta-*, entra-*, test/fuzz/scim-*) share: an app with a SCIM-PROVISIONER
 * key, a request function speaking application/scim+json, and checks written from RFC 7643 / RFC 7644 — not from
 * the implementation.
 */
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, mintKey, testApp, type TestApp } from '../helpers/app.ts';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

/** RFC 7644 §3.12, table 9: every scimType a 400 may carry. */
export const SCIM_TYPES = ['invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'invalidVers', 'sensitive'];

export const BASE = '/scim/v2';

export interface ScimResponse {
  status: number;
  body: any;
  headers: LightMyRequestResponse['headers'];
  raw: LightMyRequestResponse;
}

export interface ScimClient {
  t: TestApp;
  /** The SCIM-PROVISIONER key: its id is the actor of every change it makes. */
  key: { id: string; key: string; auth: Record<string, string> };
  /** A request under /scim/v2 with the provisioning key, bodies sent as application/scim+json. */
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ScimResponse>;
}

export async function scimClient(env: Record<string, string> = {}): Promise<ScimClient> {
  const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', ...env });
  const key = await mintKey(t.app, ['SCIM-PROVISIONER']);
  const req = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ScimResponse> => {
    const res = await t.app.inject({
      method: method as 'GET',
      url: path.startsWith('/') && !path.startsWith(BASE) ? `${BASE}${path}` : path,
      headers: {
        ...key.auth,
        accept: 'application/scim+json',
        ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    let parsed: unknown;
    try {
      parsed = res.body === '' ? undefined : JSON.parse(res.body);
    } catch {
      parsed = res.body;
    }
    return { status: res.statusCode, body: parsed, headers: res.headers, raw: res };
  };
  return { t, key, req };
}

export const q = (s: string) => encodeURIComponent(s);

/** Describes a response for assertion messages. */
export const show = (res: ScimResponse) => `${res.status} ${res.raw.body.slice(0, 600)}`;

/** RFC 7644 §3.1 / §8.1: SCIM responses are application/scim+json. */
export function assertScimContentType(res: ScimResponse): void {
  assert.match(String(res.headers['content-type'] ?? ''), /^application\/scim\+json\b/, `content type of ${show(res)}: ${String(res.headers['content-type'])}`);
}

export function assertStatus(res: ScimResponse, status: number): void {
  assert.equal(res.status, status, `expected ${status}, got ${show(res)}`);
}

/**
 * RFC 7644 §3.12: an error is `{"schemas": [Error URN], "status": "<code as a string>", "scimType"?, "detail"?}`.
 * With `scimType`, that exact one (a string) or one of several (an array: where the RFC allows more than one).
 */
export function assertScimError(res: ScimResponse, status: number, scimType?: string | string[]): void {
  assert.equal(res.status, status, `expected a ${status} SCIM error${scimType ? ` (${String(scimType)})` : ''}, got ${show(res)}`);
  assertScimContentType(res);
  const b = res.body;
  assert.ok(b !== null && typeof b === 'object' && !Array.isArray(b), `error body is an object: ${show(res)}`);
  assert.deepEqual(b.schemas, [ERROR_SCHEMA], `error schemas: ${show(res)}`);
  assert.equal(b.status, String(status), `error status is the code as a string: ${show(res)}`);
  if (b.detail !== undefined) assert.equal(typeof b.detail, 'string', `detail is a string: ${show(res)}`);
  if (b.scimType !== undefined) assert.ok(SCIM_TYPES.includes(b.scimType), `scimType ${b.scimType} is one of RFC 7644's`);
  if (typeof scimType === 'string') assert.equal(b.scimType, scimType, `scimType: ${show(res)}`);
  if (Array.isArray(scimType)) assert.ok(scimType.includes(b.scimType), `scimType one of ${scimType.join(', ')}: ${show(res)}`);
}

/** RFC 7644 §3.4.2: a ListResponse. */
export function assertListResponse(res: ScimResponse, totalResults?: number): any[] {
  assertStatus(res, 200);
  assertScimContentType(res);
  const b = res.body;
  assert.deepEqual(b.schemas, [LIST_RESPONSE], `ListResponse schemas: ${show(res)}`);
  assert.ok(Number.isInteger(b.totalResults), `totalResults: ${show(res)}`);
  if (totalResults !== undefined) assert.equal(b.totalResults, totalResults, `totalResults: ${show(res)}`);
  const resources = b.Resources ?? [];
  assert.ok(Array.isArray(resources), `Resources is an array: ${show(res)}`);
  if (b.itemsPerPage !== undefined) assert.equal(b.itemsPerPage, resources.length, `itemsPerPage is the page's size: ${show(res)}`);
  return resources;
}

/** RFC 7643 §3.1 / RFC 7644 §3.14: meta with created, lastModified, version (an ETag), location; the ETag header matches. */
export function assertMeta(resource: any, resourceType: 'User' | 'Group', res?: ScimResponse): void {
  const meta = resource.meta;
  assert.ok(meta && typeof meta === 'object', `meta: ${JSON.stringify(resource)}`);
  assert.equal(meta.resourceType, resourceType);
  for (const k of ['created', 'lastModified']) {
    assert.equal(typeof meta[k], 'string', `meta.${k}`);
    assert.ok(!Number.isNaN(Date.parse(meta[k])), `meta.${k} is a date-time: ${meta[k]}`);
  }
  assert.match(meta.version, /^(W\/)?"[^"]*"$/, `meta.version is an entity tag: ${meta.version}`);
  assert.match(meta.location, new RegExp(`${BASE}/${resourceType}s/${resource.id}$`), `meta.location: ${meta.location}`);
  if (res) assert.equal(res.headers.etag, meta.version, 'the ETag header is meta.version');
}

/** Events of the audit trail made by `actorId`, oldest first (read with the admin key). */
export async function auditBy(t: TestApp, actorId: string): Promise<{ action: string; actor: { kind: string; id: string }; target: { type: string; id: string } | null }[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const res: { statusCode: number; body: string } = await t.app.inject({ method: 'GET', url: `/audit?actor=${q(actorId)}&page_size=500${cursor ? `&cursor=${q(cursor)}` : ''}`, headers: ADMIN });
    assert.equal(res.statusCode, 200, res.body);
    const page = JSON.parse(res.body);
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return out.reverse();
}

let n = 0;
/** A unique email-shaped userName. */
export function uniqueEmail(prefix = 'user'): string {
  n += 1;
  return `${prefix}.${n}.${Date.now().toString(36)}@example.com`;
}

/** RFC 7643 §8.1's minimal user, with an email userName (Gatehouse's userName is the email). */
export function minimalUser(userName = uniqueEmail(), extra: Record<string, unknown> = {}) {
  return { schemas: [USER_SCHEMA], userName, name: { givenName: 'Given', familyName: 'Family' }, ...extra };
}
