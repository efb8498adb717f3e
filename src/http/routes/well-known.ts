import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { TOKEN_ALG, type JwtSigner } from '../../security/jwt-signer.ts';

const tags = ['Login'];

/** Discovery for other services that verify Gatehouse tokens offline (RFC 8414 / OpenID Connect Discovery). */
export const wellKnownRoutes: FastifyPluginAsync<{ signer: JwtSigner; issuer: string }> = async (app, { signer, issuer }) => {
  const base = issuer.replace(/\/+$/, '');

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags,
        summary: 'Public keys that verify access tokens',
        response: {
          200: Type.Object({
            keys: Type.Array(
              Type.Object({ kty: Type.String(), crv: Type.String(), x: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String() }),
            ),
          }),
        },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=60');
      return signer.jwks();
    },
  );

  app.get('/.well-known/openid-configuration', { schema: { tags, summary: 'Discovery document' } }, async () => ({
    issuer,
    token_endpoint: `${base}/auth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    grant_types_supported: ['password', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['none'],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [TOKEN_ALG],
    token_endpoint_auth_signing_alg_values_supported: [TOKEN_ALG],
    claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'roles', 'ver'],
  }));
};
