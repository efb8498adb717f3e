import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { OAuthError } from '../../domain/errors.ts';
import type { SessionService } from '../../domain/sessions.ts';
import { ErrorDetail, PasswordField, ValidationErrorBody } from '../schemas.ts';

const tags = ['Login'];

const TokenResponse = Type.Object(
  { access_token: Type.String(), token_type: Type.String(), expires_in: Type.Integer(), refresh_token: Type.String() },
  { title: 'TokenResponse' },
);

const OAuthErrorBody = Type.Object({ error: Type.String(), error_description: Type.String() }, { title: 'OAuthError' });
const RateLimited = Type.Object({ detail: Type.String(), error: Type.String() });

const secret = (maxLength: number) => Type.String({ maxLength });

const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ maxLength: 100, description: '`password` or `refresh_token`' }),
    username: Type.Optional(Type.String({ maxLength: 320, description: 'The email address (any case).' })),
    password: Type.Optional(secret(1024)),
    refresh_token: Type.Optional(secret(1024)),
    scope: Type.Optional(Type.String({ maxLength: 1000 })),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { title: 'TokenRequest' },
);

const PasswordChangeRequest = Type.Object(
  { username: Type.String({ maxLength: 320 }), current_password: secret(1024), new_password: PasswordField },
  { title: 'PasswordChangeRequest' },
);

const LogoutRequest = Type.Object({ refresh_token: secret(1024) }, { title: 'LogoutRequest' });

/** Form bodies (RFC 6749 §4.3.2). A parameter sent twice is an error (RFC 6749 §3.2), so nobody smuggles a second value. */
function parseForm(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(out, key)) throw new OAuthError('invalid_request', `Parameter ${key} is repeated`);
    out[key] = value;
  }
  return out;
}

/**
 * The token endpoint answers every malformed request RFC 6749's way (400 `invalid_request`), not with FastAPI's 422,
 * because OAuth client libraries parse `error`.
 */
function tokenErrorHandler(error: FastifyError): never {
  if (error.validation) {
    const first = error.validation[0];
    const field = String(first?.params?.missingProperty ?? first?.instancePath?.slice(1) ?? '');
    if (field === '') throw new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded or JSON');
    throw new OAuthError('invalid_request', `Parameter ${field} is missing or invalid`);
  }
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'GH_JSON_TOO_DEEP') {
    throw new OAuthError('invalid_request', 'The request body is not valid JSON');
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_INVALID_TYPE') {
    throw new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded or JSON');
  }
  // Everything else (domain errors, 413, an unreachable database) goes to the application's error handler.
  throw error;
}

const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

/** CONTRACT.md §4: `/auth/token`, `/auth/password`, `/auth/logout`. Public routes, rate-limited per client IP. */
export const loginRoutes: FastifyPluginAsyncTypebox<{
  sessions: SessionService;
  rateLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}> = async (app, { sessions, rateLimit }) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addHook('onRequest', rateLimit);

  app.post(
    '/auth/token',
    {
      errorHandler: tokenErrorHandler,
      schema: {
        operationId: 'token_auth_token_post',
        summary: 'Get Tokens (OAuth 2.0 password or refresh_token grant)',
        description:
          'Form-encoded or JSON. `grant_type=password` with `username` (the email) and `password`, or ' +
          '`grant_type=refresh_token` with `refresh_token`. Refresh tokens work once: each use returns a new one.',
        tags,
        body: TokenRequest,
        response: { 200: TokenResponse, 400: OAuthErrorBody, 429: RateLimited },
      },
    },
    async (request, reply) => {
      const body = request.body;
      noStore(reply);
      if (body.grant_type === 'password') {
        if (body.username === undefined || body.password === undefined) {
          throw new OAuthError('invalid_request', 'The password grant needs username and password');
        }
        return sessions.passwordGrant(body.username, body.password);
      }
      if (body.grant_type === 'refresh_token') {
        if (body.refresh_token === undefined) throw new OAuthError('invalid_request', 'The refresh_token grant needs refresh_token');
        return sessions.refreshGrant(body.refresh_token);
      }
      throw new OAuthError('unsupported_grant_type', 'Supported grant types: password, refresh_token');
    },
  );

  app.post(
    '/auth/password',
    {
      schema: {
        operationId: 'change_password_auth_password_post',
        summary: 'Change Password',
        description:
          'Sets a new, permanent password from the current (or temporary) one and returns fresh tokens. Every older ' +
          'token of the user stops working.',
        tags,
        body: PasswordChangeRequest,
        response: { 200: TokenResponse, 400: OAuthErrorBody, 422: ValidationErrorBody, 429: RateLimited },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const { username, current_password, new_password } = request.body;
      return sessions.changePassword(username, current_password, new_password);
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        operationId: 'logout_auth_logout_post',
        summary: 'Log Out',
        description: 'Revokes the refresh token and every token rotated from the same login. Always 200.',
        tags,
        body: LogoutRequest,
        response: { 200: Type.Object({}), 422: ValidationErrorBody, 429: RateLimited, 413: ErrorDetail },
      },
    },
    async (request) => {
      await sessions.logout(request.body.refresh_token);
      return {};
    },
  );
};
