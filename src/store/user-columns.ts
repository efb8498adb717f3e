import type { Selectable } from 'kysely';
import type { UsersTable } from './schema.ts';

/** The one list of the users table's columns that make a `User`: every query that reads users selects these. */
export const USER_COLUMNS = [
  'id',
  'email',
  'first_name',
  'last_name',
  'password_temporary',
  'token_version',
  'enabled',
  'created_at',
  'updated_at',
] as const;

export type UserRow = Pick<Selectable<UsersTable>, (typeof USER_COLUMNS)[number]>;
