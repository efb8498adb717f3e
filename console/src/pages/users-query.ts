import { url } from '../api.ts';

/**
 * The users list's state, all of it in the address (`/console/users?q=ada&role=ORG-ADMIN&page=2`), so a reload,
 * the back button and a shared link show the same list.
 */
export interface UsersQuery {
  q: string;
  role: string;
  group: string;
  /** '' (any), 'true' or 'false'. */
  enabled: string;
  sort: 'asc' | 'desc';
  /** From 1, as shown. */
  page: number;
  size: number;
}

export const PAGE_SIZES = [25, 50, 100];

export function readUsersQuery(params: URLSearchParams): UsersQuery {
  const page = Number(params.get('page'));
  const size = Number(params.get('size'));
  const enabled = params.get('enabled');
  return {
    q: params.get('q') ?? '',
    role: params.get('role') ?? '',
    group: params.get('group') ?? '',
    enabled: enabled === 'true' || enabled === 'false' ? enabled : '',
    sort: params.get('sort') === 'asc' ? 'asc' : 'desc',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    size: PAGE_SIZES.includes(size) ? size : 25,
  };
}

/** The address of the list in this state; defaults are left out so addresses stay short. */
export function usersHref(q: UsersQuery): string {
  return url('/console/users', {
    q: q.q.trim() === '' ? undefined : q.q,
    role: q.role,
    group: q.group,
    enabled: q.enabled,
    sort: q.sort === 'asc' ? 'asc' : undefined,
    page: q.page > 1 ? q.page : undefined,
    size: q.size !== 25 ? q.size : undefined,
  });
}

/** The API's filters for this state (GET /users, /users/count and /users/export take the same). */
export function apiFilters(q: UsersQuery) {
  return {
    search_string: q.q.trim() === '' ? undefined : q.q,
    role: q.role || undefined,
    group: q.group || undefined,
    enabled: q.enabled || undefined,
  };
}
