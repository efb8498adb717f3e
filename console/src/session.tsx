import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { api, ApiError } from './api.ts';
import type { Me, RoleInfo } from './types.ts';

/**
 * Who is signed in and what their roles allow. Pages and buttons ask `can('users:write')`: the same permissions
 * the API checks (GET /roles lists them per role), so the console never offers what the API would refuse.
 */
export interface Session {
  me: Me;
  roles: RoleInfo[];
  permissions: Set<string>;
  can(permission: string): boolean;
}

export async function loadSession(): Promise<Session> {
  const [me, roles] = await Promise.all([
    api<Me>('/users/me'),
    // Reading the roles needs users:read: an operator without it has no console permissions at all.
    api<RoleInfo[]>('/roles').catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 403) return [];
      throw err;
    }),
  ]);
  const permissions = new Set(roles.filter((r) => me.roles.includes(r.name)).flatMap((r) => r.permissions));
  return { me, roles, permissions, can: (p) => permissions.has(p) };
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}
