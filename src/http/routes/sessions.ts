import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { Type } from 'typebox';
import { hasPermission, type Permission } from '../../domain/access.ts';
import { errors } from '../../domain/errors.ts';
import type { Principal } from '../../domain/principal.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../domain/paging.ts';
import type { SessionSummary } from '../../domain/sign-in-ports.ts';
import type { UserSessionService } from '../../domain/user-sessions.ts';
import { API_KEY_SECURITY, ErrorDetail, protectedErrors } from '../schemas.ts';

const Timestamp = Type.String({ format: 'date-time' });
const OptionalText = Type.Union([Type.String(), Type.Null()]);

const SessionResponse = Type.Object(
  {
    id: Type.String(),
    created_at: Timestamp,
    last_used_at: Type.Union([Timestamp, Type.Null()], {
      description: 'The last refresh-token grant or request with one of its access tokens; recorded at most once a minute.',
    }),
    auth_time: { ...Timestamp, description: 'When the user last entered their password in this session.' },
    expires_at: Type.Union([Timestamp, Type.Null()], { description: 'Null: the session lasts as long as its refresh tokens (a token login).' }),
    client_ip: { ...OptionalText, description: 'Where it was last used from.' },
    user_agent: { ...OptionalText, description: 'The user agent of its last use, at most 300 characters.' },
    kind: Type.Unsafe<'browser' | 'token'>({
      type: 'string',
      enum: ['browser', 'token'],
      description: '`browser`: single sign-on from a browser; `token`: a password-grant login.',
    }),
    clients: Type.Array(Type.String(), { description: 'The client ids holding tokens issued in this session.' }),
  },
  { title: 'SessionResponse' },
);

const SessionPage = Type.Object(
  {
    items: Type.Array(SessionResponse),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last.' }),
  },
  { title: 'SessionPage' },
);

const UserIdParams = Type.Object({ user_id: Type.String({ description: 'User id, not email.' }) });
const SessionParams = Type.Object({ user_id: Type.String({ description: 'User id, not email.' }), session_id: Type.String() });

const ListQuery = Type.Object({
  page_size: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: `Page size, 1–${MAX_PAGE_SIZE}.` }),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'The `next_cursor` of the previous page (opaque).' })),
});

const NoContent = Type.Null({ description: 'Ended.' });

const tags = ['Sessions'];

// Token-only logins never expire by themselves: their expiry is the largest safe integer in the database.
const iso = (ms: number) => new Date(ms).toISOString();

export function sessionView(s: SessionSummary) {
  return {
    id: s.id,
    created_at: iso(s.createdAt),
    last_used_at: s.lastUsedAt === null ? null : iso(s.lastUsedAt),
    auth_time: iso(s.authTime),
    expires_at: s.expiresAt >= Number.MAX_SAFE_INTEGER ? null : iso(s.expiresAt),
    client_ip: s.clientIp,
    user_agent: s.userAgent,
    kind: s.kind,
    clients: s.clientIds,
  };
}

/** A route's access rule: the permission, or the user themselves (signed in, with an access token). */
function permissionOrSelf(permission: Permission) {
  return (principal: Principal, request: FastifyRequest) => {
    const own = principal.kind === 'user' && principal.id === (request.params as { user_id?: string }).user_id;
    return own || hasPermission(principal.roles, permission) ? null : errors.forbidden();
  };
}

/**
 * A hook for the authenticated context (after the auth plugin): every response to a request authenticated with an
 * access token records a use of the token's session. Runs after the response is sent and never fails it.
 */
export function recordSessionUse(userSessions: UserSessionService) {
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const sessionId = (request.principal as Principal | null)?.sessionId;
    if (sessionId !== undefined) userSessions.touch(sessionId, request.ip, request.headers['user-agent']);
    done();
  };
}

/** A user's login sessions: list the live ones, end one, end all. Mounted inside the authenticated context. */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ userSessions: UserSessionService }> = async (app, { userSessions }) => {
  app.get(
    '/users/:user_id/sessions',
    {
      config: { access: { check: permissionOrSelf('users:read') } },
      schema: {
        operationId: 'list_user_sessions_users_user_id_sessions_get',
        summary: 'List User Sessions',
        tags,
        description:
          "The user's live login sessions (browser sign-ins and password-grant logins), newest first. Open to " +
          'callers with `users:read` and to the user themselves.',
        security: API_KEY_SECURITY,
        params: UserIdParams,
        querystring: ListQuery,
        response: { 200: SessionPage, 404: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request) => {
      const { page_size, cursor } = request.query;
      const page = await userSessions.list(request.params.user_id, { pageSize: page_size, cursor });
      return { items: page.items.map(sessionView), next_cursor: page.next };
    },
  );

  app.delete(
    '/users/:user_id/sessions/:session_id',
    {
      config: { access: { check: permissionOrSelf('users:write') } },
      schema: {
        operationId: 'end_user_session_users_user_id_sessions_session_id_delete',
        summary: 'End User Session',
        tags,
        description:
          'Ends the session: its access and refresh tokens stop working at once on this replica and within ' +
          '`GATEHOUSE_AUTH_CACHE_TTL_MS` on the others. Open to callers with `users:write` and to the user themselves.',
        security: API_KEY_SECURITY,
        params: SessionParams,
        response: { 204: NoContent, 404: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request, reply) => {
      await userSessions.end(request.params.user_id, request.params.session_id);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/users/:user_id/sessions',
    {
      config: { access: { check: permissionOrSelf('users:write') } },
      schema: {
        operationId: 'end_user_sessions_users_user_id_sessions_delete',
        summary: 'End All User Sessions',
        tags,
        description:
          "Ends every session of the user (the caller's own too, when a user signs themselves out everywhere). " +
          'Open to callers with `users:write` and to the user themselves.',
        security: API_KEY_SECURITY,
        params: UserIdParams,
        response: { 204: NoContent, 404: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request, reply) => {
      await userSessions.endAll(request.params.user_id);
      return reply.code(204).send(null);
    },
  );
};
