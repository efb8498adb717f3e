import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { RESPONSE_MODES, SUPPORTED_SCOPES } from '../../domain/authorization-request.ts';
import { CLIENT_AUTH_METHODS } from '../../domain/sign-in-ports.ts';
import type { TokenManagement } from '../../domain/token-management.ts';
import type { JwtSigner } from '../../security/jwt-signer.ts';
import { bearerCredential } from '../auth.ts';

const tags = ['Sign-in'];

const Jwks = Type.Object({
  keys: Type.Array(
    Type.Object({
      kty: Type.String(),
      kid: Type.String(),
      alg: Type.String(),
      use: Type.String(),
      crv: Type.Optional(Type.String()),
      x: Type.Optional(Type.String()),
      y: Type.Optional(Type.String()),
      n: Type.Optional(Type.String()),
      e: Type.Optional(Type.String()),
    }),
  ),
});

const USER_CLAIMS = ['email', 'email_verified', 'given_name', 'family_name', 'name', 'preferred_username', 'realm_access'];

/**
 * Discovery (OpenID Connect Discovery 1.0 / RFC 8414), the key set, and userinfo. Discovery lives at
 * `{issuer}/.well-known/openid-configuration` and, when the issuer has a path, also at the server root, as before;
 * it advertises exactly what works.
 */
export const wellKnownRoutes: FastifyPluginAsync<{ signer: JwtSigner; tokens: TokenManagement; issuer: string; base: string }> = async (
  app,
  { signer, tokens, issuer, base },
) => {
  const oidc = `${issuer}/protocol/openid-connect`;

  const jwks = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'public, max-age=60');
    return signer.jwks();
  };
  app.get('/.well-known/jwks.json', { schema: { tags, summary: 'Public keys that verify tokens (JWKS)', response: { 200: Jwks } } }, jwks);
  app.get(`${base}/protocol/openid-connect/certs`, { schema: { tags, summary: "Public keys (JWKS) at Keycloak's address", response: { 200: Jwks } } }, jwks);

  const discovery = async () => ({
    issuer,
    authorization_endpoint: `${oidc}/auth`,
    token_endpoint: `${oidc}/token`,
    userinfo_endpoint: `${oidc}/userinfo`,
    jwks_uri: `${oidc}/certs`,
    end_session_endpoint: `${oidc}/logout`,
    revocation_endpoint: `${oidc}/revoke`,
    introspection_endpoint: `${oidc}/token/introspect`,
    scopes_supported: [...SUPPORTED_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: [...RESPONSE_MODES],
    grant_types_supported: ['authorization_code', 'refresh_token', 'password'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [signer.alg],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.filter((m) => m !== 'none'),
    code_challenge_methods_supported: ['S256'],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'azp', 'at_hash', ...USER_CLAIMS],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    frontchannel_logout_supported: false,
    backchannel_logout_supported: false,
  });
  const summary = 'OpenID Connect discovery document';
  app.get(`${base}/.well-known/openid-configuration`, { schema: { tags, summary } }, discovery);
  if (base !== '') app.get('/.well-known/openid-configuration', { schema: { tags, summary } }, discovery);

  const userinfo = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const token = bearerCredential(request);
    const claims = token ? await tokens.userinfo(token) : undefined;
    if (!claims) {
      // RFC 6750 §3: the error goes in the challenge; the body is the usual `{"detail"}`.
      reply.header('www-authenticate', token ? 'Bearer error="invalid_token"' : 'Bearer');
      return reply.code(401).send({ detail: token ? 'Bad credentials' : 'Requires authentication' });
    }
    return claims;
  };
  const userinfoSchema = { tags, summary: 'The signed-in user (OpenID Connect userinfo)', security: [{ 'API Key': [] }] };
  app.get(`${base}/protocol/openid-connect/userinfo`, { schema: userinfoSchema }, userinfo);
  app.post(`${base}/protocol/openid-connect/userinfo`, { schema: { ...userinfoSchema, hide: true } }, userinfo);
};
