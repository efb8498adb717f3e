import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { formatDate } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { useSession } from '../session.tsx';
import type { CursorPage } from '../types.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { ErrorMessage } from './error-message.tsx';

/** GET /users/{id}/sessions (see src/http/routes/sessions.ts). */
interface LoginSession {
  id: string;
  created_at: string;
  last_used_at: string | null;
  auth_time: string;
  expires_at: string | null;
  client_ip: string | null;
  user_agent: string | null;
  kind: 'browser' | 'token';
  clients: string[];
}

/** The user's live sign-ins, each with an End button, and End all; both ask first. */
export function UserSessions({ userId, who }: { userId: string; who: string }) {
  const canWrite = useSession().can('users:write');
  const path = `/users/${encodeURIComponent(userId)}/sessions`;
  const sessions = useAsync((signal) => api<CursorPage<LoginSession>>(path, { query: { page_size: 100 }, signal }), [path]);
  const [ending, setEnding] = useState<LoginSession | 'all'>();
  const [notice, setNotice] = useState<string>();
  const items = sessions.data?.items ?? [];

  return (
    <section class="panel" aria-labelledby="sessions-title">
      <div class="panel-header">
        <h2 id="sessions-title">Sessions</h2>
        {canWrite && items.length > 0 ? (
          <div class="actions">
            <button type="button" class="danger small" onClick={() => setEnding('all')}>
              End all sessions
            </button>
          </div>
        ) : null}
      </div>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={sessions.error} />
      {sessions.loading && !sessions.data ? <p class="muted">Loading sessions…</p> : null}
      {sessions.data && items.length === 0 ? <p class="muted">No live sessions: {who} is not signed in anywhere.</p> : null}
      {items.length > 0 ? (
        <div class="table-wrap">
          <table class="sessions">
            <thead>
              <tr>
                <th scope="col">Signed in</th>
                <th scope="col">Last used</th>
                <th scope="col">From</th>
                <th scope="col">Kind</th>
                <th scope="col">Expires</th>
                {canWrite ? (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>{formatDate(s.auth_time)}</td>
                  <td>{s.last_used_at ? formatDate(s.last_used_at) : <span class="muted">not since</span>}</td>
                  <td>
                    {s.client_ip ?? <span class="muted">unknown address</span>}
                    {s.user_agent ? <div class="muted user-agent">{s.user_agent}</div> : null}
                  </td>
                  <td>{s.kind === 'browser' ? 'Browser sign-in' : 'Password-grant login'}{s.clients.length > 0 ? <div class="muted">{s.clients.join(', ')}</div> : null}</td>
                  <td>{s.expires_at ? formatDate(s.expires_at) : <span class="muted">with its refresh tokens</span>}</td>
                  {canWrite ? (
                    <td>
                      <button type="button" class="secondary small" aria-label={`End the session signed in ${formatDate(s.auth_time)}`} onClick={() => setEnding(s)}>
                        End
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {ending ? (
        <ConfirmDialog
          title={ending === 'all' ? `End all ${items.length} sessions of ${who}?` : `End this session of ${who}?`}
          confirmLabel={ending === 'all' ? 'End all sessions' : 'End session'}
          onConfirm={async () => {
            if (ending === 'all') await api(path, { method: 'DELETE' });
            else await api(`${path}/${encodeURIComponent(ending.id)}`, { method: 'DELETE' });
            setNotice(ending === 'all' ? 'Every session ended.' : 'The session ended.');
            sessions.reload();
          }}
          onClose={() => setEnding(undefined)}
        >
          <p>
            {ending === 'all'
              ? `${who} is signed out everywhere: every access and refresh token of these sessions stops working at once. Their password stays as it is, so they can sign in again.`
              : `${who} is signed out of ${ending.kind === 'browser' ? 'this browser sign-in' : 'this login'}${ending.client_ip ? ` (from ${ending.client_ip})` : ''}: its tokens stop working at once. They can sign in again.`}
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
