import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * `/openapi.json`, generated from the route schemas (never hand-written), with the seed's `API Key` bearer scheme,
 * and `/docs`, a page to read and try the API.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        version,
        description: 'User management and identity: the User Management API, API keys and password login.',
      },
      components: {
        securitySchemes: { 'API Key': { type: 'http', scheme: 'bearer' } },
      },
    },
  });
  // The docs page needs scripts and styles from its own origin (and inline styles); everything else stays shut.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: false },
    staticCSP:
      "default-src 'self'; base-uri 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; " +
      "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
    transformSpecificationClone: true,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
