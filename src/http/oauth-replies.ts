import type { FastifyError, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { OAuthError } from '../domain/errors.ts';

export const TokenResponse = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.String(),
    expires_in: Type.Integer(),
    refresh_token: Type.Optional(Type.String()),
    id_token: Type.Optional(Type.String({ description: 'OpenID Connect ID token (authorization_code and refresh_token grants of a client that asked for `openid`).' })),
    scope: Type.Optional(Type.String()),
  },
  { title: 'TokenResponse' },
);

export const OAuthErrorBody = Type.Object({ error: Type.String(), error_description: Type.String() }, { title: 'OAuthError' });
export const RateLimited = Type.Object({ detail: Type.String(), error: Type.String() });

/** RFC 6749 §5.1: token responses must not be cached. */
export const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

/**
 * OAuth endpoints answer every malformed request RFC 6749's way (400 `invalid_request`), not with FastAPI's 422,
 * because OAuth client libraries parse `error`.
 */
export function oauthErrorHandler(error: FastifyError): never {
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
