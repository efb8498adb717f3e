import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { fullName } from '../format.ts';
import { useAsync, useDebounced } from '../hooks.ts';
import type { User } from '../types.ts';
import { ErrorMessage } from './error-message.tsx';

/**
 * Find a user by email or name as you type (GET /users?search_string=, every word must match) and add them with
 * the button on their row. Users already in the group say so instead.
 */
export function AddMember({ groupId, groupName, onAdded }: { groupId: string; groupName: string; onAdded(user: User): void }) {
  const [text, setText] = useState('');
  const term = useDebounced(text.trim(), 250);
  const [error, setError] = useState<Error>();
  const [adding, setAdding] = useState<string>();
  const found = useAsync(
    (signal) => (term.length < 2 ? Promise.resolve(undefined) : api<User[]>('/users', { query: { search_string: term, page_size: 8, page: 0 }, signal })),
    [term],
  );
  const results = term.length < 2 ? undefined : found.data;
  return (
    <div class="add-member">
      <div class="field">
        <label for="member-search">Add a member</label>
        <input
          id="member-search"
          type="search"
          autoComplete="off"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-describedby="member-search-hint"
          aria-controls="member-search-results"
        />
        <p class="hint" id="member-search-hint">
          Type part of an email or name (two letters or more); pick the user below.
        </p>
      </div>
      <ErrorMessage error={error ?? found.error} />
      <div id="member-search-results" aria-live="polite">
        {results && results.length === 0 ? <p class="muted">No user matches “{term}”.</p> : null}
        {results && results.length > 0 ? (
          <ul class="member-search-results" aria-label="Matching users">
            {results.map((u) => {
              const member = u.groups.some((g) => g.id === groupId);
              const name = fullName(u) || u.email;
              return (
                <li key={u.id}>
                  <span class="who-found">
                    <strong>{name}</strong> <span class="muted">{u.email}</span>
                  </span>
                  {member ? (
                    <span class="badge ok">Member</span>
                  ) : (
                    <button
                      type="button"
                      class="small"
                      disabled={adding !== undefined}
                      aria-label={`Add ${name} to ${groupName}`}
                      onClick={async () => {
                        setAdding(u.id);
                        setError(undefined);
                        try {
                          await api(`/groups/${encodeURIComponent(groupId)}/members`, { method: 'POST', body: { user_ids: [u.id] } });
                          setText('');
                          onAdded(u);
                        } catch (err) {
                          setError(err as Error);
                        } finally {
                          setAdding(undefined);
                        }
                      }}
                    >
                      {adding === u.id ? 'Adding…' : 'Add'}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        ) : null}
      </div>
    </div>
  );
}
