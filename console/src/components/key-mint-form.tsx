import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import type { ApiKey } from '../types.ts';
import { ErrorMessage } from './error-message.tsx';
import { RolesField } from './group-roles-field.tsx';

export type MintedKey = ApiKey & { key: string };

/**
 * Mint an API key: what it is for, its roles, and when it stops working (optional). The datetime-local input is the
 * operator's local time; it is sent as an ISO 8601 instant.
 */
export function KeyMintForm({ onMinted, onCancel }: { onMinted(key: MintedKey): void; onCancel(): void }) {
  const [description, setDescription] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const fields = error instanceof ApiError ? error.fields : {};
  const rolesError = fields.roles;
  const expiresError = fields.expires_at;
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        if (roles.length === 0) {
          setError(new ApiError('Choose at least one role: a key without roles may do nothing.', 422, { roles: 'Choose at least one role.' }));
          return;
        }
        setBusy(true);
        try {
          const body = { description: description.trim() === '' ? null : description.trim(), roles, expires_at: expires === '' ? null : new Date(expires).toISOString() };
          onMinted(await api<MintedKey>('/auth/api_keys', { method: 'POST', body }));
        } catch (err) {
          setError(err as Error);
        } finally {
          setBusy(false);
        }
      }}
    >
      <div class="field">
        <label for="key-description">Description</label>
        <input id="key-description" type="text" maxLength={200} value={description} onInput={(e) => setDescription(e.currentTarget.value)} aria-describedby="key-description-hint" />
        <p class="hint" id="key-description-hint">
          Which application or person uses it, so that it can be recognised later.
        </p>
      </div>
      <RolesField legend="Roles" value={roles} onChange={setRoles} error={rolesError} idPrefix="key" />
      <div class="field">
        <label for="key-expires">Expires</label>
        <input
          id="key-expires"
          type="datetime-local"
          value={expires}
          onInput={(e) => setExpires(e.currentTarget.value)}
          aria-describedby={expiresError ? 'key-expires-hint key-expires-error' : 'key-expires-hint'}
          aria-invalid={expiresError ? true : undefined}
        />
        <p class="hint" id="key-expires-hint">
          Optional, in your time zone. From then on the key is refused. Empty: it works until it is deactivated.
        </p>
        {expiresError ? (
          <p class="field-error" id="key-expires-error">
            {expiresError}
          </p>
        ) : null}
      </div>
      <ErrorMessage error={error} />
      <div class="form-actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Minting…' : 'Mint key'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
