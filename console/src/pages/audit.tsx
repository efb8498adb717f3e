import { useEffect, useState } from 'preact/hooks';
import { api, rawRequest, url } from '../api.ts';
import { AuditEventRow } from '../components/audit-event-row.tsx';
import { AuditFilters, FILTER_KEYS, filtersFrom, type AuditFilterValues } from '../components/audit-filters.tsx';
import { useNames } from '../components/audit-names.tsx';
import { AuditVerificationPanel } from '../components/audit-verification-panel.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { useAsync } from '../hooks.ts';
import { navigate, useRoute } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { AuditEvent, CursorPage } from '../types.ts';
import './groups.css';
import './audit.css';

const PAGE_SIZE = 50;

/** The API's filters for the address's: empty ones left out. */
const apiQuery = (f: AuditFilterValues) => Object.fromEntries(FILTER_KEYS.filter((k) => f[k] !== '').map((k) => [k, f[k]]));

/** Saves the JSON Lines of the time range through a Blob (the console's policy allows no data: URLs). */
async function download(f: AuditFilterValues): Promise<void> {
  const res = await rawRequest('/audit/export', { query: { from: f.from || undefined, to: f.to || undefined } });
  const blob = await res.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  const stamp = (iso: string) => iso.slice(0, 16).replace(/[:T]/g, '-');
  a.href = href;
  a.download = `gatehouse-audit${f.from ? `-from-${stamp(f.from)}` : ''}${f.to ? `-to-${stamp(f.to)}` : ''}.jsonl`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/** The audit trail: newest first, filtered through the address, more on demand; the chain's verification. */
export function AuditPage(_props: { params: Record<string, string> }) {
  const { can } = useSession();
  const { query } = useRoute();
  const filters = filtersFrom(query);
  const key = query.toString();
  const first = useAsync((signal) => api<CursorPage<AuditEvent>>('/audit', { query: { ...apiQuery(filters), page_size: PAGE_SIZE }, signal }), [key]);
  const [more, setMore] = useState<{ items: AuditEvent[]; next: string | null }>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<Error>();
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<Error>();
  useEffect(() => {
    setMore(undefined);
    setMoreError(undefined);
  }, [key]);
  const items = [...(first.data?.items ?? []), ...(more?.items ?? [])];
  const next = more ? more.next : (first.data?.next_cursor ?? null);
  const names = useNames(items.flatMap((e) => [e.actor, ...(e.target ? [{ kind: e.target.type, id: e.target.id }] : [])]), can);
  const apply = (f: AuditFilterValues) => navigate(url('audit', apiQuery(f)));
  const filtered = FILTER_KEYS.some((k) => filters[k] !== '');
  return (
    <section>
      <PageHeader title="Audit trail">
        <button
          type="button"
          class="secondary"
          disabled={downloading}
          onClick={async () => {
            setDownloading(true);
            setDownloadError(undefined);
            try {
              await download(filters);
            } catch (err) {
              setDownloadError(err as Error);
            } finally {
              setDownloading(false);
            }
          }}
        >
          {downloading ? 'Preparing…' : 'Download JSON Lines'}
        </button>
      </PageHeader>
      <p class="muted">
        Every change and security event, newest first. The download holds every event of the time range chosen below (all of them without one), oldest first,
        with their hashes.
      </p>
      <ErrorMessage error={downloadError} title="The download failed." />
      <AuditVerificationPanel />
      <AuditFilters key={key} value={filters} onApply={apply} />
      <ErrorMessage error={first.error} />
      {/* Focusable: a wide table scrolls sideways, and a keyboard must be able to scroll it too. */}
      <div class="table-wrap" role="region" aria-label="Audit events, scrollable" tabIndex={0}>
        <table class="audit-table">
          <caption class="visually-hidden">Audit events{filtered ? ', filtered' : ''}</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">IP</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <AuditEventRow key={e.seq} e={e} names={names} onFilter={(k, id) => apply({ ...filters, [k]: id })} />
            ))}
          </tbody>
        </table>
        {first.data && items.length === 0 ? <p class="empty">{filtered ? 'No events match these filters.' : 'No events yet.'}</p> : null}
        {!first.data && first.loading ? <p class="empty">Loading events…</p> : null}
      </div>
      <ErrorMessage error={moreError} />
      {next ? (
        <div class="pager">
          <button
            type="button"
            class="secondary"
            disabled={loadingMore}
            onClick={async () => {
              setLoadingMore(true);
              setMoreError(undefined);
              try {
                const page = await api<CursorPage<AuditEvent>>('/audit', { query: { ...apiQuery(filters), page_size: PAGE_SIZE, cursor: next } });
                setMore({ items: [...(more?.items ?? []), ...page.items], next: page.next_cursor });
              } catch (err) {
                setMoreError(err as Error);
              } finally {
                setLoadingMore(false);
              }
            }}
          >
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
          <span class="muted">{items.length} events shown</span>
        </div>
      ) : items.length > 0 ? (
        <p class="muted">All {items.length} events shown.</p>
      ) : null}
    </section>
  );
}
