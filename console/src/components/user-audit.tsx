import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { formatDateSeconds, fullName } from '../format.ts';
import type { AuditEvent, CursorPage, User } from '../types.ts';
import { auditSentence } from '../pages/user-audit-sentence.ts';
import { ErrorMessage } from './error-message.tsx';

const PAGE = 20;

/** Who did it, in words: the user themselves, another person by name, a key, Gatehouse itself. */
function useActorNames(events: AuditEvent[], userId: string) {
  const [names, setNames] = useState<Record<string, string>>({});
  useEffect(() => {
    const unknown = [...new Set(events.filter((e) => e.actor.kind === 'user' && e.actor.id && e.actor.id !== userId && !(e.actor.id in names)).map((e) => e.actor.id!))];
    if (unknown.length === 0) return;
    let live = true;
    void Promise.all(
      unknown.map(async (id) => {
        try {
          const u = await api<User>(`/users/${encodeURIComponent(id)}`);
          return [id, fullName(u) || u.email] as const;
        } catch (err) {
          return [id, err instanceof ApiError && err.status === 404 ? 'A since-deleted user' : 'Another user'] as const;
        }
      }),
    ).then((found) => live && setNames((n) => ({ ...n, ...Object.fromEntries(found) })));
    return () => void (live = false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [events, userId]);
  return (e: AuditEvent): string => {
    switch (e.actor.kind) {
      case 'user':
        return e.actor.id === userId ? 'This user' : (names[e.actor.id ?? ''] ?? 'Another user');
      case 'api_key':
        return 'An API key';
      case 'admin_key':
        return 'The admin key';
      case 'system':
        return 'Gatehouse';
      default:
        return 'Someone';
    }
  };
}

/** What this user did and what was done to them, newest first, as sentences; more on request. */
export function UserAudit({ userId, refresh }: { userId: string; refresh: number }) {
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error>();
  const actorName = useActorNames(events, userId);

  async function load(cursor: string | null, signal?: AbortSignal) {
    setLoading(true);
    setError(undefined);
    try {
      const page = await api<CursorPage<AuditEvent>>(`/users/${encodeURIComponent(userId)}/audit`, { query: { page_size: PAGE, cursor }, ...(signal ? { signal } : {}) });
      setEvents((old) => (cursor === null ? page.items : [...old, ...page.items]));
      setNext(page.next_cursor);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setError(err as Error);
    } finally {
      if (!signal?.aborted) setLoading(false);
    }
  }

  useEffect(() => {
    const controller = new AbortController();
    void load(null, controller.signal);
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [userId, refresh]);

  return (
    <section class="panel" aria-labelledby="audit-title">
      <h2 id="audit-title">Activity</h2>
      <ErrorMessage error={error} />
      {!loading && events.length === 0 && !error ? <p class="muted">Nothing recorded yet.</p> : null}
      <ol class="audit-list" data-testid="user-audit">
        {events.map((e) => (
          <li key={e.seq}>
            <div>
              {auditSentence(e, actorName(e), userId)}
              {e.outcome === 'failure' ? <span class="badge off">failed</span> : null}
            </div>
            <div class="meta">
              <time dateTime={e.at}>{formatDateSeconds(e.at)}</time>
              {e.client_ip ? ` · from ${e.client_ip}` : ''}
              {e.outcome === 'success' ? ' · succeeded' : ''}
            </div>
          </li>
        ))}
      </ol>
      {next ? (
        <button type="button" class="secondary small" disabled={loading} onClick={() => void load(next)}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </section>
  );
}
