/** How the console writes dates, names and counts: the operator's own locale and time zone. */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const number = new Intl.NumberFormat();

export const formatDate = (iso: string | null | undefined): string => (iso ? dateTime.format(new Date(iso)) : '—');
export const formatDateSeconds = (iso: string | null | undefined): string => (iso ? dateTimeSeconds.format(new Date(iso)) : '—');
export const formatCount = (n: number): string => number.format(n);

export function fullName(u: { first_name: string | null; last_name: string | null }): string {
  return [u.first_name, u.last_name].filter((p) => p !== null && p !== '').join(' ');
}

/** Locked now? (`locked_until` in the future.) */
export const isLocked = (lockedUntil: string | null): boolean => lockedUntil !== null && new Date(lockedUntil).getTime() > Date.now();
