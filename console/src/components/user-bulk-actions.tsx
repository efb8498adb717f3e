import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { fullName } from '../format.ts';
import type { User } from '../types.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';

type BulkAction = 'disable' | 'enable' | 'delete';

const WORDS: Record<BulkAction, { verb: string; done: string; failed: string }> = {
  disable: { verb: 'Disable', done: 'Disabled', failed: 'disabled' },
  enable: { verb: 'Enable', done: 'Enabled', failed: 'enabled' },
  delete: { verb: 'Delete', done: 'Deleted', failed: 'deleted' },
};

const users = (n: number) => `${n} user${n === 1 ? '' : 's'}`;
const who = (u: User) => fullName(u) || u.email;

/** What each action does, in full, for the confirmation. */
function consequences(action: BulkAction, n: number) {
  if (action === 'delete') {
    return `${n === 1 ? 'This user is' : `These ${n} users are`} removed for good: their sign-in, sessions and tokens end at once, and they leave every group. Their audit trail stays. This cannot be undone.`;
  }
  if (action === 'disable') {
    return `${n === 1 ? 'This user' : `These ${n} users`} can no longer sign in, and every session and token they hold ends at once. Enabling them again later does not bring those sessions back.`;
  }
  return `${n === 1 ? 'This user' : `These ${n} users`} can sign in again with their current password.`;
}

export interface BulkResult {
  kind: 'notice' | 'error';
  text: string;
}

/**
 * Disable, enable or delete the selected users, after a confirmation that says how many and what happens. The
 * requests go one at a time (PATCH or DELETE per user), and partial failures are reported in words, user by user.
 */
export function UserBulkActions({ selected, meId, onDone }: { selected: User[]; meId: string; onDone(result: BulkResult): void }) {
  const [action, setAction] = useState<BulkAction>();
  const n = selected.length;
  const includesMe = selected.some((u) => u.id === meId);

  async function run(act: BulkAction) {
    const failures: string[] = [];
    for (const user of selected) {
      try {
        if (act === 'delete') await api(`/users/${encodeURIComponent(user.id)}`, { method: 'DELETE' });
        else await api(`/users/${encodeURIComponent(user.id)}`, { method: 'PATCH', body: { enabled: act === 'enable' } });
      } catch (err) {
        failures.push(`${who(user)} (${err instanceof ApiError ? err.message.replace(/\.$/, '') : 'an unexpected error'})`);
      }
    }
    const w = WORDS[act];
    onDone(
      failures.length === 0
        ? { kind: 'notice', text: `${w.done} ${users(n)}.` }
        : { kind: 'error', text: `${failures.length} of ${n} could not be ${w.failed}: ${failures.join('; ')}.` },
    );
  }

  return (
    <div class="bulk-bar" role="group" aria-label="Selected users">
      <span>
        <strong>{n}</strong> selected
      </span>
      <button type="button" class="secondary small" onClick={() => setAction('disable')}>
        Disable
      </button>
      <button type="button" class="secondary small" onClick={() => setAction('enable')}>
        Enable
      </button>
      <button type="button" class="danger small" onClick={() => setAction('delete')}>
        Delete
      </button>
      {action ? (
        <ConfirmDialog
          title={`${WORDS[action].verb} ${users(n)}?`}
          confirmLabel={`${WORDS[action].verb} ${users(n)}`}
          danger={action !== 'enable'}
          onConfirm={() => run(action)}
          onClose={() => setAction(undefined)}
        >
          <p>{consequences(action, n)}</p>
          {includesMe && action !== 'enable' ? (
            <p class="warning">This includes you: you will be signed out of the console.</p>
          ) : null}
          <ul class="bulk-names">
            {selected.slice(0, 8).map((u) => (
              <li key={u.id}>{who(u)}</li>
            ))}
            {n > 8 ? <li>and {n - 8} more</li> : null}
          </ul>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
