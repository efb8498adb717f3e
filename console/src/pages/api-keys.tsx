import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { CursorPager, useCursorPages } from '../components/group-cursor-pager.tsx';
import { RoleBadges } from '../components/group-roles-field.tsx';
import { KeyMintForm, type MintedKey } from '../components/key-mint-form.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { SecretOnce } from '../components/secret-once.tsx';
import { formatDate } from '../format.ts';
import { useAsync, useStored } from '../hooks.ts';
import { useSession } from '../session.tsx';
import type { ApiKey, CursorPage } from '../types.ts';
import './groups.css';

const PAGE_SIZE = 100;

const expired = (k: ApiKey) => k.expires_at !== null && new Date(k.expires_at).getTime() <= Date.now();

function KeyStatus({ k }: { k: ApiKey }) {
  if (!k.is_active) return <span class="badge off">Deactivated {formatDate(k.deactivated_at)}</span>;
  if (expired(k)) return <span class="badge warn">Expired</span>;
  return <span class="badge ok">Active</span>;
}

/** API keys: the list (prefix, roles, last use, expiry, state), minting one (its secret shown once), deactivating. */
export function ApiKeysPage(_props: { params: Record<string, string> }) {
  const { can } = useSession();
  const write = can('keys:write');
  const pages = useCursorPages();
  const [showInactive, setShowInactive] = useStored('keys.showDeactivated', false);
  const [minting, setMinting] = useState(false);
  const [minted, setMinted] = useState<MintedKey>();
  const [deactivating, setDeactivating] = useState<ApiKey>();
  const [notice, setNotice] = useState<string>();
  const list = useAsync((signal) => api<CursorPage<ApiKey>>('/auth/api_keys', { query: { page_size: PAGE_SIZE, cursor: pages.cursor }, signal }), [pages.cursor]);
  const items = list.data?.items ?? [];
  const shown = showInactive ? items : items.filter((k) => k.is_active);
  const hidden = items.length - shown.length;
  return (
    <section>
      <PageHeader title="API keys">
        {write && !minting ? (
          <button
            type="button"
            onClick={() => {
              setMinting(true);
              setMinted(undefined);
              setNotice(undefined);
            }}
          >
            Mint a key
          </button>
        ) : null}
      </PageHeader>
      <p class="muted">Programs call Gatehouse with an API key. Only its first characters (the prefix) are kept readable; the secret is shown once, when it is minted.</p>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      {minted ? (
        <div class="panel">
          <SecretOnce label={`The key ${minted.prefix}…`} secret={minted.key} note="Copy it now and store it where the application reads it: Gatehouse keeps only a hash and cannot show it again." />
          <button type="button" class="secondary" onClick={() => setMinted(undefined)}>
            Done: I have stored it
          </button>
        </div>
      ) : null}
      {minting ? (
        <div class="panel">
          <h2>Mint a key</h2>
          <KeyMintForm
            onCancel={() => setMinting(false)}
            onMinted={(k) => {
              setMinting(false);
              setMinted(k);
              list.reload();
            }}
          />
        </div>
      ) : null}
      <div class="toolbar">
        <label class="inline-check">
          <input type="checkbox" checked={showInactive} onChange={(e) => setShowInactive((e.currentTarget as HTMLInputElement).checked)} />
          Show deactivated keys
        </label>
        {hidden > 0 ? (
          <span class="muted">
            {hidden} deactivated {hidden === 1 ? 'key' : 'keys'} hidden
          </span>
        ) : null}
      </div>
      <ErrorMessage error={list.error} />
      {/* Focusable: a wide table scrolls sideways, and a keyboard must be able to scroll it too. */}
      <div class="table-wrap" role="region" aria-label="API keys, scrollable" tabIndex={0}>
        <table class="keys-table">
          <caption class="visually-hidden">API keys</caption>
          <thead>
            <tr>
              <th scope="col">Prefix</th>
              <th scope="col">Description</th>
              <th scope="col">Roles</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
              {write ? (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {shown.map((k) => (
              <tr key={k.id}>
                <td class="nowrap">
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.description ?? <span class="muted">—</span>}</td>
                <td>
                  <RoleBadges roles={k.roles} />
                </td>
                <td>{formatDate(k.created_at)}</td>
                <td>{k.last_used_at ? formatDate(k.last_used_at) : <span class="muted">Never</span>}</td>
                <td>{k.expires_at ? formatDate(k.expires_at) : <span class="muted">Never</span>}</td>
                <td>
                  <KeyStatus k={k} />
                </td>
                {write ? (
                  <td class="nowrap">
                    {k.is_active ? (
                      <button type="button" class="secondary small" aria-label={`Deactivate ${k.prefix}…`} onClick={() => setDeactivating(k)}>
                        Deactivate
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
        {list.data && shown.length === 0 ? <p class="empty">{items.length === 0 ? 'No API keys.' : 'No active keys on this page.'}</p> : null}
        {!list.data && list.loading ? <p class="empty">Loading keys…</p> : null}
      </div>
      <CursorPager label="Pages of API keys" pages={pages} nextCursor={list.data?.next_cursor} />
      {deactivating ? (
        <ConfirmDialog
          title={`Deactivate the key ${deactivating.prefix}…?`}
          confirmLabel="Deactivate key"
          onClose={() => setDeactivating(undefined)}
          onConfirm={async () => {
            await api(`/auth/api_keys/deactivate/${encodeURIComponent(deactivating.id)}`, { method: 'DELETE' });
            setNotice(`The key ${deactivating.prefix}… was deactivated.`);
            list.reload();
          }}
        >
          <p>
            Applications using {deactivating.prefix}… stop working at once: every request made with it is refused. A deactivated key cannot be turned
            back on; mint a new one instead.
          </p>
          {deactivating.description ? <p class="muted">This key is described as “{deactivating.description}”.</p> : null}
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
