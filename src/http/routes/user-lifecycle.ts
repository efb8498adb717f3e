import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PERMISSIONS, permissionsOf, ROLES, type AssignableRole } from '../../domain/access.ts';
import type { UserService } from '../../domain/users.ts';
import { API_KEY_SECURITY, ErrorDetail, protectedErrors, RoleNames, UserFilterQuery, UserResponse } from '../schemas.ts';
import { userView } from '../views/user-view.ts';

const tags = ['User Lifecycle'];
const UserIdParams = Type.Object({ user_id: Type.String({ description: 'User id, not email.' }) });

const UpdateUserRequest = Type.Object(
  {
    firstName: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
    lastName: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
    email: Type.Optional(Type.String({ description: 'Unique; stored trimmed and lower-cased.' })),
    roles: Type.Optional({ ...RoleNames(50), description: "Replaces the user's own roles as a set." }),
    enabled: Type.Optional(Type.Boolean({ description: 'false: no sign-in, and every token and session of the user ends.' })),
  },
  { title: 'UpdateUserRequest' },
);

const RoleResponse = Type.Object(
  { name: Type.String(), description: Type.String(), permissions: Type.Array(Type.String()) },
  { title: 'RoleResponse' },
);

/**
 * CONTRACT.md §4b: read and edit one user, unlock them, count a search, and the role catalogue. The seed's routes
 * (create, delete, reset, search) live in users.ts and keep their shapes.
 */
export const userLifecycleRoutes: FastifyPluginAsyncTypebox<{ users: UserService }> = async (app, { users }) => {
  const errors = { 404: ErrorDetail, ...protectedErrors() };

  app.get(
    '/users/count',
    {
      config: { access: { permission: 'users:read' } },
      schema: {
        operationId: 'count_users',
        summary: 'Count Users',
        description: 'How many users `GET /users` would find with the same search string and filters.',
        tags,
        security: API_KEY_SECURITY,
        querystring: Type.Object({ search_string: Type.Optional(Type.String({ maxLength: 200 })), ...UserFilterQuery }),
        response: { 200: Type.Object({ count: Type.Integer() }), 400: ErrorDetail, ...protectedErrors() },
      },
    },
    async (request) => {
      const q = request.query;
      return { count: await users.count({ searchString: q.search_string, filters: { role: q.role, groupId: q.group, enabled: q.enabled } }) };
    },
  );

  app.get(
    '/users/:user_id',
    {
      config: { access: { permission: 'users:read' } },
      schema: { operationId: 'get_user', summary: 'Get User', tags, security: API_KEY_SECURITY, params: UserIdParams, response: { 200: UserResponse, ...errors } },
    },
    async (request) => userView(await users.get(request.params.user_id)),
  );

  app.patch(
    '/users/:user_id',
    {
      config: { access: { permission: 'users:write' } },
      schema: {
        operationId: 'update_user',
        summary: 'Update User',
        description:
          'Changes the fields given, in one transaction, and answers with the updated user. Disabling ends every token ' +
          'and session of the user at once; enabling again does not bring them back.',
        tags,
        security: API_KEY_SECURITY,
        params: UserIdParams,
        body: UpdateUserRequest,
        response: { 200: UserResponse, 400: ErrorDetail, 409: ErrorDetail, ...errors },
      },
    },
    async (request) => userView(await users.update(request.params.user_id, request.body)),
  );

  app.post(
    '/users/:user_id/unlock',
    {
      config: { access: { permission: 'users:write' } },
      schema: {
        operationId: 'unlock_user',
        summary: 'Unlock User',
        description: 'Lifts the lock that failed sign-ins put on the account.',
        tags,
        security: API_KEY_SECURITY,
        params: UserIdParams,
        response: { 200: UserResponse, ...errors },
      },
    },
    async (request) => userView(await users.unlock(request.params.user_id)),
  );

  app.get(
    '/roles',
    {
      config: { access: { permission: 'users:read' } },
      schema: {
        operationId: 'list_roles',
        summary: 'List Roles',
        description: `Every role with its description and the permissions it carries (of ${PERMISSIONS.join(', ')}).`,
        tags,
        security: API_KEY_SECURITY,
        response: { 200: Type.Array(RoleResponse), ...protectedErrors() },
      },
    },
    async () =>
      (Object.keys(ROLES) as AssignableRole[]).map((name) => ({ name, description: ROLES[name].description, permissions: permissionsOf([name]) })),
  );
};
