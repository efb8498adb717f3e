import type { UserRecord } from '../domain/users.ts';

/** The columns of GET /users/export, in order. */
export const USER_EXPORT_COLUMNS = [
  'id',
  'email',
  'first_name',
  'last_name',
  'roles',
  'groups',
  'enabled',
  'locked_until',
  'created_at',
  'updated_at',
] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a quote, comma, CR or LF, with quotes doubled. A cell a spreadsheet
 * would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a CR: names and emails are typed by whoever
 * registered) gets a leading `'` first, so opening the export never executes what a user wrote into their name.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function csvLine(cells: readonly string[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}

export const csvHeader = (): string => csvLine(USER_EXPORT_COLUMNS);

/** A user as one CSV line: roles separated by spaces (role names have none), group names by "; ". */
export function userCsvLine({ user, lockedUntil }: UserRecord): string {
  return csvLine([
    user.id,
    user.email,
    user.firstName ?? '',
    user.lastName ?? '',
    user.roles.join(' '),
    user.groups.map((g) => g.name).join('; '),
    user.enabled ? 'true' : 'false',
    lockedUntil === null ? '' : iso(lockedUntil),
    iso(user.createdAt),
    iso(user.updatedAt),
  ]);
}

/** The whole export as text chunks, one per batch, for a stream that sends each as the client takes it. */
export async function* userCsvChunks(batches: AsyncIterable<UserRecord[]>): AsyncGenerator<string> {
  yield csvHeader();
  for await (const users of batches) yield users.map(userCsvLine).join('');
}

/** `users-2026-12-01.csv`: the day (UTC) the export was made. */
export const exportFileName = (now: number): string => `users-${iso(now).slice(0, 10)}.csv`;
