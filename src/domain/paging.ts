import { valueError, ValidationError } from './errors.ts';

/** The page shape of every newer list (CONTRACT.md §4b): items, and where the next page starts (null at the end). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/**
 * Cursors are opaque to callers (base64url of a position); a cursor that does not decode to a position of the
 * expected shape is a 422 at `cursor`, never a silent first page.
 */
export function encodeCursor(position: string): string {
  return Buffer.from(position, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, shape: RegExp): string | null {
  if (cursor === undefined) return null;
  const position = /^[A-Za-z0-9_-]{1,600}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!shape.test(position)) throw new ValidationError([valueError(['cursor'], cursor, 'not a cursor this list gave out')]);
  return position;
}
