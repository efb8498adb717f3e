import { Type } from 'typebox';
import { ACTIONS, RESOURCES } from '../domain/access.ts';

/**
 * Wire shapes shared by several routes. Response schemas are allowlists: fast-json-stringify drops any property
 * not declared here, so a password hash or key digest cannot leave the server even by mistake.
 */

export const ErrorDetail = Type.Object({ detail: Type.String() }, { $id: 'ErrorDetail', title: 'ErrorDetail' });

export const ValidationErrorBody = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        type: Type.String(),
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        msg: Type.String(),
        input: Type.Unknown(),
        ctx: Type.Optional(Type.Object({}, { additionalProperties: true })),
      }),
    ),
  },
  { title: 'HTTPValidationError' },
);

export const AuthUserRole = Type.Object(
  { id: Type.String(), name: Type.String(), description: Type.String(), composite: Type.Boolean() },
  { title: 'AuthUserRole' },
);

export const GroupRefResponse = Type.Object({ id: Type.String(), name: Type.String() }, { title: 'GroupRef' });

const Timestamp = Type.String({ format: 'date-time' });

/** The seed's `UserResponse`; `enabled` and the fields after it are additions the seed's clients ignore. */
export const UserResponse = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    first_name: Type.Union([Type.String(), Type.Null()]),
    last_name: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(AuthUserRole, { description: "The user's own roles (their groups' roles come on top: see groups)." }),
    enabled: Type.Boolean({ description: 'False: the user cannot sign in and no token of theirs works.' }),
    created_at: Timestamp,
    updated_at: Timestamp,
    locked_until: Type.Union([Timestamp, Type.Null()], { description: 'Sign-in is locked after failed attempts until then.' }),
    groups: Type.Array(GroupRefResponse),
  },
  { title: 'UserResponse' },
);

/** The optional filters of `GET /users` and `GET /users/count`. */
export const UserFilterQuery = {
  role: Type.Optional(Type.String({ maxLength: 100, description: 'Only users holding this role, directly or through a group.' })),
  group: Type.Optional(Type.String({ maxLength: 100, description: 'Only members of this group (its id).' })),
  enabled: Type.Optional(Type.Boolean({ description: 'Only enabled (true) or disabled (false) users.' })),
};

export const RoleNames = (maxItems: number) => Type.Array(Type.String({ maxLength: 100 }), { maxItems });

export const PasswordField = Type.String({ description: 'See the password policy: 12–256 characters, mixed case, a digit and a symbol.' });

// Plain `enum` schemas (not unions of literals) so a bad value yields one `enum` problem, as pydantic reports it.
export const ActionEnum = Type.Unsafe<(typeof ACTIONS)[number]>({ type: 'string', enum: [...ACTIONS], title: 'UserPermissionAction' });
export const ResourceEnum = Type.Unsafe<(typeof RESOURCES)[number]>({
  type: 'string',
  enum: [...RESOURCES],
  title: 'UserPermissionResource',
});
export const SortEnum = Type.Unsafe<'asc' | 'desc'>({ type: 'string', enum: ['asc', 'desc'], title: 'PaginationSortMethod' });

/** Error responses every protected route can give, for the OpenAPI document. */
export function protectedErrors() {
  return {
    401: ErrorDetail,
    403: ErrorDetail,
    422: ValidationErrorBody,
  } as const;
}

/** The seed's security requirement: the `API Key` HTTP bearer scheme. */
export const API_KEY_SECURITY = [{ 'API Key': [] }];
