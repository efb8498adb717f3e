import { useState } from 'preact/hooks';
import { rawRequest, type Query } from '../api.ts';
import { ErrorMessage } from './error-message.tsx';

/**
 * Downloads GET /users/export for the current filters. A plain link cannot send the bearer token, so the file is
 * fetched, read into a Blob and handed to the browser through an object URL and `<a download>` (a download is not
 * something the console's Content-Security-Policy restricts).
 */
export function UserExportButton({ query }: { query: Query }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  async function download() {
    setBusy(true);
    setError(undefined);
    try {
      const res = await rawRequest('/users/export', { query });
      const blob = await res.blob();
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'users.csv';
      const href = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = href;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      // The browser has taken the file once the click is handled; keep the URL a little longer for slow ones.
      setTimeout(() => URL.revokeObjectURL(href), 30_000);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <button type="button" class="secondary" disabled={busy} onClick={() => void download()}>
        {busy ? 'Exporting…' : 'Export CSV'}
      </button>
      {error ? <ErrorMessage error={error} title="The export failed." /> : null}
    </>
  );
}
