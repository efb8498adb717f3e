import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { UserBulkActions, type BulkResult } from '../components/user-bulk-actions.tsx';
import { UserExportButton } from '../components/user-export-button.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { formatCount, formatDate, fullName, isLocked } from '../format.ts';
import { useAsync, useDebounced, useStored } from '../hooks.ts';
import { Link, navigate, useRoute } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { CursorPage, Group, User } from '../types.ts';
import { takeFlash } from './user-flash.ts';
import { apiFilters, PAGE_SIZES, readUsersQuery, usersHref, type UsersQuery } from './users-query.ts';
import './users.css';

const COLUMNS = [
  { key: 'email', label: 'Email' },
  { key: 'roles', label: 'Roles' },
  { key: 'groups', label: 'Groups' },
  { key: 'enabled', label: 'Enabled' },
  { key: 'locked', label: 'Locked' },
  { key: 'created', label: 'Created' },
] as const;
type ColumnKey = (typeof COLUMNS)[number]['key'];
const ALL_COLUMNS: ColumnKey[] = COLUMNS.map((c) => c.key);

/** The users: search as you type, filters, sort, pages, column choice, bulk changes and CSV export. */
export function UsersPage(_props: { params: Record<string, string> }) {
  const session = useSession();
  const canWrite = session.can('users:write');
  const route = useRoute();
  const query = readUsersQuery(route.query);
  const go = (changes: Partial<UsersQuery>, replace = false) => navigate(usersHref({ ...query, page: 1, ...changes }), { replace });

  // Search as you type: the address follows the field once typing pauses; the field follows the address (back).
  const [text, setText] = useState(query.q);
  const settled = useDebounced(text, 120);
  useEffect(() => {
    if (settled !== query.q) go({ q: settled }, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [settled]);
  useEffect(() => {
    if (query.q !== settled) setText(query.q);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query.q]);

  const filters = apiFilters(query);
  const filterKey = JSON.stringify(filters);
  const list = useAsync(
    (signal) => api<User[]>('/users', { query: { ...filters, sort: query.sort, page: query.page - 1, page_size: query.size }, signal }),
    [filterKey, query.sort, query.page, query.size],
  );
  const count = useAsync((signal) => api<{ count: number }>('/users/count', { query: filters, signal }), [filterKey]);
  const groups = useAsync(
    (signal) =>
      session.can('groups:read')
        ? api<CursorPage<Group>>('/groups', { query: { page_size: 1000 }, signal }).then((p) => p.items)
        : Promise.resolve([] as Group[]),
    [],
  );

  const [columns, setColumns] = useStored<ColumnKey[]>('users.columns', ALL_COLUMNS);
  const shown = (key: ColumnKey) => columns.includes(key);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [result, setResult] = useState<BulkResult | undefined>(() => {
    const flash = takeFlash();
    return flash ? { kind: 'notice', text: flash } : undefined;
  });
  useEffect(() => setSelected(new Set()), [list.data]);

  const rows = list.data ?? [];
  const total = count.data?.count;
  const pages = total === undefined ? undefined : Math.max(1, Math.ceil(total / query.size));
  const lastPage = pages !== undefined ? query.page >= pages : rows.length < query.size;
  const filtered = filters.search_string !== undefined || query.role !== '' || query.group !== '' || query.enabled !== '';
  const selectedUsers = useMemo(() => rows.filter((u) => selected.has(u.id)), [rows, selected]);
  const allOnPage = rows.length > 0 && rows.every((u) => selected.has(u.id));
  const columnCount = 1 + ALL_COLUMNS.filter(shown).length + (canWrite ? 1 : 0);

  function toggle(id: string, on: boolean) {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  }

  const emptyText = query.q.trim() !== ''
    ? `No users match “${query.q.trim()}”${query.role || query.group || query.enabled ? ' with these filters' : ''}.`
    : filtered
      ? 'No users match these filters.'
      : 'No users yet.';

  return (
    <section class="users-page">
      <PageHeader title="Users">
        <UserExportButton query={{ ...filters, sort: query.sort }} />
        {canWrite ? (
          <Link href="users/new" class="button">
            New user
          </Link>
        ) : null}
      </PageHeader>

      <form class="toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field search-field">
          <label for="user-search">Search</label>
          <input id="user-search" type="search" value={text} placeholder="Name or email" autocomplete="off" onInput={(e) => setText(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="user-role">Role</label>
          <select id="user-role" value={query.role} onChange={(e) => go({ role: e.currentTarget.value })}>
            <option value="">Any role</option>
            {session.roles.map((r) => (
              <option key={r.name} value={r.name}>
                {r.name}
              </option>
            ))}
          </select>
        </div>
        {session.can('groups:read') ? (
          <div class="field">
            <label for="user-group">Group</label>
            <select id="user-group" value={query.group} onChange={(e) => go({ group: e.currentTarget.value })}>
              <option value="">Any group</option>
              {(groups.data ?? []).map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <div class="field">
          <label for="user-enabled">Status</label>
          <select id="user-enabled" value={query.enabled} onChange={(e) => go({ enabled: e.currentTarget.value })}>
            <option value="">Enabled or disabled</option>
            <option value="true">Enabled only</option>
            <option value="false">Disabled only</option>
          </select>
        </div>
        {query.role || query.group || query.enabled ? (
          <button type="button" class="link" onClick={() => go({ role: '', group: '', enabled: '' })}>
            Clear filters
          </button>
        ) : null}
        <details class="menu columns-menu">
          <summary class="button secondary">Columns</summary>
          <fieldset class="menu-body">
            <legend>Show columns</legend>
            {COLUMNS.map((c) => (
              <label key={c.key}>
                <input
                  type="checkbox"
                  checked={shown(c.key)}
                  onChange={(e) => setColumns(e.currentTarget.checked ? ALL_COLUMNS.filter((k) => k === c.key || shown(k)) : columns.filter((k) => k !== c.key))}
                />
                {c.label}
              </label>
            ))}
          </fieldset>
        </details>
      </form>

      <p class="user-count" aria-live="polite" data-testid="user-count">
        {total === undefined ? (count.loading ? 'Counting…' : '') : `${formatCount(total)} ${total === 1 ? 'user' : 'users'}${filtered ? ' match' + (total === 1 ? 'es' : '') : ''}`}
      </p>
      {result ? (
        <div class={result.kind === 'notice' ? 'notice' : 'error'} role={result.kind === 'notice' ? 'status' : 'alert'}>
          {result.text}
        </div>
      ) : null}
      <ErrorMessage error={list.error ?? count.error} />
      {canWrite && selectedUsers.length > 0 ? (
        <UserBulkActions
          selected={selectedUsers}
          meId={session.me.user_id}
          onDone={(r) => {
            setResult(r);
            list.reload();
            count.reload();
          }}
        />
      ) : null}

      <div class="table-wrap">
        <table aria-busy={list.loading ? 'true' : 'false'} data-state={list.loading ? 'loading' : 'ready'} aria-describedby="users-caption">
          <caption id="users-caption" class="visually-hidden">
            Users, {query.sort === 'desc' ? 'newest' : 'oldest'} first, page {query.page}
          </caption>
          <thead>
            <tr>
              {canWrite ? (
                <th class="select" scope="col">
                  <input
                    type="checkbox"
                    aria-label="Select all users on this page"
                    checked={allOnPage}
                    disabled={rows.length === 0}
                    onChange={(e) => setSelected(e.currentTarget.checked ? new Set(rows.map((u) => u.id)) : new Set())}
                  />
                </th>
              ) : null}
              <th scope="col">Name</th>
              {shown('email') ? <th scope="col">Email</th> : null}
              {shown('roles') ? <th scope="col">Roles</th> : null}
              {shown('groups') ? <th scope="col">Groups</th> : null}
              {shown('enabled') ? <th scope="col">Enabled</th> : null}
              {shown('locked') ? <th scope="col">Locked</th> : null}
              {shown('created') ? (
                <th scope="col" aria-sort={query.sort === 'desc' ? 'descending' : 'ascending'}>
                  <button
                    type="button"
                    class="sort"
                    title={query.sort === 'desc' ? 'Newest first: choose to show the oldest first' : 'Oldest first: choose to show the newest first'}
                    onClick={() => go({ sort: query.sort === 'desc' ? 'asc' : 'desc' })}
                  >
                    Created <span aria-hidden="true">{query.sort === 'desc' ? '↓' : '↑'}</span>
                  </button>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && !list.loading ? (
              <tr>
                <td colSpan={columnCount} class="empty">
                  {emptyText}
                </td>
              </tr>
            ) : null}
            {rows.map((u) => {
              const name = fullName(u);
              return (
                <tr key={u.id} class={selected.has(u.id) ? 'selected' : undefined}>
                  {canWrite ? (
                    <td class="select">
                      <input type="checkbox" aria-label={`Select ${name || u.email}`} checked={selected.has(u.id)} onChange={(e) => toggle(u.id, e.currentTarget.checked)} />
                    </td>
                  ) : null}
                  <td>
                    <Link href={`users/${encodeURIComponent(u.id)}`}>{name || <span class="muted">(no name)</span>}</Link>
                  </td>
                  {shown('email') ? <td class="email">{u.email}</td> : null}
                  {shown('roles') ? (
                    <td>
                      {u.roles.map((r) => (
                        <span key={r.name} class="badge">
                          {r.name}
                        </span>
                      ))}
                    </td>
                  ) : null}
                  {shown('groups') ? <td>{u.groups.map((g) => g.name).join(', ')}</td> : null}
                  {shown('enabled') ? <td>{u.enabled ? <span class="badge ok">Enabled</span> : <span class="badge off">Disabled</span>}</td> : null}
                  {shown('locked') ? (
                    <td>{isLocked(u.locked_until) ? <span class="badge warn">Locked until {formatDate(u.locked_until)}</span> : <span class="muted">No</span>}</td>
                  ) : null}
                  {shown('created') ? <td class="nowrap">{formatDate(u.created_at)}</td> : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <nav class="pager" aria-label="Pages">
        <button type="button" class="secondary small" disabled={query.page === 1} onClick={() => go({ page: 1 })}>
          First
        </button>
        <button type="button" class="secondary small" disabled={query.page === 1} onClick={() => go({ page: query.page - 1 })}>
          Previous
        </button>
        <span data-testid="page-position">
          Page {formatCount(query.page)}
          {pages !== undefined ? ` of ${formatCount(pages)}` : ''}
        </span>
        <button type="button" class="secondary small" disabled={lastPage} onClick={() => go({ page: query.page + 1 })}>
          Next
        </button>
        <span class="spacer" />
        <label for="user-page-size">Per page</label>
        <select id="user-page-size" value={String(query.size)} onChange={(e) => go({ size: Number(e.currentTarget.value) })}>
          {PAGE_SIZES.map((s) => (
            <option key={s} value={String(s)}>
              {s}
            </option>
          ))}
        </select>
      </nav>
    </section>
  );
}
