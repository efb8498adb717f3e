import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { clientType } from '../components/client-fields.tsx';
import { ClientRegisterForm, type RegisteredClient } from '../components/client-register-form.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { SecretOnce } from '../components/secret-once.tsx';
import { formatDate } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { Link, useRoute } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { Client } from '../types.ts';
import './groups.css';

const registeredAt = (c: Client) => new Date(c.client_id_issued_at * 1000).toISOString();

/** The applications users sign in to with Gatehouse (OpenID Connect clients): the list, and registering one. */
export function ClientsPage(_props: { params: Record<string, string> }) {
  const { can } = useSession();
  const write = can('clients:write');
  const { query } = useRoute();
  const deleted = query.get('deleted');
  const [registering, setRegistering] = useState(false);
  const [registered, setRegistered] = useState<RegisteredClient>();
  const list = useAsync((signal) => api<Client[]>('/auth/clients', { signal }), []);
  return (
    <section>
      <PageHeader title="Applications">
        {write && !registering ? (
          <button
            type="button"
            onClick={() => {
              setRegistering(true);
              setRegistered(undefined);
            }}
          >
            Register an application
          </button>
        ) : null}
      </PageHeader>
      <p class="muted">
        Applications send their users to Gatehouse's sign-in page (OpenID Connect). This console is one of them: the built-in public client{' '}
        <code>gatehouse-console</code>, which is not listed here and cannot be changed.
      </p>
      {deleted ? (
        <p class="notice" role="status">
          The application “{deleted}” was deleted.
        </p>
      ) : null}
      {registered ? (
        <div class="panel">
          <p class="notice" role="status">
            {registered.client_name ?? registered.client_id} is registered. Its client id is <code>{registered.client_id}</code>.{' '}
            <Link href={`clients/${encodeURIComponent(registered.client_id)}`}>Open it</Link>
          </p>
          {registered.client_secret ? (
            <>
              <SecretOnce label="Client secret" secret={registered.client_secret} />
              <button type="button" class="secondary" onClick={() => setRegistered(undefined)}>
                Done: I have stored it
              </button>
            </>
          ) : null}
        </div>
      ) : null}
      {registering ? (
        <div class="panel">
          <h2>Register an application</h2>
          <ClientRegisterForm
            onCancel={() => setRegistering(false)}
            onRegistered={(c) => {
              setRegistering(false);
              setRegistered(c);
              list.reload();
            }}
          />
        </div>
      ) : null}
      <ErrorMessage error={list.error} />
      {/* Focusable: a wide table scrolls sideways, and a keyboard must be able to scroll it too. */}
      <div class="table-wrap" role="region" aria-label="Applications, scrollable" tabIndex={0}>
        <table>
          <caption class="visually-hidden">Applications</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Client id</th>
              <th scope="col">Type</th>
              <th scope="col">Redirect URIs</th>
              <th scope="col">Registered</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.map((c) => (
              <tr key={c.client_id}>
                <td>
                  <Link href={`clients/${encodeURIComponent(c.client_id)}`}>{c.client_name ?? c.client_id}</Link>
                </td>
                <td>
                  <code>{c.client_id}</code>
                </td>
                <td>
                  <span class="badge">{clientType(c)}</span>
                </td>
                <td>
                  <ul class="uri-list">
                    {c.redirect_uris.map((u) => (
                      <li key={u}>{u}</li>
                    ))}
                  </ul>
                </td>
                <td class="nowrap">{formatDate(registeredAt(c))}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.data && list.data.length === 0 ? <p class="empty">No applications registered yet.</p> : null}
        {!list.data && list.loading ? <p class="empty">Loading applications…</p> : null}
      </div>
    </section>
  );
}
