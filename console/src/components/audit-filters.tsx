import { useState } from 'preact/hooks';
import { AUDIT_ACTIONS, actionLabel } from './audit-labels.tsx';

/** The filters, as the address holds them (times as ISO 8601 instants). */
export interface AuditFilterValues {
  actor: string;
  target: string;
  action: string;
  outcome: string;
  from: string;
  to: string;
}

export const FILTER_KEYS = ['actor', 'target', 'action', 'outcome', 'from', 'to'] as const;

export function filtersFrom(query: URLSearchParams): AuditFilterValues {
  return Object.fromEntries(FILTER_KEYS.map((k) => [k, query.get(k) ?? ''])) as unknown as AuditFilterValues;
}

/** datetime-local works in the operator's time zone without one written: convert both ways. */
const pad = (n: number) => String(n).padStart(2, '0');
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (iso === '' || Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromLocalInput = (local: string) => (local === '' ? '' : new Date(local).toISOString());

/** The filter form: changes apply when submitted (Enter or the button), and go into the address. */
export function AuditFilters({ value, onApply }: { value: AuditFilterValues; onApply(values: AuditFilterValues): void }) {
  const [draft, setDraft] = useState({ ...value, from: toLocalInput(value.from), to: toLocalInput(value.to) });
  const set = (key: keyof AuditFilterValues) => (e: Event) => setDraft({ ...draft, [key]: (e.currentTarget as HTMLInputElement).value });
  const empty: AuditFilterValues = { actor: '', target: '', action: '', outcome: '', from: '', to: '' };
  return (
    <form
      class="toolbar audit-filters"
      aria-label="Filter events"
      onSubmit={(e) => {
        e.preventDefault();
        onApply({ ...draft, actor: draft.actor.trim(), target: draft.target.trim(), from: fromLocalInput(draft.from), to: fromLocalInput(draft.to) });
      }}
    >
      <div class="field">
        <label for="filter-actor">Actor id</label>
        <input id="filter-actor" type="text" value={draft.actor} onInput={set('actor')} placeholder="user or key id, admin-key" />
      </div>
      <div class="field">
        <label for="filter-target">Target id</label>
        <input id="filter-target" type="text" value={draft.target} onInput={set('target')} placeholder="user, group, key or client id" />
      </div>
      <div class="field">
        <label for="filter-action">Action</label>
        <select id="filter-action" value={draft.action} onChange={set('action')}>
          <option value="">Any action</option>
          {AUDIT_ACTIONS.map((a) => (
            <option key={a} value={a}>
              {actionLabel(a)}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="filter-outcome">Outcome</label>
        <select id="filter-outcome" value={draft.outcome} onChange={set('outcome')}>
          <option value="">Any outcome</option>
          <option value="success">Success</option>
          <option value="failure">Failure</option>
        </select>
      </div>
      <div class="field">
        <label for="filter-from">From</label>
        <input id="filter-from" type="datetime-local" value={draft.from} onInput={set('from')} />
      </div>
      <div class="field">
        <label for="filter-to">Until</label>
        <input id="filter-to" type="datetime-local" value={draft.to} onInput={set('to')} />
      </div>
      <div class="filter-buttons">
        <button type="submit">Apply filters</button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setDraft(empty);
            onApply(empty);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}
