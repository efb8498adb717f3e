import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { Client } from '../types.ts';
import { ErrorMessage } from './error-message.tsx';
import { UriFields, uriLines, uriProblem } from './client-fields.tsx';

/** Change an application's name and URIs (PATCH); the API's refusal (an invalid URI) is shown in words. */
export function ClientEditForm({ client, onSaved }: { client: Client; onSaved(client: Client): void }) {
  const [name, setName] = useState(client.client_name ?? '');
  const [redirect, setRedirect] = useState(client.redirect_uris.join('\n'));
  const [postLogout, setPostLogout] = useState(client.post_logout_redirect_uris.join('\n'));
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
          const body = { client_name: name.trim() === '' ? null : name.trim(), redirect_uris: uriLines(redirect), post_logout_redirect_uris: uriLines(postLogout) };
          onSaved(await api<Client>(`/auth/clients/${encodeURIComponent(client.client_id)}`, { method: 'PATCH', body }));
        } catch (err) {
          setError(err as Error);
        } finally {
          setBusy(false);
        }
      }}
    >
      <div class="field">
        <label for="client-name">Name</label>
        <input id="client-name" type="text" maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </div>
      <UriFields redirect={redirect} postLogout={postLogout} onRedirect={setRedirect} onPostLogout={setPostLogout} problem={problem} />
      <ErrorMessage error={problem ? problem.message : undefined} />
      <div class="form-actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save changes'}
        </button>
      </div>
    </form>
  );
}
