import type { ComponentType } from 'preact';
import { ApiKeysPage } from './pages/api-keys.tsx';
import { AuditPage } from './pages/audit.tsx';
import { ClientDetailPage } from './pages/client-detail.tsx';
import { ClientsPage } from './pages/clients.tsx';
import { GroupDetailPage } from './pages/group-detail.tsx';
import { GroupsPage } from './pages/groups.tsx';
import { HomePage } from './pages/home.tsx';
import { UserCreatePage } from './pages/user-create.tsx';
import { UserDetailPage } from './pages/user-detail.tsx';
import { UsersPage } from './pages/users-list.tsx';

/**
 * The console's pages: address pattern (below /console/), the permission a caller needs to see it, and the name
 * in the navigation (none: not in it). The first pattern that matches wins. The API checks the same permissions
 * on every call a page makes; pages hide the buttons for changes the operator may not make (`*:write`).
 */
export interface Route {
  pattern: string;
  page: ComponentType<{ params: Record<string, string> }>;
  permission?: string;
  nav?: string;
}

export const ROUTES: Route[] = [
  { pattern: '', page: HomePage },
  { pattern: 'users', page: UsersPage, permission: 'users:read', nav: 'Users' },
  { pattern: 'users/new', page: UserCreatePage, permission: 'users:write' },
  { pattern: 'users/:id', page: UserDetailPage, permission: 'users:read' },
  { pattern: 'groups', page: GroupsPage, permission: 'groups:read', nav: 'Groups' },
  { pattern: 'groups/:id', page: GroupDetailPage, permission: 'groups:read' },
  { pattern: 'keys', page: ApiKeysPage, permission: 'keys:read', nav: 'API keys' },
  { pattern: 'clients', page: ClientsPage, permission: 'clients:read', nav: 'Applications' },
  { pattern: 'clients/:id', page: ClientDetailPage, permission: 'clients:read' },
  { pattern: 'audit', page: AuditPage, permission: 'audit:read', nav: 'Audit trail' },
];
