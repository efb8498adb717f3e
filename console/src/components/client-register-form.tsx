import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { Client } from '../types.ts';
import { ErrorMessage } from './error-message.tsx';
import { UriFields, uriLines, uriProblem } from './client-fields.tsx';

export type RegisteredClient = Client & { client_secret?: string };

/** Register an application: its name, where users come back to, and whether it can keep a secret. */
export function ClientRegisterForm({ onRegistered, onCancel }: { onRegistered(client: RegisteredClient): void; onCancel(): void }) {
  const [name, setName] = useState('');
  const [redirect, setRedirect] = useState('');
  const [postLogout, setPostLogout] = useState('');
  const [type, setType] = useState<'confidential' | 'public'>('confidential');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const problem = uriProblem(error);
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
          const body = {
            client_name: name.trim(),
            redirect_uris: uriLines(redirect),
            post_logout_redirect_uris: uriLines(postLogout),
            token_endpoint_auth_method: type === 'public' ? 'none' : 'client_secret_basic',
          };
          onRegistered(await api<RegisteredClient>('/auth/clients', { method: 'POST', body }));
        } catch (err) {
          setError(err as Error);
        } finally {
          setBusy(false);
        }
      }}
    >
      <div class="field">
        <label for="client-name">Name</label>
        <input id="client-name" type="text" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} aria-describedby="client-name-hint" />
        <p class="hint" id="client-name-hint">
          Shown to users on the sign-in page.
        </p>
      </div>
      <UriFields redirect={redirect} postLogout={postLogout} onRedirect={setRedirect} onPostLogout={setPostLogout} problem={problem} />
      <fieldset class="checks client-type">
        <legend>Type</legend>
        <label>
          <input type="radio" name="client-type" value="confidential" checked={type === 'confidential'} onChange={() => setType('confidential')} />
          Confidential: a server-side web application; it gets a client secret
        </label>
        <label>
          <input type="radio" name="client-type" value="public" checked={type === 'public'} onChange={() => setType('public')} />
          Public: a single-page or mobile application; no secret, it must use PKCE
        </label>
      </fieldset>
      <ErrorMessage error={problem ? problem.message : undefined} />
      <div class="form-actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Registering…' : 'Register application'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
