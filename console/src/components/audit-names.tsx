import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { fullName } from '../format.ts';
import type { ApiKey, Client, Group, User } from '../types.ts';

/**
 * Names for the ids an audit page shows: users, API keys, groups and applications, each looked up once (in
 * parallel, one request per id) and remembered for the rest of the visit. Deleted things, and things the operator
 * may not read, keep their id.
 */
type Kind = 'user' | 'api_key' | 'group' | 'client';

const PERMISSION: Record<Kind, string> = { user: 'users:read', api_key: 'keys:read', group: 'groups:read', client: 'clients:read' };
const cache = new Map<string, Promise<string | null>>();

function lookUp(kind: Kind, id: string): Promise<string | null> {
  const key = `${kind}:${id}`;
  let found = cache.get(key);
  if (!found) {
    const path = encodeURIComponent(id);
    found = (async () => {
      switch (kind) {
        case 'user': {
          const u = await api<User>(`/users/${path}`);
          return fullName(u) ? `${fullName(u)} (${u.email})` : u.email;
        }
        case 'api_key': {
          const k = await api<ApiKey>(`/auth/api_keys/${path}`);
          return `API key ${k.prefix}…${k.description ? ` (${k.description})` : ''}`;
        }
        case 'group':
          return (await api<Group>(`/groups/${path}`)).name;
        case 'client':
          return (await api<Client>(`/auth/clients/${path}`)).client_name;
      }
    })().catch(() => null);
    cache.set(key, found);
  }
  return found;
}

export const isNamed = (kind: string): kind is Kind => kind in PERMISSION;

/** The names of `refs` (kind and id) the operator may read, as they arrive: `${kind}:${id}` → name. */
export function useNames(refs: { kind: string; id: string | null }[], can: (permission: string) => boolean): Map<string, string> {
  const [names, setNames] = useState(() => new Map<string, string>());
  const wanted = [...new Set(refs.filter((r) => r.id !== null && isNamed(r.kind) && can(PERMISSION[r.kind])).map((r) => `${r.kind}:${r.id}`))];
  const signature = wanted.join(',');
  useEffect(() => {
    let live = true;
    void Promise.all(
      wanted.map(async (key) => {
        const [kind, ...rest] = key.split(':');
        return [key, await lookUp(kind as Kind, rest.join(':'))] as const;
      }),
    ).then((pairs) => {
      if (!live) return;
      setNames((old) => {
        const next = new Map(old);
        for (const [key, name] of pairs) if (name) next.set(key, name);
        return next;
      });
    });
    return () => void (live = false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signature]);
  return names;
}
