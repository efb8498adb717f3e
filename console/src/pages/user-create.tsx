import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { ErrorMessage } from '../components/error-message.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { PasswordRules } from '../components/user-password-rules.tsx';
import { RoleChecks } from '../components/user-role-checks.tsx';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { User } from '../types.ts';
import { handOverPassword } from './user-flash.ts';
import { generatePassword } from './user-password.ts';
import './users.css';

/** A new user: names, email, roles and a first password (typed, or generated here), temporary or not. */
export function UserCreatePage(_props: { params: Record<string, string> }) {
  const session = useSession();
  const [email, setEmail] = useState('');
  const [firstName, setFirstName] = useState('');
  const [lastName, setLastName] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [password, setPassword] = useState('');
  const [generated, setGenerated] = useState(false);
  const [visible, setVisible] = useState(false);
  const [temporary, setTemporary] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error>();
  const fields = error instanceof ApiError ? error.fields : {};
  const emailError = fields.email ?? (error instanceof ApiError && error.status === 409 ? error.message : undefined);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const user = await api<User>('/users', {
        method: 'POST',
        body: { email, firstName, lastName, roles, password, temporary },
      });
      if (generated) handOverPassword(user.id, password);
      navigate(`users/${encodeURIComponent(user.id)}`);
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  }

  const described = (id: string, err: string | undefined, hint?: string) => [hint, err ? id : undefined].filter(Boolean).join(' ') || undefined;

  return (
    <section>
      <PageHeader title="New user" />
      <form class="panel user-form create-form" noValidate onSubmit={submit}>
        <div class="form-2">
          <div class="field span-2">
            <label for="new-email">Email</label>
            <input id="new-email" type="email" autocomplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} aria-invalid={emailError ? 'true' : undefined} aria-describedby={described('new-email-error', emailError)} />
            {emailError ? <p class="field-error" id="new-email-error">{emailError}</p> : null}
          </div>
          <div class="field">
            <label for="new-first">First name</label>
            <input id="new-first" type="text" autocomplete="off" value={firstName} onInput={(e) => setFirstName(e.currentTarget.value)} aria-invalid={fields.firstName ? 'true' : undefined} aria-describedby={described('new-first-error', fields.firstName)} />
            {fields.firstName ? <p class="field-error" id="new-first-error">{fields.firstName}</p> : null}
          </div>
          <div class="field">
            <label for="new-last">Last name</label>
            <input id="new-last" type="text" autocomplete="off" value={lastName} onInput={(e) => setLastName(e.currentTarget.value)} aria-invalid={fields.lastName ? 'true' : undefined} aria-describedby={described('new-last-error', fields.lastName)} />
            {fields.lastName ? <p class="field-error" id="new-last-error">{fields.lastName}</p> : null}
          </div>
        </div>
        <RoleChecks roles={session.roles} value={roles} onChange={setRoles} error={fields.roles} idPrefix="new" />
        <div class="form-2">
          <div class="field">
            <label for="new-password">Password</label>
            <div class="password-row">
              <input
                id="new-password"
                type={(visible ? 'text' : 'password') as 'text'}
                autocomplete="new-password"
                value={password}
                onInput={(e) => {
                  setPassword(e.currentTarget.value);
                  setGenerated(false);
                }}
                aria-invalid={fields.password ? 'true' : undefined}
                aria-describedby={described('new-password-error', fields.password, 'new-password-rules')}
              />
              <button type="button" class="secondary small" aria-pressed={visible} onClick={() => setVisible(!visible)}>
                {visible ? 'Hide' : 'Show'}
              </button>
              <button
                type="button"
                class="secondary small"
                onClick={() => {
                  setPassword(generatePassword());
                  setGenerated(true);
                  setVisible(true);
                  setTemporary(true);
                }}
              >
                Generate a temporary password
              </button>
            </div>
            {fields.password ? <p class="field-error" id="new-password-error">{fields.password}</p> : null}
            {generated ? <p class="hint">Generated in this browser. It is shown again, once, on the user’s page.</p> : null}
          </div>
          <PasswordRules id="new-password-rules" password={password} />
        </div>
        <div class="checks">
          <label>
            <input type="checkbox" checked={temporary} onChange={(e) => setTemporary(e.currentTarget.checked)} />
            Temporary: the user must choose a new password at first sign-in
          </label>
        </div>
        {error && !(error instanceof ApiError && (Object.keys(error.fields).length > 0 || error.status === 409)) ? <ErrorMessage error={error} /> : null}
        {error instanceof ApiError && Object.keys(error.fields).length > 0 ? <ErrorMessage error="Some values need correcting: see the messages by the fields." /> : null}
        <div class="form-actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create user'}
          </button>
          <Link href="users" class="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
