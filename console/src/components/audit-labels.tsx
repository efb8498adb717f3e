/**
 * The audit trail's actions (the API's enum: src/domain/audit.ts AUDIT_ACTIONS, also in /openapi.json) with the
 * words the console shows for them. An action the console does not know yet is shown as the API names it.
 */
export const AUDIT_ACTION_LABELS: Record<string, string> = {
  'user.created': 'User created',
  'user.updated': 'User changed',
  'user.disabled': 'User disabled',
  'user.enabled': 'User enabled',
  'user.deleted': 'User deleted',
  'user.roles_changed': 'User roles changed',
  'user.password_reset': 'Password reset',
  'user.password_changed': 'Password changed',
  'user.locked': 'Account locked',
  'user.unlocked': 'Account unlocked',
  'group.created': 'Group created',
  'group.updated': 'Group changed',
  'group.deleted': 'Group deleted',
  'group.member_added': 'Group member added',
  'group.member_removed': 'Group member removed',
  'api_key.minted': 'API key minted',
  'api_key.deactivated': 'API key deactivated',
  'api_key.expired': 'API key expired',
  'client.registered': 'Application registered',
  'client.updated': 'Application changed',
  'client.secret_rotated': 'Application secret rotated',
  'client.deleted': 'Application deleted',
  sign_in: 'Sign-in',
  'refresh_token.reused': 'Refresh token reused',
  'session.ended': 'Session ended',
  'token.revoked': 'Token revoked',
  bootstrap: 'Bootstrap',
  'audit.pruned': 'Old events removed (retention)',
};

export const AUDIT_ACTIONS = Object.keys(AUDIT_ACTION_LABELS);

export const actionLabel = (action: string) => AUDIT_ACTION_LABELS[action] ?? action;

export const TARGET_TYPES: Record<string, string> = { user: 'User', group: 'Group', api_key: 'API key', client: 'Application', session: 'Session' };
