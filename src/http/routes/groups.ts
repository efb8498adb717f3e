import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_MEMBERS_PER_REQUEST, type Group, type GroupService } from '../../domain/groups.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../domain/paging.ts';
import type { UserService } from '../../domain/users.ts';
import { API_KEY_SECURITY, ErrorDetail, protectedErrors, RoleNames, UserResponse } from '../schemas.ts';
import { userView } from '../views/user-view.ts';

const tags = ['Groups'];
const GroupParams = Type.Object({ group_id: Type.String() });
const MemberParams = Type.Object({ group_id: Type.String(), user_id: Type.String() });
const PageQuery = Type.Object({
  page_size: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
  cursor: Type.Optional(Type.String({ maxLength: 800, description: 'next_cursor of the previous page.' })),
});

const GroupResponse = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String(), { description: 'Roles every member holds through the group.' }),
    member_count: Type.Integer(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { title: 'GroupResponse' },
);

const GroupFields = {
  name: Type.String({ maxLength: 100 }),
  description: Type.Union([Type.String({ maxLength: 500 }), Type.Null()]),
  roles: { ...RoleNames(50), description: 'Replaces the group’s roles as a set.' },
};
const CreateGroup = Type.Object(
  { name: GroupFields.name, description: Type.Optional(GroupFields.description), roles: Type.Optional(GroupFields.roles) },
  { title: 'CreateGroupRequest' },
);
const UpdateGroup = Type.Partial(Type.Object(GroupFields), { title: 'UpdateGroupRequest' });
const Members = Type.Object(
  { user_ids: Type.Array(Type.String({ maxLength: 100 }), { minItems: 1, maxItems: MAX_MEMBERS_PER_REQUEST }) },
  { title: 'GroupMembersRequest' },
);

function groupView(g: Group) {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    roles: g.roles,
    member_count: g.memberCount,
    created_at: new Date(g.createdAt).toISOString(),
    updated_at: new Date(g.updatedAt).toISOString(),
  };
}

/** CONTRACT.md §4b: groups that carry roles, and their members. */
export const groupRoutes: FastifyPluginAsyncTypebox<{ groups: GroupService; users: UserService }> = async (app, { groups, users }) => {
  const errors = { 404: ErrorDetail, ...protectedErrors() };
  const write = { access: { permission: 'groups:write' as const } };
  const read = { access: { permission: 'groups:read' as const } };
  const schema = (operationId: string, summary: string) => ({ operationId, summary, tags, security: API_KEY_SECURITY });

  app.post(
    '/groups',
    { config: write, schema: { ...schema('create_group', 'Create Group'), body: CreateGroup, response: { 201: GroupResponse, 400: ErrorDetail, 409: ErrorDetail, ...protectedErrors() } } },
    async (request, reply) => reply.code(201).send(groupView(await groups.create(request.body))),
  );

  app.get(
    '/groups',
    {
      config: read,
      schema: {
        ...schema('list_groups', 'List Groups'),
        querystring: PageQuery,
        response: { 200: Type.Object({ items: Type.Array(GroupResponse), next_cursor: Type.Union([Type.String(), Type.Null()]) }), ...protectedErrors() },
      },
    },
    async (request) => {
      const page = await groups.list(request.query.page_size, request.query.cursor);
      return { items: page.items.map(groupView), next_cursor: page.next };
    },
  );

  app.get(
    '/groups/:group_id',
    { config: read, schema: { ...schema('get_group', 'Get Group'), params: GroupParams, response: { 200: GroupResponse, ...errors } } },
    async (request) => groupView(await groups.get(request.params.group_id)),
  );

  app.patch(
    '/groups/:group_id',
    {
      config: write,
      schema: {
        ...schema('update_group', 'Update Group'),
        description: "Changes the fields given. New roles hold for every member on their next request; no member's record is touched.",
        params: GroupParams,
        body: UpdateGroup,
        response: { 200: GroupResponse, 400: ErrorDetail, 409: ErrorDetail, ...errors },
      },
    },
    async (request) => groupView(await groups.update(request.params.group_id, request.body)),
  );

  app.delete(
    '/groups/:group_id',
    { config: write, schema: { ...schema('delete_group', 'Delete Group'), params: GroupParams, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await groups.remove(request.params.group_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/groups/:group_id/members',
    {
      config: read,
      schema: {
        ...schema('list_group_members', 'List Group Members'),
        params: GroupParams,
        querystring: PageQuery,
        response: { 200: Type.Object({ items: Type.Array(UserResponse), next_cursor: Type.Union([Type.String(), Type.Null()]) }), ...errors },
      },
    },
    async (request) => {
      const page = await groups.members(request.params.group_id, request.query.page_size, request.query.cursor);
      return { items: (await users.getMany(page.items)).map(userView), next_cursor: page.next };
    },
  );

  app.post(
    '/groups/:group_id/members',
    {
      config: write,
      schema: {
        ...schema('add_group_members', 'Add Group Members'),
        description: `Adds up to ${MAX_MEMBERS_PER_REQUEST} users in one transaction; an unknown user id adds nobody (404).`,
        params: GroupParams,
        body: Members,
        response: { 200: GroupResponse, ...errors },
      },
    },
    async (request) => groupView(await groups.addMembers(request.params.group_id, request.body.user_ids)),
  );

  app.delete(
    '/groups/:group_id/members/:user_id',
    { config: write, schema: { ...schema('remove_group_member', 'Remove Group Member'), params: MemberParams, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await groups.removeMembers(request.params.group_id, [request.params.user_id]);
      return reply.code(204).send(null);
    },
  );
};
