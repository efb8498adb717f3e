import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Readable } from 'node:stream';
import { can } from '../../domain/access.ts';
import { errors } from '../../domain/errors.ts';
import type { Principal } from '../../domain/principal.ts';
import type { UserExport } from '../../domain/user-export.ts';
import { mayResetPasswordOf, type UserService } from '../../domain/users.ts';
import { exportFileName, USER_EXPORT_COLUMNS, userCsvChunks } from '../user-export-csv.ts';
import { userView } from '../views/user-view.ts';
import {
  ActionEnum,
  API_KEY_SECURITY,
  ErrorDetail,
  PasswordField,
  protectedErrors,
  ResourceEnum,
  RoleNames,
  SortEnum,
  UserFilterQuery,
  UserResponse,
} from '../schemas.ts';

const CreateUserRequest = Type.Object(
  {
    email: Type.String({ description: 'A valid address, at most 254 characters; stored trimmed and lower-cased.' }),
    password: PasswordField,
    temporary: Type.Boolean({ default: true, description: 'The password must be changed at first login.' }),
    roles: RoleNames(50),
    firstName: Type.String({ maxLength: 100 }),
    lastName: Type.String({ maxLength: 100 }),
  },
  { title: 'CreateUserRequest' },
);

const PasswordResetRequest = Type.Object({ password: PasswordField }, { title: 'PasswordResetRequest' });

const UserIdParams = Type.Object({ user_id: Type.String({ description: 'User id, not email.' }) });

const SearchQuery = Type.Object({
  search_string: Type.Optional(
    Type.String({ maxLength: 200, description: 'Substring to match on. Will search first name, last name, email.' }),
  ),
  sort: Type.Optional(SortEnum),
  page_size: Type.Integer({ minimum: 1, maximum: 5000, default: 10, description: 'Page size, 1–5000.' }),
  // Any page number is fine (past the end is []); the maximum only keeps "Infinity" and 1e400 out, which would
  // otherwise pass ajv's integer check.
  page: Type.Integer({ minimum: 0, maximum: Number.MAX_VALUE, default: 0, description: 'Page number, from 0.' }),
  ...UserFilterQuery,
});

const ExportQuery = Type.Object({
  search_string: SearchQuery.properties.search_string,
  sort: Type.Optional({ ...SortEnum, description: 'Creation order: `desc` (newest first, the default) or `asc`.' }),
  ...UserFilterQuery,
});

const PermissionQuery = Type.Object({
  action: Type.Optional({ ...ActionEnum, description: 'Action to check permissions of.' }),
  resource: Type.Optional({ ...ResourceEnum, description: 'Resource to check permissions of.' }),
});

const PermissionAllowed = Type.Object({
  allowed: Type.Boolean(),
  action: Type.String(),
  resource: Type.String(),
  granted_by: Type.Array(Type.String()),
});

const PermissionDenied = Type.Object({
  detail: Type.String(),
  allowed: Type.Boolean(),
  action: Type.String(),
  resource: Type.String(),
});

const MeResponse = Type.Object({
  user_id: Type.String(),
  kind: Type.String(),
  roles: Type.Array(Type.String()),
  email: Type.Union([Type.String(), Type.Null()]),
  first_name: Type.Union([Type.String(), Type.Null()]),
  last_name: Type.Union([Type.String(), Type.Null()]),
  org_scope: Type.Null(),
  org: Type.Null(),
});

export function meView(p: Principal) {
  return {
    user_id: p.id,
    kind: p.kind,
    roles: [...p.roles],
    email: p.email,
    first_name: p.firstName,
    last_name: p.lastName,
    org_scope: null,
    org: null,
  };
}

/**
 * The seed's five operations (CONTRACT.md §3), `/users/me`, and the CSV export of a search. Mounted inside the
 * authenticated context.
 */
export const userRoutes: FastifyPluginAsyncTypebox<{ users: UserService; exporter: UserExport; now?: () => number }> = async (
  app,
  { users, exporter, now = Date.now },
) => {
  app.post(
    '/users',
    {
      config: { access: { permission: 'users:write' } },
      schema: {
        operationId: 'create_user_users_post',
        summary: 'Create User',
        tags: ['User Management'],
        description: 'Creates a new user with roles and a password that is temporary unless `temporary` is false.',
        security: API_KEY_SECURITY,
        body: CreateUserRequest,
        response: { 200: UserResponse, 400: ErrorDetail, 409: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request) => {
      const { email, password, temporary, roles, firstName, lastName } = request.body;
      return userView(await users.create({ email, password, temporary, roles, firstName, lastName }));
    },
  );

  app.delete(
    '/users/:user_id',
    {
      config: { access: { permission: 'users:write' } },
      schema: {
        operationId: 'delete_user_users_user_id_delete',
        summary: 'Delete User',
        tags: ['User Management'],
        description: 'Delete a user. Their access and refresh tokens stop working at once.',
        security: API_KEY_SECURITY,
        params: UserIdParams,
        response: { 200: UserResponse, 404: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request) => userView(await users.delete(request.params.user_id)),
  );

  app.post(
    '/users/:user_id/reset_password',
    {
      config: {
        access: {
          check: (principal, request) =>
            mayResetPasswordOf(principal, (request.params as { user_id: string }).user_id) ? null : errors.cannotResetPassword(),
        },
      },
      schema: {
        operationId: 'reset_user_password_users_user_id_reset_password_post',
        summary: 'Reset User Password',
        tags: ['User Management'],
        description:
          'An ORG-ADMIN resets anyone (the new password is temporary); a user resets their own (permanent). ' +
          'Every older token of that user stops working.',
        security: API_KEY_SECURITY,
        params: UserIdParams,
        body: PasswordResetRequest,
        response: {
          200: Type.Object({ id: Type.String(), temporary: Type.Boolean() }),
          404: ErrorDetail,
          ...protectedErrors(),
        },
      },
    },
    async (request) => users.resetPassword(request.principal, request.params.user_id, request.body.password),
  );

  app.get(
    '/users',
    {
      config: { access: { permission: 'users:read' } },
      schema: {
        operationId: 'search_users_users_get',
        summary: 'Search Users',
        tags: ['User Management'],
        description:
          'Every whitespace-separated term must occur (case-insensitive, literally) in the email, first or last ' +
          'name. Ordered by creation time. Optional filters: `role` (held directly or through a group), `group` ' +
          '(a group id), `enabled`.',
        security: API_KEY_SECURITY,
        querystring: SearchQuery,
        response: { 200: Type.Array(UserResponse), ...protectedErrors() },
      },
    },
    async (request) => {
      const q = request.query;
      const found = await users.search({
        searchString: q.search_string,
        sort: q.sort ?? 'desc',
        pageSize: q.page_size,
        page: q.page,
        filters: { role: q.role, groupId: q.group, enabled: q.enabled },
      });
      return found.map(userView);
    },
  );

  app.get(
    '/users/export',
    {
      config: { access: { permission: 'users:read' } },
      schema: {
        operationId: 'export_users_users_export_get',
        summary: 'Export Users',
        tags: ['User Management'],
        description:
          'Every user `GET /users` finds with the same search string and filters, as one CSV file (RFC 4180, CRLF ' +
          `line ends, a header line), streamed: columns ${USER_EXPORT_COLUMNS.join(', ')}. Roles are separated by ` +
          'spaces, group names by "; ". A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a ' +
          "leading `'` so that spreadsheets do not run it as a formula.",
        security: API_KEY_SECURITY,
        querystring: ExportQuery,
        produces: ['text/csv'],
        response: {
          200: { description: 'The users as CSV (`text/csv; charset=utf-8`), sent as an attachment.', content: { 'text/csv': { schema: Type.String() } } },
          400: ErrorDetail,
          ...protectedErrors(),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      // Checked before the first byte goes out, so a bad search is an ordinary 400/422, not a broken download.
      const batches = exporter.prepare({
        searchString: q.search_string,
        sort: q.sort ?? 'desc',
        filters: { role: q.role, groupId: q.group, enabled: q.enabled },
      });
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${exportFileName(now())}"`)
        .header('cache-control', 'no-store');
      // A stream is sent as it is (no serializer), pulled batch by batch as the client reads: memory stays flat.
      return reply.send(Readable.from(userCsvChunks(batches)) as never);
    },
  );

  app.get(
    '/users/permissions/check',
    {
      schema: {
        operationId: 'check_user_permission_users_permissions_check_get',
        summary: 'Check User Permission',
        tags: ['User Management'],
        description: 'Checks if the current caller has the requested permission: 200 when allowed, 403 when not.',
        security: API_KEY_SECURITY,
        querystring: PermissionQuery,
        response: { 200: PermissionAllowed, 400: ErrorDetail, 401: ErrorDetail, 403: PermissionDenied, 422: protectedErrors()[422] },
      },
    },
    // Synchronous, as is /users/me below: nothing here waits, and an async handler costs this hot path two promises,
    // which are dear while the request context (AsyncLocalStorage) has promise hooks on (docs/design-notes.md).
    // (A value a synchronous handler returns is sent as an async one's would be, through the response schema.)
    (request, reply) => {
      const { action, resource } = request.query;
      if (action === undefined || resource === undefined) throw errors.permissionArgsMissing();
      const grantedBy = can(request.principal.roles, action, resource);
      if (grantedBy.length === 0) {
        reply.code(403);
        return { detail: 'Forbidden', allowed: false, action, resource };
      }
      return { allowed: true, action, resource, granted_by: grantedBy };
    },
  );

  app.get(
    '/users/me',
    {
      schema: {
        operationId: 'me_users_me_get',
        summary: 'Current Caller',
        tags: ['User Management'],
        security: API_KEY_SECURITY,
        response: { 200: MeResponse, 401: ErrorDetail },
      },
    },
    (request) => meView(request.principal),
  );
};
