import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { SecretOnce } from '../components/secret-once.tsx';
import { UserAudit } from '../components/user-audit.tsx';
import { UserEditForm } from '../components/user-edit-form.tsx';
import { UserGroups } from '../components/user-groups.tsx';
import { UserSessions } from '../components/user-sessions.tsx';
import { formatDate, fullName, isLocked } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { User } from '../types.ts';
import { setFlash, takePassword } from './user-flash.ts';
import { generatePassword } from './user-password.ts';
import './users.css';

type Confirm = 'disable' | 'reset' | 'delete';

/** One user: profile and roles, groups, state (disable, unlock), password reset, sessions, activity, deletion. */
export function UserDetailPage({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const session = useSession();
  const canWrite = session.can('users:write');
  const path = `/users/${encodeURIComponent(id)}`;
  const loaded = useAsync((signal) => api<User>(path, { signal }), [path]);
  const [fresh, setFresh] = useState<User>();
  const user = fresh ?? loaded.data;
  const [confirm, setConfirm] = useState<Confirm>();
  // A password generated on the create page is handed over to be shown here, once.
  const [secret, setSecret] = useState<{ password: string; note: string } | undefined>(() => {
    const password = takePassword(id);
    return password ? { password, note: 'The user’s first password. Hand it over safely; they must change it when they first sign in, if it is temporary.' } : undefined;
  });
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<Error>();
  const [auditRefresh, setAuditRefresh] = useState(0);

  if (!user) {
    return (
      <section>
        <PageHeader title="User" />
        {loaded.loading ? <p class="muted">Loading…</p> : <ErrorMessage error={loaded.error} />}
        <p>
          <Link href="users">Back to users</Link>
        </p>
      </section>
    );
  }

  const name = fullName(user) || user.email;
  const locked = isLocked(user.locked_until);
  const changed = (u: User, message?: string) => {
    setFresh(u);
    setNotice(message);
    setAuditRefresh((n) => n + 1);
  };
  const reread = async () => changed(await api<User>(path));

  async function act(run: () => Promise<void>) {
    setError(undefined);
    setNotice(undefined);
    try {
      await run();
    } catch (err) {
      setError(err as Error);
    }
  }

  return (
    <section>
      <p class="breadcrumbs">
        <Link href="users">Users</Link> /
      </p>
      <PageHeader title={name}>
        {canWrite ? (
          <>
            {locked ? (
              <button type="button" class="secondary" onClick={() => void act(async () => changed(await api<User>(`${path}/unlock`, { method: 'POST' }), `${name} is unlocked and may sign in again.`))}>
                Unlock
              </button>
            ) : null}
            {user.enabled ? (
              <button type="button" class="secondary" onClick={() => setConfirm('disable')}>
                Disable
              </button>
            ) : (
              <button type="button" class="secondary" onClick={() => void act(async () => changed(await api<User>(path, { method: 'PATCH', body: { enabled: true } }), `${name} is enabled and may sign in again.`))}>
                Enable
              </button>
            )}
            <button type="button" class="secondary" onClick={() => setConfirm('reset')}>
              Reset password
            </button>
            <button type="button" class="danger" onClick={() => setConfirm('delete')}>
              Delete
            </button>
          </>
        ) : null}
      </PageHeader>

      <div class="user-badges" data-testid="user-state">
        {user.enabled ? <span class="badge ok">Enabled</span> : <span class="badge off">Disabled</span>}
        {locked ? <span class="badge warn">Locked until {formatDate(user.locked_until)}</span> : null}
      </div>
      <p class="muted">
        {user.email} · created {formatDate(user.created_at)} · last changed {formatDate(user.updated_at)}
      </p>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={error} />
      {secret ? <SecretOnce label="Temporary password" secret={secret.password} note={secret.note} /> : null}

      <div class="grid-2">
        <UserEditForm key={user.updated_at} user={user} onSaved={(u) => changed(u, 'Changes saved.')} />
        <UserGroups user={user} onChanged={() => void act(reread)} />
      </div>
      <UserSessions userId={user.id} who={name} />
      {session.can('audit:read') ? <UserAudit userId={user.id} refresh={auditRefresh} /> : null}

      {confirm === 'disable' ? (
        <ConfirmDialog
          title={`Disable ${name}?`}
          confirmLabel="Disable user"
          onConfirm={async () => changed(await api<User>(path, { method: 'PATCH', body: { enabled: false } }), `${name} is disabled.`)}
          onClose={() => setConfirm(undefined)}
        >
          <p>{name} can no longer sign in, and every session and token they hold ends at once. Enabling them again later does not bring those sessions back.</p>
        </ConfirmDialog>
      ) : null}
      {confirm === 'reset' ? (
        <ConfirmDialog
          title={`Reset the password of ${name}?`}
          confirmLabel="Reset password"
          onConfirm={async () => {
            const password = generatePassword();
            await api(`${path}/reset_password`, { method: 'POST', body: { password } });
            setSecret({ password, note: `Hand it to ${name} safely: it works only to choose a new password at their next sign-in.` });
            await reread();
          }}
          onClose={() => setConfirm(undefined)}
        >
          <p>
            A new temporary password is generated in this browser and shown to you once. {name}’s current password stops working, every session
            and token they hold ends, and any lockout is lifted. They must choose a new password at their next sign-in.
          </p>
        </ConfirmDialog>
      ) : null}
      {confirm === 'delete' ? (
        <ConfirmDialog
          title={`Delete ${name}?`}
          confirmLabel="Delete user"
          onConfirm={async () => {
            await api(path, { method: 'DELETE' });
            setFlash(`Deleted ${name} (${user.email}).`);
            navigate('users');
          }}
          onClose={() => setConfirm(undefined)}
        >
          <p>
            {name} ({user.email}) is removed for good: their sign-in, sessions and tokens end at once and they leave every group. Their audit trail
            stays. This cannot be undone.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
