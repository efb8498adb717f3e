/**
 * Roles and the permission catalogue (CONTRACT.md §2), checked in exactly one place: `can()`.
 * Route-level gates use `holdsAny()`; nothing else in the code base interprets role names.
 */

export const ACTIONS = ['create', 'read'] as const;
export const RESOURCES = ['prompts', 'responses', 'rules', 'tasks'] as const;
export type Action = (typeof ACTIONS)[number];
export type Resource = (typeof RESOURCES)[number];
type Grant = `${Action}:${Resource}`;

export const ADMIN_KEY_ROLE = 'ADMIN-KEY';

interface RoleDefinition {
  description: string;
  grants: readonly Grant[];
}

const ALL_RESOURCES_CREATE_READ: Grant[] = RESOURCES.flatMap((r) => [`create:${r}`, `read:${r}`] as Grant[]);

/** Roles that users and API keys may hold, in the order they are documented. */
export const ROLES = {
  'ORG-ADMIN': {
    description: 'Administers the organisation: manages users and API keys.',
    grants: ALL_RESOURCES_CREATE_READ,
  },
  'ORG-AUDITOR': {
    description: 'Reads users and API keys, changes nothing.',
    grants: RESOURCES.map((r) => `read:${r}` as Grant),
  },
  'TASK-ADMIN': {
    description: 'Creates and reads prompts, responses, rules and tasks.',
    grants: ALL_RESOURCES_CREATE_READ,
  },
  'CHAT-USER': {
    description: 'Creates prompts and responses.',
    grants: ['create:prompts', 'create:responses'],
  },
  'DEFAULT-RULE-ADMIN': {
    description: 'Creates and reads rules.',
    grants: ['create:rules', 'read:rules'],
  },
  'VALIDATION-USER': {
    description: 'Creates prompts and responses for validation.',
    grants: ['create:prompts', 'create:responses'],
  },
} as const satisfies Record<string, RoleDefinition>;

export type AssignableRole = keyof typeof ROLES;
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

export interface RoleView {
  id: string;
  name: string;
  description: string;
  composite: false;
}

/** The seed's `AuthUserRole` object for a role name. */
export function roleView(name: AssignableRole): RoleView {
  return { id: name, name, description: ROLES[name].description, composite: false };
}

export function holdsAny(held: readonly string[], wanted: readonly string[]): boolean {
  return held.some((r) => wanted.includes(r));
}

/** The roles among `held` that grant `action` on `resource` (empty: not allowed). */
export function can(held: readonly string[], action: Action, resource: Resource): string[] {
  const grant: Grant = `${action}:${resource}`;
  return held.filter((r) => isAssignableRole(r) && (ROLES[r].grants as readonly Grant[]).includes(grant));
}
