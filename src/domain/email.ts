/**
 * Email addresses: a pragmatic subset of RFC 5321/5322 of the kind pydantic's EmailStr accepts — a dot-atom
 * local part and a domain of at least two labels. Quoted local parts and IP literals are refused: no real
 * user-management deployment needs them, and they are a favourite of injection payloads.
 */
export const EMAIL_MAX_LENGTH = 254;

const LOCAL = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

export function normaliseEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

/** Why the (already normalised) address is not acceptable, or null when it is. */
export function emailProblem(email: string): string | null {
  if (email.length === 0) return 'value is not a valid email address: it is empty';
  if (email.length > EMAIL_MAX_LENGTH) return `value is not a valid email address: longer than ${EMAIL_MAX_LENGTH} characters`;
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return 'value is not a valid email address: it must have exactly one @-sign';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.includes('@')) return 'value is not a valid email address: it must have exactly one @-sign';
  if (local.length > 64) return 'value is not a valid email address: the part before the @-sign is too long';
  if (!LOCAL.test(local)) return 'value is not a valid email address: the part before the @-sign is not valid';
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    return 'value is not a valid email address: the part after the @-sign is not a valid domain name';
  }
  if (/^\d+$/.test(labels.at(-1) ?? '')) return 'value is not a valid email address: the domain must not end in a number';
  return null;
}
