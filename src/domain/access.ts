/**
 * Roles and the two permission catalogues, checked in exactly one place each, and the only file that names a role:
 * - what a route may do: administrative permissions (`users:write`, `keys:read`, …) checked by `hasPermission()`;
 * - what the seed's `/users/permissions/check` answers: `create`/`read` on its four resources, by `can()`.
 */

export const ACTIONS = ['create', 'read'] as const;
export const RESOURCES = ['prompts', 'responses', 'rules', 'tasks'] as const;
export type Action = (typeof ACTIONS)[number];
export type Resource = (typeof RESOURCES)[number];
type Grant = `${Action}:${Resource}`;

export const ADMIN_KEY_ROLE = 'ADMIN-KEY';

/** What routes declare they need. Roles are sets of these; a route names a permission, never a role. */
export const PERMISSIONS = [
  'users:read',
  'users:write',
  'groups:read',
  'groups:write',
  'keys:read',
  'keys:write',
  'clients:read',
  'clients:write',
  'audit:read',
  /** Create, read, change and delete users and groups through SCIM (`/scim/v2`), and nothing else. */
  'scim:provision',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ALL_PERMISSIONS: readonly Permission[] = PERMISSIONS;
const READ_PERMISSIONS: readonly Permission[] = PERMISSIONS.filter((p) => p.endsWith(':read'));

interface RoleDefinition {
  description: string;
  grants: readonly Grant[];
  permissions: readonly Permission[];
}

const ALL_RESOURCES_CREATE_READ: Grant[] = RESOURCES.flatMap((r) => [`create:${r}`, `read:${r}`] as Grant[]);

/** Roles that users and API keys may hold, in the order they are documented. */
export const ROLES = {
  'ORG-ADMIN': {
    description: 'Administers the organisation: manages users and API keys.',
    grants: ALL_RESOURCES_CREATE_READ,
    permissions: ALL_PERMISSIONS,
  },
  'ORG-AUDITOR': {
    description: 'Reads users and API keys, changes nothing.',
    grants: RESOURCES.map((r) => `read:${r}` as Grant),
    permissions: READ_PERMISSIONS,
  },
  'TASK-ADMIN': {
    description: 'Creates and reads prompts, responses, rules and tasks.',
    grants: ALL_RESOURCES_CREATE_READ,
    permissions: [],
  },
  'CHAT-USER': {
    description: 'Creates prompts and responses.',
    grants: ['create:prompts', 'create:responses'],
    permissions: [],
  },
  'DEFAULT-RULE-ADMIN': {
    description: 'Creates and reads rules.',
    grants: ['create:rules', 'read:rules'],
    permissions: [],
  },
  'VALIDATION-USER': {
    description: 'Creates prompts and responses for validation.',
    grants: ['create:prompts', 'create:responses'],
    permissions: [],
  },
  'SCIM-PROVISIONER': {
    description: "An identity provider's SCIM client: provisions users and groups under /scim/v2, nothing else.",
    grants: [],
    permissions: ['scim:provision'],
  },
} as const satisfies Record<string, RoleDefinition>;

export type AssignableRole = keyof typeof ROLES;

/** The role that administers everything: held by the admin key and the bootstrap key. */
export const ADMIN_ROLE: AssignableRole = 'ORG-ADMIN';

/** What an API key minted without roles holds. */
export const DEFAULT_API_KEY_ROLES: readonly AssignableRole[] = ['VALIDATION-USER'];
export type Role = AssignableRole | typeof ADMIN_KEY_ROLE;

export function isAssignableRole(name: string): name is AssignableRole {
  return Object.hasOwn(ROLES, name);
}

/** The first name in `names` that is not an assignable role, in request order, or undefined. */
export function firstUnknownRole(names: readonly string[]): string | undefined {
  return names.find((n) => !isAssignableRole(n));
}

/** Removes duplicates while keeping request order. */
export function normaliseRoles(names: readonly string[]): AssignableRole[] {
  return [...new Set(names)].filter(isAssignableRole);
}

/** Whether any of the held roles carries `permission`. */
export function hasPermission(held: readonly string[], permission: Permission): boolean {
  return held.some((r) => isAssignableRole(r) && (ROLES[r].permissions as readonly Permission[]).includes(permission));
}

/** Every permission the held roles carry, in catalogue order. */
export function permissionsOf(held: readonly string[]): Permission[] {
  return PERMISSIONS.filter((p) => hasPermission(held, p));
}

/** The roles among `held` that grant `action` on `resource` (empty: not allowed). */
export function can(held: readonly string[], action: Action, resource: Resource): string[] {
  const grant: Grant = `${action}:${resource}`;
  return held.filter((r) => isAssignableRole(r) && (ROLES[r].grants as readonly Grant[]).includes(grant));
}
