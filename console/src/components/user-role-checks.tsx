import type { RoleInfo } from '../types.ts';

/** The assignable roles as checkboxes (GET /roles never lists ADMIN-KEY), each with its description. */
export function RoleChecks({ roles, value, onChange, error, idPrefix }: { roles: RoleInfo[]; value: string[]; onChange(next: string[]): void; error?: string | undefined; idPrefix: string }) {
  return (
    <fieldset class="checks role-checks" aria-describedby={error ? `${idPrefix}-roles-error` : undefined}>
      <legend>Roles</legend>
      {roles.map((r) => (
        <label key={r.name} title={r.description}>
          <input
            type="checkbox"
            checked={value.includes(r.name)}
            onChange={(e) => onChange(e.currentTarget.checked ? [...value, r.name] : value.filter((n) => n !== r.name))}
          />
          {r.name}
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
