import { ApiError } from '../api.ts';
import type { Client } from '../types.ts';

/** Text with one URI a line, as the API's list (blank lines and surrounding spaces ignored). */
export const uriLines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

export const clientType = (c: Pick<Client, 'token_endpoint_auth_method'>) => (c.token_endpoint_auth_method === 'none' ? 'Public' : 'Confidential');

/**
 * The API names the field in its OAuth error (`redirect_uris: "x" is not an absolute URI`): said in words, and
 * told to the input it is about.
 */
export function uriProblem(error: Error | undefined): { field?: 'redirect' | 'post_logout'; message: string } | undefined {
  if (!error) return undefined;
  const message = error.message.replace(/^post_logout_redirect_uris\b/, 'Post-logout redirect URIs').replace(/^redirect_uris\b/, 'Redirect URIs').replace(/^client_name\b/, 'Name');
  if (!(error instanceof ApiError) || error.status !== 400) return { message };
  if (message.startsWith('Post-logout redirect URIs')) return { field: 'post_logout', message };
  if (message.startsWith('Redirect URIs')) return { field: 'redirect', message };
  return { message };
}

/** The URI inputs both the register and the edit form show. */
export function UriFields({
  redirect,
  postLogout,
  onRedirect,
  onPostLogout,
  problem,
}: {
  redirect: string;
  postLogout: string;
  onRedirect(text: string): void;
  onPostLogout(text: string): void;
  problem: ReturnType<typeof uriProblem>;
}) {
  return (
    <>
      <div class="field">
        <label for="client-redirects">Redirect URIs</label>
        <textarea
          id="client-redirects"
          required
          value={redirect}
          onInput={(e) => onRedirect(e.currentTarget.value)}
          aria-invalid={problem?.field === 'redirect' ? true : undefined}
          aria-describedby={problem?.field === 'redirect' ? 'client-redirects-hint client-redirects-error' : 'client-redirects-hint'}
        />
        <p class="hint" id="client-redirects-hint">
          One per line: where Gatehouse may send users back after they sign in (compared as exact strings), e.g. https://app.example.com/callback.
        </p>
        {problem?.field === 'redirect' ? (
          <p class="field-error" id="client-redirects-error">
            {problem.message}
          </p>
        ) : null}
      </div>
      <div class="field">
        <label for="client-post-logout">Post-logout redirect URIs</label>
        <textarea
          id="client-post-logout"
          value={postLogout}
          onInput={(e) => onPostLogout(e.currentTarget.value)}
          aria-invalid={problem?.field === 'post_logout' ? true : undefined}
          aria-describedby={problem?.field === 'post_logout' ? 'client-post-logout-hint client-post-logout-error' : 'client-post-logout-hint'}
        />
        <p class="hint" id="client-post-logout-hint">
          Optional, one per line: where users may land after signing out.
        </p>
        {problem?.field === 'post_logout' ? (
          <p class="field-error" id="client-post-logout-error">
            {problem.message}
          </p>
        ) : null}
      </div>
    </>
  );
}
