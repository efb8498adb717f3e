import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { systemClock, type Clock } from '../domain/ports.ts';
import type { Database } from '../store/database.ts';
import { dumpGroups, dumpUsers } from '../store/user-dump.ts';

/**
 * `gatehouse export`: every group and user as JSON Lines (docs/import-export.md, "JSON Lines"). The first line
 * says what the file is; then one line a group; then one line a user, in creation order. Password hashes are
 * written only with `includeHashes` (flagged `"sensitive": true` in the first line): such a file can be attacked
 * offline like a stolen database and must be handled like one.
 */
export const EXPORT_FORMAT = 'gatehouse-export';
export const EXPORT_VERSION = 1;

export interface JsonlExportOptions {
  database: Database;
  output: Writable;
  includeHashes?: boolean;
  clock?: Clock;
  /** Users written so far (for a progress bar). */
  onProgress?: (users: number) => void;
}

export interface JsonlExportSummary {
  users: number;
  groups: number;
  includeHashes: boolean;
}

export async function exportJsonl(opts: JsonlExportOptions): Promise<JsonlExportSummary> {
  const includeHashes = opts.includeHashes ?? false;
  const clock = opts.clock ?? systemClock;
  const out = opts.output;
  let failed: Error | undefined;
  const onError = (err: Error) => (failed ??= err);
  out.on('error', onError);
  const write = async (value: unknown) => {
    if (failed) throw failed;
    if (!out.write(JSON.stringify(value) + '\n')) await Promise.race([once(out, 'drain'), once(out, 'error')]);
    if (failed) throw failed;
  };
  try {
    await write({ type: EXPORT_FORMAT, version: EXPORT_VERSION, exported_at: new Date(clock.now()).toISOString(), include_hashes: includeHashes, ...(includeHashes ? { sensitive: true } : {}) });
    const groups = await dumpGroups(opts.database.db);
    for (const g of groups) await write({ type: 'group', id: g.id, name: g.name, description: g.description, roles: g.roles });
    let users = 0;
    for await (const batch of dumpUsers(opts.database.db, { includeHashes })) {
      for (const u of batch) {
        await write({
          type: 'user',
          id: u.id,
          email: u.email,
          first_name: u.firstName,
          last_name: u.lastName,
          enabled: u.enabled,
          created_at: u.createdAt,
          updated_at: u.updatedAt,
          roles: u.roles,
          groups: u.groups,
          password_temporary: u.passwordTemporary,
          ...(u.passwordHash !== undefined ? { password_hash: u.passwordHash } : {}),
        });
      }
      users += batch.length;
      opts.onProgress?.(users);
    }
    return { users, groups: groups.length, includeHashes };
  } finally {
    out.off('error', onError);
  }
}
