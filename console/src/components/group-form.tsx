import { useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import { ErrorMessage } from './error-message.tsx';
import { RolesField } from './group-roles-field.tsx';

export interface GroupFields {
  name: string;
  description: string | null;
  roles: string[];
}

/**
 * A group's name, description and roles: to create one, or to change one. The API's field problems (a taken name, a
 * name too long) are shown next to their inputs and the whole message above the buttons.
 */
export function GroupForm({ initial, submitLabel, onSubmit, onCancel, idPrefix }: { initial: GroupFields; submitLabel: string; onSubmit(fields: GroupFields): Promise<void>; onCancel?: () => void; idPrefix: string }) {
  const [name, setName] = useState(initial.name);
  const [description, setDescription] = useState(initial.description ?? '');
  const [roles, setRoles] = useState(initial.roles);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const fields = error instanceof ApiError ? error.fields : {};
  const nameError = fields.name ?? (error instanceof ApiError && error.status === 409 ? error.message : undefined);
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
          await onSubmit({ name: name.trim(), description: description.trim() === '' ? null : description.trim(), roles });
        } catch (err) {
          setError(err as Error);
        } finally {
          setBusy(false);
        }
      }}
    >
      <div class="field">
        <label for={`${idPrefix}-name`}>Name</label>
        <input
          id={`${idPrefix}-name`}
          type="text"
          required
          maxLength={100}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          aria-invalid={nameError ? true : undefined}
          aria-describedby={nameError ? `${idPrefix}-name-error` : undefined}
        />
        {nameError ? (
          <p class="field-error" id={`${idPrefix}-name-error`}>
            {nameError}
          </p>
        ) : null}
      </div>
      <div class="field">
        <label for={`${idPrefix}-description`}>Description</label>
        <textarea id={`${idPrefix}-description`} maxLength={500} value={description} onInput={(e) => setDescription(e.currentTarget.value)} aria-describedby={`${idPrefix}-description-hint`} />
        <p class="hint" id={`${idPrefix}-description-hint`}>
          Optional: who belongs here and why.
        </p>
      </div>
      <RolesField legend="Roles every member gets" value={roles} onChange={setRoles} error={fields.roles} idPrefix={idPrefix} />
      <ErrorMessage error={error} />
      <div class="form-actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : submitLabel}
        </button>
        {onCancel ? (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}
