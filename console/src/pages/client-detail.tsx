import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ClientEditForm } from '../components/client-edit-form.tsx';
import { clientType } from '../components/client-fields.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { SecretOnce } from '../components/secret-once.tsx';
import { formatDate } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { Client } from '../types.ts';
import './groups.css';

/** One application: what it is, its name and URIs (editable), a new secret, and deleting it. */
export function ClientDetailPage({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const { can } = useSession();
  const write = can('clients:write');
  const client = useAsync((signal) => api<Client>(`/auth/clients/${encodeURIComponent(id)}`, { signal }), [id]);
  const [notice, setNotice] = useState<string>();
  const [secret, setSecret] = useState<string>();
  const [rotating, setRotating] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const c = client.data;
  if (!c) {
    return (
      <section>
        <p>
          <Link href="clients">← All applications</Link>
        </p>
        <PageHeader title="Application" />
        <ErrorMessage error={client.error} />
        {client.loading ? <p class="muted">Loading the application…</p> : null}
      </section>
    );
  }
  const name = c.client_name ?? c.client_id;
  const confidential = c.token_endpoint_auth_method !== 'none';
  return (
    <section>
      <p>
        <Link href="clients">← All applications</Link>
      </p>
      <PageHeader title={name}>
        {write && confidential ? (
          <button type="button" class="secondary" onClick={() => setRotating(true)}>
            Rotate secret
          </button>
        ) : null}
        {write ? (
          <button type="button" class="danger" onClick={() => setDeleting(true)}>
            Delete application
          </button>
        ) : null}
      </PageHeader>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      {secret ? (
        <div class="panel">
          <SecretOnce label="New client secret" secret={secret} note="Copy it now and configure the application with it: the old secret no longer works, and Gatehouse keeps only a hash." />
          <button type="button" class="secondary" onClick={() => setSecret(undefined)}>
            Done: I have stored it
          </button>
        </div>
      ) : null}
      <div class="grid-2">
        <div class="panel">
          <h2>About</h2>
          <dl class="facts">
            <dt>Client id</dt>
            <dd>
              <code>{c.client_id}</code>
            </dd>
            <dt>Type</dt>
            <dd>{confidential ? `Confidential (authenticates with its secret: ${c.token_endpoint_auth_method})` : 'Public (no secret; PKCE)'}</dd>
            <dt>Grant types</dt>
            <dd>{c.grant_types.join(', ')}</dd>
            <dt>Registered</dt>
            <dd>{formatDate(new Date(c.client_id_issued_at * 1000).toISOString())}</dd>
            <dt>Changed</dt>
            <dd>{formatDate(c.updated_at)}</dd>
          </dl>
        </div>
        <div class="panel">
          <h2>Name and addresses</h2>
          {write ? (
            <ClientEditForm
              key={c.updated_at}
              client={c}
              onSaved={() => {
                setNotice('Changes saved.');
                client.reload();
              }}
            />
          ) : (
            <dl class="facts">
              <dt>Name</dt>
              <dd>{c.client_name ?? '—'}</dd>
              <dt>Redirect URIs</dt>
              <dd>
                <ul class="uri-list">
                  {c.redirect_uris.map((u) => (
                    <li key={u}>{u}</li>
                  ))}
                </ul>
              </dd>
              <dt>Post-logout URIs</dt>
              <dd>
                <ul class="uri-list">
                  {c.post_logout_redirect_uris.map((u) => (
                    <li key={u}>{u}</li>
                  ))}
                </ul>
                {c.post_logout_redirect_uris.length === 0 ? '—' : null}
              </dd>
            </dl>
          )}
        </div>
      </div>
      {rotating ? (
        <ConfirmDialog
          title={`Give ${name} a new secret?`}
          confirmLabel="Rotate secret"
          onClose={() => setRotating(false)}
          onConfirm={async () => {
            const rotated = await api<Client & { client_secret?: string }>(`/auth/clients/${encodeURIComponent(id)}/secret`, { method: 'POST' });
            setNotice(undefined);
            setSecret(rotated.client_secret);
            client.reload();
          }}
        >
          <p>
            The current secret stops working at once: {name} cannot sign users in or refresh their tokens until it is configured with the new secret,
            which is shown once, next.
          </p>
        </ConfirmDialog>
      ) : null}
      {deleting ? (
        <ConfirmDialog
          title={`Delete the application ${name}?`}
          confirmLabel="Delete application"
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await api(`/auth/clients/${encodeURIComponent(id)}`, { method: 'DELETE' });
            navigate(`clients?deleted=${encodeURIComponent(name)}`);
          }}
        >
          <p>
            Its users are signed out of it: every token issued to {name} stops working at once, and it can no longer send anyone to sign in. Registering it
            again gives it a new client id. This cannot be undone.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
