import { useEffect } from 'preact/hooks';
import { api } from '../api.ts';
import { formatCount, formatDateSeconds } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { ErrorMessage } from './error-message.tsx';

interface Verification {
  status: 'ok' | 'broken' | 'pending';
  checked: number;
  first_seq: number | null;
  last_seq: number | null;
  verified_at: string | null;
  full_verified_at: string | null;
  problem?: { seq: number; kind: 'modified' | 'missing' | 'truncated'; detail: string };
}

const PROBLEM_KINDS: Record<string, string> = { modified: 'modified', missing: 'missing or out of order', truncated: 'newest events removed' };
const range = (v: Verification) => (v.first_seq === null || v.last_seq === null ? 'no events yet' : `events ${formatCount(v.first_seq)} to ${formatCount(v.last_seq)}`);

/** While the server's first pass runs, look again this often. */
const PENDING_POLL_MS = 2000;

/** The hash chain's state as the server last verified it (GET /audit/verification), and what each state means. */
export function AuditVerificationPanel() {
  const state = useAsync((signal) => api<Verification>('/audit/verification', { signal }), []);
  const v = state.data;
  useEffect(() => {
    if (v?.status !== 'pending') return;
    const timer = setTimeout(state.reload, PENDING_POLL_MS);
    return () => clearTimeout(timer);
  }, [v]);
  return (
    <section class="panel audit-verification" aria-labelledby="verification-title">
      <div class="panel-header">
        <h2 id="verification-title">Chain verification</h2>
        {v ? <span class={`badge ${v.status === 'ok' ? 'ok' : v.status === 'broken' ? 'off' : 'warn'}`}>{v.status === 'ok' ? 'Intact' : v.status === 'broken' ? 'Broken' : 'Checking'}</span> : null}
        <span class="spacer" />
        <button type="button" class="secondary small" onClick={state.reload} disabled={state.loading}>
          Refresh
        </button>
      </div>
      <ErrorMessage error={state.error} />
      <div aria-live="polite">
        {v?.status === 'ok' ? (
          <p data-testid="verification-summary">
            Every event from {range(v)} ({formatCount(v.checked)} checked) is unchanged and in order. New events last checked {formatDateSeconds(v.verified_at)}; the
            whole chain {formatDateSeconds(v.full_verified_at)}.
          </p>
        ) : null}
        {v?.status === 'broken' && v.problem ? (
          <div class="warning" data-testid="verification-summary">
            <p>
              <strong>
                The chain is broken at event {formatCount(v.problem.seq)} ({PROBLEM_KINDS[v.problem.kind] ?? v.problem.kind}).
              </strong>{' '}
              {v.problem.detail}.
            </p>
            <p>
              Found {formatDateSeconds(v.verified_at)}; {v.checked > 0 ? `${range(v)} did verify` : 'no event before it verified'}. The trail was changed outside
              Gatehouse, or the database was damaged or restored: compare with your exports and checkpoints, and run <code>gatehouse audit verify</code> on the
              server.
            </p>
          </div>
        ) : null}
        {v?.status === 'pending' ? <p data-testid="verification-summary">Checking the chain: this server has not finished its first pass yet.</p> : null}
        {!v && state.loading ? <p class="muted">Asking the server…</p> : null}
      </div>
      <details class="explain">
        <summary>What the states mean</summary>
        <dl class="facts">
          <dt>Intact</dt>
          <dd>Every event follows the one before it, unchanged since it was written, and the chain ends where Gatehouse says it does.</dd>
          <dt>Broken</dt>
          <dd>An event was edited, removed or reordered, or the newest events were cut off; the first bad event is named.</dd>
          <dt>Checking</dt>
          <dd>This server started recently and has not finished verifying the chain yet.</dd>
        </dl>
        <p class="muted">
          Each server checks new events every minute and the whole chain when it starts and once a day, so an edit to an old event can take up to a day to show
          here. <code>gatehouse audit verify</code> checks the whole chain on demand.
        </p>
      </details>
    </section>
  );
}
