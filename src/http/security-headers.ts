import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * Security headers on every response, set in one step from a precomputed list (this runs on every request, so
 * it is kept to the headers that matter for a JSON API): no MIME sniffing, no framing, no referrer leaks, HSTS, no
 * cross-origin reads, and a CSP under which an API response can load nothing at all. The docs page replaces the CSP
 * with its own, wider one (see openapi.ts).
 * CORS stays off — no Access-Control headers, so browsers on other origins cannot read responses — unless
 * GATEHOUSE_CORS_ORIGINS names the origins allowed.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
});

export async function registerSecurityHeaders(app: FastifyInstance, corsOrigins: string[]): Promise<void> {
  // One hook for every fixed response header, the request id included: hooks cost per request, so they are few.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    reply.header('x-request-id', request.id);
    done();
  });
  if (corsOrigins.length > 0) {
    await app.register(cors, {
      origin: corsOrigins,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate'],
      maxAge: 600,
    });
  }
}
