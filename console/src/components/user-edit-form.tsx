import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { useSession } from '../session.tsx';
import type { User } from '../types.ts';
import { ErrorMessage } from './error-message.tsx';
import { RoleChecks } from './user-role-checks.tsx';

/** Names, email and own roles of one user; only what changed is sent, and 422s are shown by their fields. */
export function UserEditForm({ user, onSaved }: { user: User; onSaved(user: User): void }) {
  const session = useSession();
  const canWrite = session.can('users:write');
  const [firstName, setFirstName] = useState(user.first_name ?? '');
  const [lastName, setLastName] = useState(user.last_name ?? '');
  const [email, setEmail] = useState(user.email);
  const [roles, setRoles] = useState(user.roles.map((r) => r.name));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);
  const fields = error instanceof ApiError ? error.fields : {};
  const emailError = fields.email ?? (error instanceof ApiError && error.status === 409 ? error.message : undefined);

  const before = user.roles.map((r) => r.name);
  const rolesChanged = roles.length !== before.length || roles.some((r) => !before.includes(r));
  const changes: Record<string, unknown> = {};
  if (firstName !== (user.first_name ?? '')) changes.firstName = firstName;
  if (lastName !== (user.last_name ?? '')) changes.lastName = lastName;
  if (email.trim().toLowerCase() !== user.email) changes.email = email;
  if (rolesChanged) changes.roles = roles;
  const dirty = Object.keys(changes).length > 0;

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      const updated = await api<User>(`/users/${encodeURIComponent(user.id)}`, { method: 'PATCH', body: changes });
      setEmail(updated.email);
      setSaved(true);
      onSaved(updated);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  const input = (id: string, label: string, value: string, set: (v: string) => void, err: string | undefined, type: 'text' | 'email' = 'text') => (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        type={type as 'text'}
        value={value}
        readOnly={!canWrite}
        autocomplete="off"
        onInput={(e) => {
          set(e.currentTarget.value);
          setSaved(false);
        }}
        aria-invalid={err ? 'true' : undefined}
        aria-describedby={err ? `${id}-error` : undefined}
      />
      {err ? (
        <p class="field-error" id={`${id}-error`}>
          {err}
        </p>
      ) : null}
    </div>
  );

  return (
    <form class="panel user-form" noValidate onSubmit={submit} aria-labelledby="profile-title">
      <h2 id="profile-title">Profile and roles</h2>
      <div class="grid-2">
        {input('user-first', 'First name', firstName, setFirstName, fields.firstName)}
        {input('user-last', 'Last name', lastName, setLastName, fields.lastName)}
      </div>
      {input('user-email', 'Email', email, setEmail, emailError, 'email')}
      {canWrite ? (
        <RoleChecks roles={session.roles} value={roles} onChange={(r) => (setRoles(r), setSaved(false))} error={fields.roles} idPrefix="user" />
      ) : (
        <p>
          <strong>Roles:</strong> {before.length > 0 ? before.join(', ') : 'none of its own'}
        </p>
      )}
      {error && !(error instanceof ApiError && (Object.keys(error.fields).length > 0 || error.status === 409)) ? <ErrorMessage error={error} /> : null}
      {saved ? (
        <p class="notice" role="status">
          Saved.
        </p>
      ) : null}
      {canWrite ? (
        <div class="form-actions">
          <button type="submit" disabled={busy || !dirty}>
            {busy ? 'Saving…' : 'Save changes'}
          </button>
        </div>
      ) : null}
    </form>
  );
}
