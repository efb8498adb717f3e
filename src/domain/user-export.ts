import { firstUnknownRole, type AssignableRole } from './access.ts';
import { errors } from './errors.ts';
import type { Clock, SortOrder, User, UserFilters } from './ports.ts';
import { searchTerms, type SearchFilterInput, type UserRecord } from './users.ts';

/**
 * Exporting every user a search finds (GET /users/export): the same search and filters as GET /users, read in
 * batches that each continue from the last user of the one before (keyset paging on the creation order), so an
 * export of a million users reads the table once instead of re-skipping ever longer prefixes with OFFSET.
 */

/** A place in the creation order (created_at, then id): where the next batch continues. */
export interface UserPosition {
  createdAt: number;
  id: string;
}

export interface UserExportBatch {
  /** Lower-cased, whitespace-free terms; every one must occur. Empty: every user. */
  terms: string[];
  filters?: UserFilters | undefined;
  sort: SortOrder;
  /** Continue strictly after this position in `sort` order; null: from the start. */
  after: UserPosition | null;
  limit: number;
  /** Locks that end at or before this instant (epoch ms) are over. */
  now: number;
}

/** The port the store implements: one batch of users in creation order, with roles, groups and lockout state. */
export interface UserExportSource {
  batch(query: UserExportBatch): Promise<UserRecord[]>;
}

export interface UserExportInput {
  searchString: string | undefined;
  sort: SortOrder;
  filters?: SearchFilterInput;
}

/** Users per batch: large enough that round trips do not dominate, small enough to keep memory flat. */
export const EXPORT_BATCH_SIZE = 1000;

export function createUserExport(deps: { source: UserExportSource; clock: Clock; batchSize?: number }) {
  const batchSize = deps.batchSize ?? EXPORT_BATCH_SIZE;
  return {
    /**
     * Checks the input at once (a bad search is an error before anything is sent), then yields the matching users
     * batch by batch as the caller pulls them.
     */
    prepare(input: UserExportInput): AsyncIterable<UserRecord[]> {
      const terms = searchTerms(input.searchString);
      const { role, groupId, enabled } = input.filters ?? {};
      if (role !== undefined && firstUnknownRole([role]) !== undefined) throw errors.unknownRole(role);
      const filters: UserFilters = { role: role as AssignableRole | undefined, groupId, enabled };
      return {
        async *[Symbol.asyncIterator]() {
          let after: UserPosition | null = null;
          for (;;) {
            const users = await deps.source.batch({ terms, filters, sort: input.sort, after, limit: batchSize, now: deps.clock.now() });
            if (users.length > 0) yield users;
            if (users.length < batchSize) return;
            const last: User = users[users.length - 1]!.user;
            after = { createdAt: last.createdAt, id: last.id };
          }
        },
      };
    },
  };
}

export type UserExport = ReturnType<typeof createUserExport>;
