/**
 * What the SCIM Groups suites (test/scim/groups-*.test.ts) share: an app with a SCIM-PROVISIONER key, a request
 * function speaking application/scim+json, users made through the REST API, and the audit trail as written.
 */
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { AuditEvent } from '../../src/domain/audit.ts';
import { createAuditReader } from '../../src/store/audit-store.ts';
import { createUser, mintKey, testApp, testHasher, GOOD_PASSWORD, type TestApp } from '../helpers/app.ts';

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export interface Res {
  status: number;
  body: any;
  headers: LightMyRequestResponse['headers'];
}

export interface GroupsApp {
  t: TestApp;
  key: { id: string; key: string; auth: Record<string, string> };
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Res>;
  /** Users made through the REST API (as an administrator would), returned with their ids and emails. */
  users(n: number): Promise<{ id: string; email: string }[]>;
  /** Users inserted straight into the table (no events of their own), for bulk cases. */
  bulkUsers(n: number, tag: string): Promise<{ id: string; email: string }[]>;
  /** The audit events written by `change`. */
  written(change: () => Promise<unknown>): Promise<AuditEvent[]>;
}

export async function groupsApp(): Promise<GroupsApp> {
  const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0' });
  const key = await mintKey(t.app, ['SCIM-PROVISIONER']);
  const req = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> => {
    const res = await t.app.inject({
      method: method as 'GET',
      url: `/scim/v2${path}`,
      headers: { ...key.auth, ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...headers },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body), headers: res.headers };
  };
  const head = async () => (await createAuditReader(t.database.db).head()).seq;
  return {
    t,
    key,
    req,
    async users(n) {
      const out = [];
      for (let i = 0; i < n; i++) {
        const u = await createUser(t.app);
        out.push({ id: u.id, email: u.email });
      }
      return out;
    },
    async bulkUsers(n, tag) {
      const hash = await testHasher.hash(GOOD_PASSWORD);
      const at = Date.now() - 60_000;
      const rows = Array.from({ length: n }, (_, i) => ({
        id: `0190${tag.padEnd(4, '0').slice(0, 4)}-0000-7000-8000-${String(i).padStart(12, '0')}`,
        email: `${tag}${i}@example.com`,
        first_name: 'Bulk',
        last_name: `No${i}`,
        search_text: `${tag}${i}@example.com\nbulk\nno${i}`,
        password_hash: hash,
        password_temporary: 0,
        password_set_at: at,
        created_at: at,
        updated_at: at,
      }));
      for (let i = 0; i < rows.length; i += 400) await t.database.db.insertInto('users').values(rows.slice(i, i + 400)).execute();
      return rows.map((r) => ({ id: r.id, email: r.email }));
    },
    async written(change) {
      const before = await head();
      await change();
      const out: AuditEvent[] = [];
      for await (const e of createAuditReader(t.database.db).inOrder(before)) out.push(e);
      return out;
    },
  };
}

/** A SCIM error response (RFC 7644 §3.12): the status, as a string in the body too, and the scimType. */
export function assertScimError(res: Res, status: number, scimType?: string, what = ''): void {
  assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
  assert.match(String(res.headers['content-type']), /^application\/scim\+json/, what);
  assert.deepEqual(res.body.schemas, [ERROR_SCHEMA], what);
  assert.equal(res.body.status, String(status), what);
  if (scimType === undefined) assert.equal(res.body.scimType, undefined, what);
  else assert.equal(res.body.scimType, scimType, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(typeof res.body.detail, 'string', what);
}

export const patchOp = (...operations: unknown[]) => ({ schemas: [PATCH_OP], Operations: operations });

/** The member ids of a group, as SCIM shows them. */
export async function memberIds(app: GroupsApp, groupId: string): Promise<string[]> {
  const res = await app.req('GET', `/Groups/${groupId}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return ((res.body.members ?? []) as { value: string }[]).map((m) => m.value).sort();
}
