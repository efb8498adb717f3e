import type { AuditEvent } from '../types.ts';

/** Names for the fields a `user.updated` event lists. */
const FIELD_WORDS: Record<string, string> = { email: 'email', firstName: 'first name', lastName: 'last name' };

const REASONS: Record<string, string> = {
  wrong_password: 'wrong password',
  locked: 'the account was locked',
  disabled: 'the user is disabled',
  unknown_user: 'unknown user',
  temporary_password_expired: 'the temporary password had expired',
  all_ended_by_admin: 'ended by an administrator',
  revoked_by_client: 'revoked by the application',
  code_replayed: 'an authorization code was used twice',
};

const list = (items: unknown) => (Array.isArray(items) && items.length > 0 ? items.join(', ') : 'none');
const reason = (d: Record<string, unknown>) => (typeof d.reason === 'string' ? (REASONS[d.reason] ?? d.reason.replace(/_/g, ' ')) : undefined);

/**
 * One event of a user's trail as a sentence about "this user": `actor` is already a name ("Olive Operator",
 * "This user", "The admin key"). Actions this page does not know yet still read sensibly.
 */
export function auditSentence(e: AuditEvent, actor: string, userId: string): string {
  const d = e.details ?? {};
  const self = e.actor.kind === 'user' && e.actor.id === userId;
  const aboutThisUser = e.target?.type === 'user' && e.target.id === userId;
  switch (e.action) {
    case 'user.created':
      return `${actor} created this user${d.temporary_password ? ' with a temporary password' : ''}`;
    case 'user.updated': {
      const fields = Array.isArray(d.fields) ? d.fields.map((f) => FIELD_WORDS[String(f)] ?? String(f)) : [];
      return `${actor} changed this user’s ${fields.length > 0 ? fields.join(', ') : 'details'}`;
    }
    case 'user.disabled':
      return `${actor} disabled this user`;
    case 'user.enabled':
      return `${actor} enabled this user`;
    case 'user.deleted':
      return `${actor} deleted this user`;
    case 'user.roles_changed':
      return `${actor} changed this user’s roles from ${list(d.before)} to ${list(d.after)}`;
    case 'user.password_reset':
      return `${actor} reset this user’s password (a temporary one, to be changed at next sign-in)`;
    case 'user.password_changed':
      return self ? 'This user changed their password' : `${actor} changed this user’s password`;
    case 'user.locked':
      return 'This user’s account was locked after repeated failed sign-ins';
    case 'user.unlocked':
      return `${actor} unlocked this user`;
    case 'sign_in':
      if (e.outcome === 'failure') return `A sign-in as this user failed${reason(d) ? `: ${reason(d)}` : ''}`;
      return `This user signed in${typeof d.method === 'string' ? ` (${d.method.replace(/_/g, ' ')})` : ''}`;
    case 'session.ended':
      if (d.reason === 'all_ended_by_admin') return `${actor} ended every session of this user`;
      return `${self ? 'This user' : actor} ended a session${self ? '' : ' of this user'}${reason(d) && d.reason !== 'all_ended_by_admin' ? ` (${reason(d)})` : ''}`;
    case 'refresh_token.reused':
      return 'A refresh token of this user was used twice: its login was ended, as it may have been stolen';
    case 'token.revoked':
      return `A token of this user was revoked${reason(d) ? ` (${reason(d)})` : ''}`;
    default: {
      const what = e.action.replace(/[._]/g, ' ');
      return aboutThisUser ? `${actor}: ${what} (this user)` : `${actor}: ${what}`;
    }
  }
}
