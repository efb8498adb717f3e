import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { CursorPager, useCursorPages } from '../components/group-cursor-pager.tsx';
import { GroupForm } from '../components/group-form.tsx';
import { RoleBadges } from '../components/group-roles-field.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { formatCount, formatDate } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { Link, navigate, useRoute } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { CursorPage, Group } from '../types.ts';
import './groups.css';

const PAGE_SIZE = 25;

/** Groups carry roles for their members: the list, paged, and a form to create one. */
export function GroupsPage(_props: { params: Record<string, string> }) {
  const { can } = useSession();
  const { query } = useRoute();
  const deleted = query.get('deleted');
  const pages = useCursorPages();
  const [creating, setCreating] = useState(false);
  const list = useAsync((signal) => api<CursorPage<Group>>('/groups', { query: { page_size: PAGE_SIZE, cursor: pages.cursor }, signal }), [pages.cursor]);
  return (
    <section>
      <PageHeader title="Groups">
        {can('groups:write') && !creating ? (
          <button type="button" onClick={() => setCreating(true)}>
            New group
          </button>
        ) : null}
      </PageHeader>
      <p class="muted">A group's roles are its members' roles too: a member holds their own roles plus those of every group they are in.</p>
      {deleted ? (
        <p class="notice" role="status">
          Group “{deleted}” was deleted.
        </p>
      ) : null}
      {creating ? (
        <div class="panel">
          <h2>New group</h2>
          <GroupForm
            idPrefix="new-group"
            initial={{ name: '', description: null, roles: [] }}
            submitLabel="Create group"
            onCancel={() => setCreating(false)}
            onSubmit={async (fields) => {
              const group = await api<Group>('/groups', { method: 'POST', body: fields });
              navigate(`groups/${encodeURIComponent(group.id)}`);
            }}
          />
        </div>
      ) : null}
      <ErrorMessage error={list.error} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Groups</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Roles</th>
              <th scope="col" class="num">
                Members
              </th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((g) => (
              <tr key={g.id}>
                <td>
                  <Link href={`groups/${encodeURIComponent(g.id)}`}>{g.name}</Link>
                </td>
                <td class="group-description">{g.description ?? <span class="muted">—</span>}</td>
                <td>
                  <RoleBadges roles={g.roles} />
                </td>
                <td class="num">{formatCount(g.member_count)}</td>
                <td class="nowrap">{formatDate(g.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.data && list.data.items.length === 0 ? <p class="empty">{pages.page === 1 ? 'No groups yet.' : 'No more groups.'}</p> : null}
        {!list.data && list.loading ? <p class="empty">Loading groups…</p> : null}
      </div>
      <CursorPager label="Pages of groups" pages={pages} nextCursor={list.data?.next_cursor} />
    </section>
  );
}
