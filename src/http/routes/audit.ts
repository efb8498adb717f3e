import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Readable } from 'node:stream';
import { AUDIT_ACTIONS, auditExportLine, type AuditEvent } from '../../domain/audit.ts';
import type { AuditTrail } from '../../domain/audit-log.ts';
import type { ChainVerification, VerificationState } from '../../domain/audit-verification.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../domain/paging.ts';
import { API_KEY_SECURITY, ErrorDetail, protectedErrors } from '../schemas.ts';
import { auditEventView } from '../views/audit-event-view.ts';

const OptionalText = Type.Union([Type.String(), Type.Null()]);

const AuditEventResponse = Type.Object(
  {
    seq: Type.Integer({ description: 'Position in the chain: 1, 2, 3… with no gaps.' }),
    at: Type.String({ format: 'date-time' }),
    actor: Type.Object({
      kind: Type.Unsafe<string>({ type: 'string', enum: ['user', 'api_key', 'admin_key', 'system', 'anonymous', 'cli'] }),
      id: OptionalText,
    }),
    action: Type.Unsafe<string>({ type: 'string', enum: [...AUDIT_ACTIONS] }),
    target: Type.Union([Type.Object({ type: Type.String(), id: OptionalText }), Type.Null()]),
    outcome: Type.Unsafe<string>({ type: 'string', enum: ['success', 'failure'] }),
    request_id: OptionalText,
    client_ip: OptionalText,
    user_agent: OptionalText,
    details: Type.Record(Type.String(), Type.Unknown(), { description: 'What changed or why it failed; never a secret.' }),
    prev_hash: Type.String({ description: 'The previous event’s hash (64 zeros before the first).' }),
    hash: Type.String({ description: 'SHA-256 over the previous hash and this event’s canonical content.' }),
  },
  { title: 'AuditEvent' },
);

const AuditPage = Type.Object(
  {
    items: Type.Array(AuditEventResponse),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next (older) page; null on the last.' }),
  },
  { title: 'AuditPage' },
);

const Id = Type.String({ maxLength: 1024 });
const Filters = {
  action: Type.Optional(Type.String({ maxLength: 64, description: `One of: ${AUDIT_ACTIONS.join(', ')}.` })),
  outcome: Type.Optional(Type.String({ maxLength: 16, description: '`success` or `failure`.' })),
  from: Type.Optional(Type.String({ maxLength: 40, description: 'Events at or after this ISO 8601 time.' })),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'Events before this ISO 8601 time.' })),
  page_size: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: `Page size, 1–${MAX_PAGE_SIZE}.` }),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'The `next_cursor` of the previous page (opaque).' })),
};
const AuditQuery = Type.Object({
  actor: Type.Optional({ ...Id, description: 'Actor id: a user id, an API key id or `admin-key`.' }),
  target: Type.Optional({ ...Id, description: 'Target id: a user, group, API key or client id.' }),
  ...Filters,
});
const UserAuditQuery = Type.Object(Filters);

const Seq = Type.Union([Type.Integer(), Type.Null()]);
const Instant = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

const VerificationResponse = Type.Object(
  {
    status: Type.Unsafe<string>({
      type: 'string',
      enum: ['ok', 'broken', 'pending'],
      description: '`ok`: every event from `first_seq` to `last_seq` follows the one before it, unchanged, and the chain ends where `audit_head` says. `broken`: `problem` names the first bad event. `pending`: this server has not finished its first pass yet.',
    }),
    checked: Type.Integer({ description: 'Events verified: the run from `first_seq` to `last_seq`.' }),
    first_seq: Seq,
    last_seq: Seq,
    verified_at: { ...Instant, description: 'When the latest pass ended (new events are checked every minute).' },
    full_verified_at: { ...Instant, description: 'When the latest pass over the whole chain ended (at start, then daily): edits to older events show from then on.' },
    problem: Type.Optional(
      Type.Object({
        seq: Type.Integer({ description: 'The first bad event.' }),
        kind: Type.Unsafe<string>({ type: 'string', enum: ['modified', 'missing', 'truncated'] }),
        detail: Type.String(),
      }),
    ),
  },
  { title: 'AuditVerification' },
);

function verificationView(s: VerificationState) {
  if (s.status === 'pending') return { status: s.status, checked: 0, first_seq: null, last_seq: null, verified_at: null, full_verified_at: null };
  return {
    status: s.status,
    checked: s.checked,
    first_seq: s.firstSeq,
    last_seq: s.lastSeq,
    verified_at: new Date(s.verifiedAt).toISOString(),
    full_verified_at: new Date(s.fullVerifiedAt).toISOString(),
    ...(s.problem ? { problem: { seq: s.problem.seq, kind: s.problem.kind, detail: s.problem.detail } } : {}),
  };
}

/** A result older than this (no background job ran, e.g. an app built without the server) starts a pass. */
const STALE_MS = 60_000;

const tags = ['Audit'];

/** The audit trail, read-only (`audit:read`). Mounted inside the authenticated context. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ trail: AuditTrail & { verification: ChainVerification } }> = async (app, { trail }) => {
  app.get(
    '/audit',
    {
      config: { access: { permission: 'audit:read' } },
      schema: {
        operationId: 'list_audit_events_audit_get',
        summary: 'List Audit Events',
        tags,
        description: 'Every recorded change and security event, newest first, filtered by any combination of actor, target, action, outcome and time.',
        security: API_KEY_SECURITY,
        querystring: AuditQuery,
        response: { 200: AuditPage, ...protectedErrors() },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await trail.page({ actorId: q.actor, targetId: q.target, action: q.action, outcome: q.outcome, from: q.from, to: q.to, pageSize: q.page_size, cursor: q.cursor });
      return { items: page.items.map(auditEventView), next_cursor: page.next };
    },
  );

  app.get(
    '/audit/export',
    {
      config: { access: { permission: 'audit:read' } },
      schema: {
        operationId: 'export_audit_events_audit_export_get',
        summary: 'Export Audit Events',
        tags,
        description:
          'The trail as JSON Lines for a SIEM, oldest first, streamed: one object per event, `at` in epoch milliseconds exactly as hashed ' +
          '(so the chain can be recomputed) and `time` in ISO 8601. Pull what is new with `after` set to the last `seq` collected. ' +
          'The same lines as `gatehouse audit export`.',
        security: API_KEY_SECURITY,
        querystring: Type.Object({
          from: Filters.from,
          to: Filters.to,
          after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Only events with a larger `seq`.' })),
        }),
        response: {
          200: { description: 'One audit event per line (`application/x-ndjson`).', content: { 'application/x-ndjson': { schema: Type.String() } } },
          ...protectedErrors(),
        },
      },
    },
    async (request, reply) => {
      const batches = trail.export(request.query);
      reply.type('application/x-ndjson; charset=utf-8');
      // A stream is sent as it is (no serializer); the schema above only documents the lines.
      return reply.send(Readable.from(lines(batches)) as never);
    },
  );

  app.get(
    '/audit/verification',
    {
      config: { access: { permission: 'audit:read' } },
      schema: {
        operationId: 'get_audit_verification_audit_verification_get',
        summary: 'Get Audit Chain Verification',
        tags,
        description:
          "The latest result of this server's background check of the hash chain, answered at once: the whole chain at start " +
          'and daily, the new events every minute. `gatehouse audit verify` checks the whole chain on demand.',
        security: API_KEY_SECURITY,
        response: { 200: VerificationResponse, ...protectedErrors() },
      },
    },
    async (request) => {
      const { verification } = trail;
      // Normally the background job keeps the result fresh; without it, a stale result starts a pass (not awaited).
      if (verification.staleAfter(STALE_MS)) {
        verification.run().catch((err: unknown) => request.log.warn({ err }, 'could not verify the audit chain'));
      }
      return verificationView(verification.state());
    },
  );

  app.get(
    '/users/:user_id/audit',
    {
      config: { access: { permission: 'audit:read' } },
      schema: {
        operationId: 'list_user_audit_events_users_user_id_audit_get',
        summary: 'List User Audit Events',
        tags,
        description: 'What the user did and what was done to them, newest first. Works for deleted users too.',
        security: API_KEY_SECURITY,
        params: Type.Object({ user_id: { ...Id, description: 'User id, not email.' } }),
        querystring: UserAuditQuery,
        response: { 200: AuditPage, 404: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await trail.page({ involving: request.params.user_id, action: q.action, outcome: q.outcome, from: q.from, to: q.to, pageSize: q.page_size, cursor: q.cursor });
      return { items: page.items.map(auditEventView), next_cursor: page.next };
    },
  );
};

async function* lines(batches: AsyncIterable<AuditEvent[]>): AsyncGenerator<string> {
  for await (const events of batches) yield events.map((e) => auditExportLine(e) + '\n').join('');
}
