import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { formatDateSeconds } from '../format.ts';
import { Link } from '../router.tsx';
import type { AuditEvent } from '../types.ts';
import { actionLabel, TARGET_TYPES } from './audit-labels.tsx';

const LINKS: Record<string, string> = { user: 'users', group: 'groups', client: 'clients' };

/** Who or what, in words: the name when it is known, the id otherwise; a link to its page where there is one. */
function Party({ kind, id, names }: { kind: string; id: string | null; names: Map<string, string> }) {
  if (kind === 'admin_key') return <span>Admin key</span>;
  if (kind === 'system') return <span class="muted">Gatehouse (system)</span>;
  if (kind === 'anonymous') return <span class="muted">Anonymous</span>;
  if (id === null) return <span class="muted">{TARGET_TYPES[kind] ?? kind}</span>;
  const name = names.get(`${kind}:${id}`);
  const label = name ?? `${TARGET_TYPES[kind] ?? kind} ${id}`;
  const page = LINKS[kind];
  return page ? (
    <Link href={`${page}/${encodeURIComponent(id)}`} class={name ? undefined : 'mono'}>
      {label}
    </Link>
  ) : (
    <span class={name ? undefined : 'mono'}>{label}</span>
  );
}

/** A detail value in words: lists joined, objects as compact JSON, nothing as a dash. */
function detailText(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (Array.isArray(value)) return value.length === 0 ? '—' : value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const words = (key: string) => key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** One event as a row, and, expanded, everything it recorded. */
export function AuditEventRow({ e, names, onFilter }: { e: AuditEvent; names: Map<string, string>; onFilter(key: 'actor' | 'target', id: string): void }) {
  const [open, setOpen] = useState(false);
  const reason = typeof e.details.reason === 'string' ? e.details.reason : undefined;
  const detailsId = `event-${e.seq}-details`;
  return (
    <>
      <tr class={open ? 'open' : undefined}>
        <td class="nowrap">
          <button type="button" class="link expand" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen(!open)}>
            <span aria-hidden="true">{open ? '▾' : '▸'}</span> <span class="visually-hidden">Details of event {e.seq}, </span>
            {formatDateSeconds(e.at)}
          </button>
        </td>
        <td>
          <Party kind={e.actor.kind} id={e.actor.id} names={names} />
        </td>
        <td>{actionLabel(e.action)}</td>
        <td>{e.target ? <Party kind={e.target.type} id={e.target.id} names={names} /> : <span class="muted">—</span>}</td>
        <td>
          <span class={`badge ${e.outcome === 'success' ? 'ok' : 'off'}`}>{e.outcome === 'success' ? 'Success' : 'Failure'}</span>
          {reason && e.outcome === 'failure' ? <span class="muted reason">{reason.replace(/_/g, ' ')}</span> : null}
        </td>
        <td class="mono">{e.client_ip ?? '—'}</td>
      </tr>
      {open ? (
        <tr class="event-details" id={detailsId}>
          <td colSpan={6}>
            <dl class="facts">
              <dt>Event</dt>
              <dd>
                #{e.seq} · <code>{e.action}</code>
              </dd>
              <dt>Request id</dt>
              <dd class="mono">{e.request_id ?? '—'}</dd>
              <dt>User agent</dt>
              <dd>{e.user_agent ?? '—'}</dd>
              {Object.keys(e.details).length > 0 ? (
                <>
                  <dt>Details</dt>
                  <dd>
                    <dl class="facts nested">
                      {Object.entries(e.details).map(([k, v]) => (
                        <Fragment key={k}>
                          <dt>{words(k)}</dt>
                          <dd>{detailText(v)}</dd>
                        </Fragment>
                      ))}
                    </dl>
                  </dd>
                </>
              ) : null}
              <dt>Hash</dt>
              <dd class="mono hash">{e.hash}</dd>
              <dt>Previous hash</dt>
              <dd class="mono hash">{e.prev_hash}</dd>
            </dl>
            <div class="form-actions">
              {e.actor.id ? (
                <button type="button" class="secondary small" onClick={() => onFilter('actor', e.actor.id!)}>
                  Events by this actor
                </button>
              ) : null}
              {e.target?.id ? (
                <button type="button" class="secondary small" onClick={() => onFilter('target', e.target!.id!)}>
                  Events about this target
                </button>
              ) : null}
            </div>
          </td>
        </tr>
      ) : null}
    </>
  );
}
