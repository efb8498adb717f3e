import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { AddMember } from '../components/group-add-member.tsx';
import { CursorPager, useCursorPages } from '../components/group-cursor-pager.tsx';
import { GroupForm } from '../components/group-form.tsx';
import { RoleBadges } from '../components/group-roles-field.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { formatCount, formatDate, fullName } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { CursorPage, Group, User } from '../types.ts';
import './groups.css';

const MEMBERS_PAGE = 20;

const rolesInWords = (roles: string[]) => (roles.length === 0 ? 'no roles' : roles.join(', '));

/** One group: its fields (editable with groups:write), its members (paged; add and remove), and deleting it. */
export function GroupDetailPage({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const { can } = useSession();
  const write = can('groups:write');
  const group = useAsync((signal) => api<Group>(`/groups/${encodeURIComponent(id)}`, { signal }), [id]);
  const pages = useCursorPages();
  const members = useAsync(
    (signal) => api<CursorPage<User>>(`/groups/${encodeURIComponent(id)}/members`, { query: { page_size: MEMBERS_PAGE, cursor: pages.cursor }, signal }),
    [id, pages.cursor],
  );
  const [notice, setNotice] = useState<string>();
  const [removing, setRemoving] = useState<User>();
  const [deleting, setDeleting] = useState(false);
  const g = group.data;

  if (!g) {
    return (
      <section>
        <PageHeader title="Group" />
        <ErrorMessage error={group.error} />
        {group.loading ? <p class="muted">Loading the group…</p> : null}
      </section>
    );
  }
  const changed = (text: string) => {
    setNotice(text);
    group.reload();
    members.reload();
  };
  return (
    <section>
      <p>
        <Link href="groups">← All groups</Link>
      </p>
      <PageHeader title={g.name}>
        {write ? (
          <button type="button" class="danger" onClick={() => setDeleting(true)}>
            Delete group
          </button>
        ) : null}
      </PageHeader>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={group.error} />
      <div class="grid-2">
        <div class="panel">
          <h2>Details</h2>
          {write ? (
            <GroupForm
              key={g.updated_at}
              idPrefix="group"
              initial={{ name: g.name, description: g.description, roles: g.roles }}
              submitLabel="Save changes"
              onSubmit={async (fields) => {
                await api<Group>(`/groups/${encodeURIComponent(id)}`, { method: 'PATCH', body: fields });
                changed('Changes saved. Members hold the new roles from their next request.');
              }}
            />
          ) : (
            <dl class="facts">
              <dt>Description</dt>
              <dd>{g.description ?? '—'}</dd>
              <dt>Roles</dt>
              <dd>
                <RoleBadges roles={g.roles} />
              </dd>
            </dl>
          )}
          <dl class="facts group-dates">
            <dt>Created</dt>
            <dd>{formatDate(g.created_at)}</dd>
            <dt>Changed</dt>
            <dd>{formatDate(g.updated_at)}</dd>
          </dl>
        </div>
        <div class="panel">
          <h2>Members ({formatCount(g.member_count)})</h2>
          {write ? <AddMember groupId={id} groupName={g.name} onAdded={(u) => changed(`${fullName(u) || u.email} was added to ${g.name}.`)} /> : null}
          <ErrorMessage error={members.error} />
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Members of {g.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  {write ? (
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody>
                {members.data?.items.map((u) => (
                  <tr key={u.id}>
                    <td>
                      <Link href={`users/${encodeURIComponent(u.id)}`}>{fullName(u) || '(no name)'}</Link>
                      {!u.enabled ? <span class="badge off">Disabled</span> : null}
                    </td>
                    <td>{u.email}</td>
                    {write ? (
                      <td class="nowrap">
                        <button type="button" class="secondary small" aria-label={`Remove ${fullName(u) || u.email} from ${g.name}`} onClick={() => setRemoving(u)}>
                          Remove
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
            {members.data && members.data.items.length === 0 ? <p class="empty">No members{pages.page > 1 ? ' on this page' : ' yet'}.</p> : null}
          </div>
          <CursorPager label="Pages of members" pages={pages} nextCursor={members.data?.next_cursor} />
        </div>
      </div>
      {removing ? (
        <ConfirmDialog
          title={`Remove ${fullName(removing) || removing.email} from ${g.name}?`}
          confirmLabel="Remove member"
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await api(`/groups/${encodeURIComponent(id)}/members/${encodeURIComponent(removing.id)}`, { method: 'DELETE' });
            changed(`${fullName(removing) || removing.email} was removed from ${g.name}.`);
          }}
        >
          <p>
            They lose the roles this group gives ({rolesInWords(g.roles)}) on their next request, unless they hold them on their own or through another
            group. Their account is not changed otherwise.
          </p>
        </ConfirmDialog>
      ) : null}
      {deleting ? (
        <ConfirmDialog
          title={`Delete the group ${g.name}?`}
          confirmLabel="Delete group"
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await api(`/groups/${encodeURIComponent(id)}`, { method: 'DELETE' });
            navigate(`groups?deleted=${encodeURIComponent(g.name)}`);
          }}
        >
          <p>
            Its {formatCount(g.member_count)} {g.member_count === 1 ? 'member loses' : 'members lose'} the group's roles ({rolesInWords(g.roles)}) on their next
            request, unless they hold them otherwise. The users themselves are not deleted. This cannot be undone.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
