import type { FastifyInstance } from 'fastify';
import type { Actor, RequestMeta } from '../domain/audit.ts';
import { ADMIN_KEY_PRINCIPAL_ID, type Principal } from '../domain/principal.ts';
import { requestContext } from '../request-context.ts';

/** Longer user agents are cut: the audit trail keeps what identifies a client, not whatever a caller sends. */
const MAX_USER_AGENT = 256;

/**
 * Opens the request context (request id, client IP, user agent) that audit events written while handling the
 * request carry. Registered first, so every later hook and the handler run inside it; run() with `done` keeps the
 * context for everything Fastify calls after this hook.
 */
export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('requestMeta', null);
  app.addHook('onRequest', (request, _reply, done) => {
    const ua = request.headers['user-agent'];
    const meta: RequestMeta = {
      actor: ANONYMOUS,
      requestId: request.id,
      clientIp: request.ip ?? null,
      userAgent: typeof ua === 'string' ? ua.slice(0, MAX_USER_AGENT) : null,
    };
    // Kept on the request too, so authentication names the actor on it without looking the context up (auth.ts).
    request.requestMeta = meta;
    requestContext.enter(meta, done);
  });
}

const ANONYMOUS: Actor = Object.freeze({ kind: 'anonymous', id: null });

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's audit context (the object the request context holds), or null outside registerRequestContext. */
    requestMeta: RequestMeta | null;
  }
}

/** The audit actor of an authenticated caller. */
export function actorOf(principal: Principal): Actor {
  if (principal.kind === 'admin_key' || principal.id === ADMIN_KEY_PRINCIPAL_ID) return { kind: 'admin_key', id: ADMIN_KEY_PRINCIPAL_ID };
  return { kind: principal.kind, id: principal.id };
}
