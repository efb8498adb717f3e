import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { useAsync } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { CursorPage, Group, User } from '../types.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { ErrorMessage } from './error-message.tsx';

/** The user's groups (whose roles they hold too): add to one, or remove from one after a confirmation. */
export function UserGroups({ user, onChanged }: { user: User; onChanged(): void }) {
  const session = useSession();
  const canWrite = session.can('groups:write');
  const all = useAsync(
    (signal) => (session.can('groups:read') ? api<CursorPage<Group>>('/groups', { query: { page_size: 1000 }, signal }).then((p) => p.items) : Promise.resolve([] as Group[])),
    [],
  );
  const [adding, setAdding] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [removing, setRemoving] = useState<{ id: string; name: string }>();
  const member = new Set(user.groups.map((g) => g.id));
  const others = (all.data ?? []).filter((g) => !member.has(g.id));
  const rolesOf = (id: string) => all.data?.find((g) => g.id === id)?.roles ?? [];
  const who = [user.first_name, user.last_name].filter(Boolean).join(' ') || user.email;

  async function add(e: Event) {
    e.preventDefault();
    if (!adding) return;
    setBusy(true);
    setError(undefined);
    try {
      await api(`/groups/${encodeURIComponent(adding)}/members`, { method: 'POST', body: { user_ids: [user.id] } });
      setAdding('');
      onChanged();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="panel" aria-labelledby="groups-title">
      <h2 id="groups-title">Groups</h2>
      {user.groups.length === 0 ? <p class="muted">Not in any group.</p> : null}
      <ul class="member-list">
        {user.groups.map((g) => (
          <li key={g.id}>
            <span>
              <Link href={`groups/${encodeURIComponent(g.id)}`}>{g.name}</Link>
              {rolesOf(g.id).length > 0 ? <span class="muted"> — gives {rolesOf(g.id).join(', ')}</span> : null}
            </span>
            {canWrite ? (
              <button type="button" class="secondary small" aria-label={`Remove from ${g.name}`} onClick={() => setRemoving(g)}>
                Remove
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {canWrite ? (
        <form class="inline-form" onSubmit={add}>
          <div class="field">
            <label for="add-group">Add to group</label>
            <select id="add-group" value={adding} onChange={(e) => setAdding(e.currentTarget.value)} disabled={others.length === 0}>
              <option value="">{others.length === 0 ? 'No other groups' : 'Choose a group'}</option>
              {others.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="secondary" disabled={busy || !adding}>
            Add
          </button>
        </form>
      ) : null}
      <ErrorMessage error={error ?? all.error} />
      {removing ? (
        <ConfirmDialog
          title={`Remove ${who} from ${removing.name}?`}
          confirmLabel="Remove from group"
          onConfirm={async () => {
            await api(`/groups/${encodeURIComponent(removing.id)}/members/${encodeURIComponent(user.id)}`, { method: 'DELETE' });
            onChanged();
          }}
          onClose={() => setRemoving(undefined)}
        >
          <p>
            {who} loses the roles that come with {removing.name}
            {rolesOf(removing.id).length > 0 ? ` (${rolesOf(removing.id).join(', ')})` : ''} on their next request, unless they hold them
            otherwise.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
