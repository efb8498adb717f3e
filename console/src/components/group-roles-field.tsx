import { Fragment } from 'preact';
import { useSession } from '../session.tsx';

/**
 * Role checkboxes for a group or an API key: every role Gatehouse knows (GET /roles, loaded with the session), with
 * what it may do as a hint. ADMIN-KEY belongs to the configured admin key alone and cannot be given.
 */
export function RolesField({ legend, value, onChange, error, idPrefix }: { legend: string; value: string[]; onChange(roles: string[]): void; error?: string | undefined; idPrefix: string }) {
  const { roles } = useSession();
  const assignable = roles.filter((r) => r.name !== 'ADMIN-KEY');
  return (
    <fieldset class="checks roles-field" aria-describedby={error ? `${idPrefix}-roles-error` : undefined}>
      <legend>{legend}</legend>
      {assignable.map((r) => (
        <label key={r.name} title={r.description}>
          <input
            type="checkbox"
            checked={value.includes(r.name)}
            onChange={(e) => onChange((e.currentTarget as HTMLInputElement).checked ? [...value, r.name] : value.filter((n) => n !== r.name))}
          />
          {r.name}
          {r.permissions.length > 0 ? <span class="muted role-perms">({r.permissions.join(', ')})</span> : null}
        </label>
      ))}
      {error ? (
        <p class="field-error" id={`${idPrefix}-roles-error`}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

/** Roles as badges, or a dash when there are none. */
export function RoleBadges({ roles }: { roles: string[] }) {
  if (roles.length === 0) return <span class="muted">—</span>;
  return (
    <>
      {roles.map((r) => (
        // The space keeps the names apart for screen readers and copied text.
        <Fragment key={r}>
          <span class="badge">{r}</span>{' '}
        </Fragment>
      ))}
    </>
  );
}
