import { ROLES, type AssignableRole } from '../../domain/access.ts';
import type { UserRecord } from '../../domain/users.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** The seed's `AuthUserRole` object for a role name. */
export function roleView(name: AssignableRole) {
  return { id: name, name, description: ROLES[name].description, composite: false as const };
}

/** The seed's `UserResponse`, with the lifecycle fields added after its own. */
export function userView({ user, lockedUntil }: UserRecord) {
  return {
    id: user.id,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    roles: user.roles.map(roleView),
    enabled: user.enabled,
    created_at: iso(user.createdAt),
    updated_at: iso(user.updatedAt),
    locked_until: lockedUntil === null ? null : iso(lockedUntil),
    groups: user.groups.map((g) => ({ id: g.id, name: g.name })),
  };
}
