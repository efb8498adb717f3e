import { ADMIN_ROLE } from './access.ts';

/**
 * The one catalogue of failures the domain can report. Each carries the HTTP status it maps to, so the single
 * error handler in `http/error-handler.ts` never needs to know about individual cases.
 * Messages are part of the wire contract (CONTRACT.md): change them only together with the contract.
 */

export type ErrorCode =
  | 'unauthenticated'
  | 'bad_credentials'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'bad_request'
  | 'validation'
  | 'too_many_requests'
  | 'precondition_failed'
  | 'unavailable';

const STATUS: Record<ErrorCode, number> = {
  unauthenticated: 401,
  bad_credentials: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  bad_request: 400,
  validation: 422,
  too_many_requests: 429,
  precondition_failed: 412,
  unavailable: 503,
};

export class DomainError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
    this.status = STATUS[code];
  }
}

/** One FastAPI/pydantic-shaped validation problem (CONTRACT.md §1.2). */
export interface FieldProblem {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

export class ValidationError extends DomainError {
  constructor(readonly problems: FieldProblem[]) {
    super('validation', 'Validation failed');
    this.name = 'ValidationError';
  }
}

/**
 * OAuth 2.0 / OpenID Connect error codes: RFC 6749 §4.1.2.1 and §5.2, OpenID Connect Core §3.1.2.6, RFC 7009 §2.2.1,
 * RFC 7591 §3.2.2.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'login_required'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata';

/**
 * An OAuth failure: answered `{"error", "error_description"}` rather than `{"detail"}`, with status 400 unless
 * the RFC says otherwise (401 for a client that failed to authenticate).
 */
export class OAuthError extends DomainError {
  readonly httpStatus: number;
  constructor(
    readonly oauthCode: OAuthErrorCode,
    description: string,
    httpStatus = 400,
  ) {
    super('bad_request', description);
    this.name = 'OAuthError';
    this.httpStatus = httpStatus;
  }
}

export const errors = {
  requiresAuthentication: () => new DomainError('unauthenticated', 'Requires authentication'),
  badCredentials: () => new DomainError('bad_credentials', 'Bad credentials'),
  forbidden: () => new DomainError('forbidden', 'Forbidden'),
  cannotResetPassword: () => new DomainError('forbidden', "You can't reset password for this user."),
  sessionNotFound: () => new DomainError('not_found', 'Session not found'),
  groupNotFound: (id: string) => new DomainError('not_found', `Group ${id} not found.`),
  groupExists: (name: string) => new DomainError('conflict', `Group ${name} already exists.`),
  /** No admin key is configured, so this key is what stands between the operators and a lockout. */
  lastAdminKey: () =>
    new DomainError(
      'conflict',
      `This is the last active ${ADMIN_ROLE} key and no admin key is configured: mint another ${ADMIN_ROLE} key first, or set GATEHOUSE_ADMIN_KEY.`,
    ),
  signInAgain: () => new DomainError('forbidden', 'Sign in again to change your password.'),
  userNotFound: (id: string) => new DomainError('not_found', `User ${id} not found.`),
  /** The user changed after the caller read them (SCIM If-Match): nothing was written. */
  userChangedMeanwhile: (id: string) => new DomainError('precondition_failed', `User ${id} has changed since it was read`),
  userExists: (email: string) => new DomainError('conflict', `User ${email} already exists.`),
  unknownRole: (role: string) => new DomainError('bad_request', `Role ${role} does not exist.`),
  apiKeyNotFound: () => new DomainError('not_found', 'API Key not found'),
  tooManyApiKeys: () => new DomainError('bad_request', 'Maximum number of active keys reached'),
  permissionArgsMissing: () => new DomainError('bad_request', 'Both Action and Resource must be supplied.'),
  /** One text for an unknown user, a wrong password and a locked account, so nobody learns which emails exist. */
  invalidLogin: () => new OAuthError('invalid_grant', 'Invalid username or password'),
  passwordChangeRequired: () => new OAuthError('invalid_grant', 'Password change required'),
  temporaryPasswordExpired: () => new OAuthError('invalid_grant', 'Temporary password has expired; ask an administrator to reset it'),
  invalidRefreshToken: () => new OAuthError('invalid_grant', 'Invalid refresh token'),
  invalidClient: () => new OAuthError('invalid_client', 'Client authentication failed', 401),
  invalidCode: () => new OAuthError('invalid_grant', 'Invalid authorization code'),
  clientNotFound: () => new DomainError('not_found', 'Client not found'),
  clientExists: (id: string) => new DomainError('conflict', `Client ${id} already exists.`),
  tooManyRequests: () => new DomainError('too_many_requests', 'Too many requests'),
  databaseUnavailable: () => new DomainError('unavailable', 'Service temporarily unavailable: the database cannot be reached'),
} as const;

/** A value-error problem at a body field, in pydantic's wording ("Value error, ..."). */
export function valueError(loc: (string | number)[], input: unknown, message: string): FieldProblem {
  return { type: 'value_error', loc, msg: `Value error, ${message}`, input, ctx: { error: message } };
}
