import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { OAuthError } from '../../domain/errors.ts';
import type { OAuthClientService } from '../../domain/oauth-clients.ts';
import type { SessionService } from '../../domain/sessions.ts';
import type { SignInService } from '../../domain/sign-in.ts';
import type { UserSessionService } from '../../domain/user-sessions.ts';
import type { TokenManagement } from '../../domain/token-management.ts';
import { clientCredentials } from '../client-auth.ts';
import { acceptForms } from '../form.ts';
import { noStore, OAuthErrorBody, oauthErrorHandler, RateLimited, TokenResponse } from '../oauth-replies.ts';
import type { RateLimiter } from '../rate-limit.ts';

const tags = ['Login'];
const secret = (maxLength: number) => Type.String({ maxLength });
const ClientFields = {
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
  client_secret: Type.Optional(secret(1024)),
};

const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ maxLength: 100, description: '`authorization_code`, `refresh_token` or `password`' }),
    username: Type.Optional(Type.String({ maxLength: 320, description: 'The email address (any case).' })),
    password: Type.Optional(secret(1024)),
    refresh_token: Type.Optional(secret(1024)),
    code: Type.Optional(secret(1024)),
    redirect_uri: Type.Optional(Type.String({ maxLength: 2000 })),
    code_verifier: Type.Optional(secret(1024)),
    scope: Type.Optional(Type.String({ maxLength: 1000 })),
    ...ClientFields,
  },
  { title: 'TokenRequest' },
);

const TokenOnly = Type.Object(
  { token: secret(4096), token_type_hint: Type.Optional(Type.String({ maxLength: 100 })), ...ClientFields },
  { title: 'TokenRequestByValue' },
);

const Introspection = Type.Object(
  { active: Type.Boolean() },
  { additionalProperties: true, title: 'IntrospectionResponse', description: 'RFC 7662 §2.2: `active`, and for an active token its claims.' },
);

interface Deps {
  sessions: SessionService;
  signIn: SignInService;
  clients: OAuthClientService;
  tokens: TokenManagement;
  rateLimit: RateLimiter;
  /** Records where a login's tokens were last used from. */
  userSessions: UserSessionService;
  /** The issuer URL's path ('' or e.g. '/realms/acme'), under which the OpenID Connect endpoints live. */
  base: string;
}

/**
 * The token endpoint (RFC 6749 §3.2) at `/auth/token` and at Keycloak's `{issuer}/protocol/openid-connect/token`,
 * and the back-channel endpoints of RFC 7009 (revocation) and RFC 7662 (introspection).
 */
export const tokenRoutes: FastifyPluginAsyncTypebox<Deps> = async (app, { sessions, signIn, clients, tokens, rateLimit, userSessions, base }) => {
  acceptForms(app);
  // Sign-in attempts are rate-limited per client IP; introspection is not, since resource servers call it per request.

  const authenticate = (request: FastifyRequest, body: { client_id?: string; client_secret?: string }) => {
    const { clientId, secret: clientSecret } = clientCredentials(request, body);
    return clients.authenticate(clientId, clientSecret);
  };

  for (const [url, operationId] of [
    ['/auth/token', 'token_auth_token_post'],
    [`${base}/protocol/openid-connect/token`, 'token_openid_connect'],
  ] as const) {
    app.post(
      url,
      {
        onRequest: rateLimit,
        errorHandler: oauthErrorHandler,
        schema: {
          operationId,
          summary: 'Get Tokens (OAuth 2.0 authorization_code, refresh_token or password grant)',
          description:
            'Form-encoded or JSON. `grant_type=authorization_code` with `code`, `redirect_uri`, `code_verifier` (PKCE) ' +
            'and client authentication; `grant_type=refresh_token` with `refresh_token` (and client authentication when ' +
            'it was issued to a client); `grant_type=password` with `username` (the email) and `password`. Refresh tokens ' +
            'work once: each use returns a new one.',
          tags,
          body: TokenRequest,
          response: { 200: TokenResponse, 400: OAuthErrorBody, 401: OAuthErrorBody, 429: RateLimited },
        },
      },
      async (request, reply) => {
        const body = request.body;
        noStore(reply);
        if (body.grant_type === 'password') {
          if (body.username === undefined || body.password === undefined) {
            throw new OAuthError('invalid_request', 'The password grant needs username and password');
          }
          // The login's origin is stored with its session, as its first use (no separate write).
          return userSessions.loginStored(await sessions.passwordGrant(body.username, body.password, { clientIp: request.ip, userAgent: request.headers['user-agent'] }));
        }
        if (body.grant_type === 'refresh_token') {
          if (body.refresh_token === undefined) throw new OAuthError('invalid_request', 'The refresh_token grant needs refresh_token');
          const presented = /^basic /i.test(request.headers.authorization?.trim() ?? '') || body.client_id !== undefined || body.client_secret !== undefined;
          const refreshed = await sessions.refreshGrant(body.refresh_token, { presented, authenticate: () => authenticate(request, body) });
          return userSessions.recordGrant(refreshed, request.ip, request.headers['user-agent']);
        }
        if (body.grant_type === 'authorization_code') {
          const client = await authenticate(request, body);
          if (body.code === undefined) throw new OAuthError('invalid_request', 'The authorization_code grant needs code');
          return signIn.exchangeCode(client, body.code, body.redirect_uri, body.code_verifier);
        }
        throw new OAuthError('unsupported_grant_type', 'Supported grant types: authorization_code, refresh_token, password');
      },
    );
  }

  app.post(
    `${base}/protocol/openid-connect/revoke`,
    {
      onRequest: rateLimit,
      errorHandler: oauthErrorHandler,
      schema: {
        operationId: 'revoke_openid_connect',
        summary: 'Revoke a token (RFC 7009)',
        description:
          'The client that holds the token revokes it. A refresh token or an access token ends its whole grant: the ' +
          'access and refresh tokens issued with it. Unknown tokens are answered 200 too.',
        tags,
        body: TokenOnly,
        response: { 200: Type.Object({}), 400: OAuthErrorBody, 401: OAuthErrorBody, 429: RateLimited },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const client = await authenticate(request, request.body);
      await tokens.revoke(request.body.token, client);
      return {};
    },
  );

  app.post(
    `${base}/protocol/openid-connect/token/introspect`,
    {
      errorHandler: oauthErrorHandler,
      schema: {
        operationId: 'introspect_openid_connect',
        summary: 'Introspect a token (RFC 7662)',
        description:
          'For resource servers, authenticated as a confidential client. `active` is true only while the token would ' +
          'be accepted by the API itself: not expired, not revoked, its user, grant and session alive.',
        tags,
        body: TokenOnly,
        response: { 200: Introspection, 400: OAuthErrorBody, 401: OAuthErrorBody, 429: RateLimited },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const client = await authenticate(request, request.body);
      if (client.authMethod === 'none') throw new OAuthError('invalid_client', 'Introspection is for confidential clients', 401);
      return (await tokens.introspect(request.body.token)) as { active: boolean };
    },
  );
};
