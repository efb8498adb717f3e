import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CONSOLE_CLIENT_ID, consoleUrl } from '../../domain/console-client.ts';

/** Where `npm run build:console` (and `npm start`, before starting) puts the built console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The console's policy: its own scripts, styles and images only, API calls to this origin (and the issuer's, if a
 * proxy gives it another), nothing inline, no framing.
 */
function consoleCsp(issuer: string): string {
  const issuerOrigin = new URL(issuer).origin;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self' ${issuerOrigin}`,
    "manifest-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * Serves the admin console (a single-page app, console/) at /console/: its files, index.html for every page
 * address, and /console/config.json telling it the issuer's endpoints and its client id. The console signs in
 * through this server's own authorization endpoint like any other application, and calls the API with the
 * operator's access token: it gets no access of its own.
 */
export const consoleRoutes: FastifyPluginAsync<{ issuer: string; dist?: string }> = async (app, { issuer, dist = CONSOLE_DIST }) => {
  const csp = consoleCsp(issuer);
  const oidc = `${issuer}/protocol/openid-connect`;
  const config = {
    issuer,
    client_id: CONSOLE_CLIENT_ID,
    redirect_uri: consoleUrl(issuer),
    authorization_endpoint: `${oidc}/auth`,
    token_endpoint: `${oidc}/token`,
    end_session_endpoint: `${oidc}/logout`,
    revocation_endpoint: `${oidc}/revoke`,
  };
  const root = normalize(dist);

  function sendFile(reply: FastifyReply, path: string, immutable: boolean) {
    reply.header('content-security-policy', csp);
    reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.type(TYPES[extname(path)] ?? 'application/octet-stream');
    return reply.send(createReadStream(path));
  }

  function notBuilt(reply: FastifyReply) {
    reply.code(503).header('content-security-policy', csp).header('cache-control', 'no-store').type('text/plain; charset=utf-8');
    return reply.send('The console is not built. Run `npm run build:console` (npm start does it for you), then reload.\n');
  }

  // (`/console` without the slash: the router ignores trailing slashes, so it arrives at the root route below and
  // is sent on to `/console/`, the address the sign-in redirect is registered for.)

  app.get('/console/config.json', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-cache');
    return config;
  });

  const page = async (request: FastifyRequest<{ Params: { '*'?: string } }>, reply: FastifyReply) => {
    if (request.url.split('?')[0] === '/console') return reply.redirect('/console/', 302);
    const wanted = request.params['*'] ?? '';
    const index = join(root, 'index.html');
    if (!existsSync(index)) return notBuilt(reply);
    // A file of the build (assets carry a content hash in their names, so they may be cached for good)…
    if (wanted !== '' && !wanted.includes('\0')) {
      const path = normalize(join(root, wanted));
      if (path.startsWith(root + (root.endsWith(sep) ? '' : sep)) && existsSync(path) && statSync(path).isFile()) {
        return sendFile(reply, path, wanted.startsWith('assets/'));
      }
      // …a missing file is a 404; any other address is one of the console's pages.
      if (extname(wanted) !== '') return reply.code(404).type('text/plain; charset=utf-8').send('Not found\n');
    }
    return sendFile(reply, index, false);
  };
  // The wildcard does not match its own empty path: the console's root is a route of its own.
  app.get('/console/', { schema: { hide: true } }, page);
  app.get('/console/*', { schema: { hide: true } }, page);
};
