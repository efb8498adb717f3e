import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hasPermission, type Permission } from '../domain/access.ts';
import { errors, type DomainError } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import { requestContext } from '../request-context.ts';
import { actorOf } from './request-context-hook.ts';
import { cookieValue } from './cookies.ts';

/**
 * Who may call a route, declared next to the route (`config: { access: { permission: 'users:write' } }`):
 * `permission` — one of the caller's roles must carry it (domain/access.ts); `check` — a rule that needs the
 * request (e.g. "only your own password"). Both run in the `onRequest` hook, before the body is even read, so a
 * caller who may not call the route learns nothing about its validation. A route with neither is open to any
 * authenticated caller.
 */
export interface RouteAccess {
  permission?: Permission;
  check?: (principal: Principal, request: FastifyRequest) => DomainError | null;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    principal: Principal;
  }
}

export type Authenticate = (credential: string) => Principal | undefined | Promise<Principal | undefined>;

/**
 * The bearer credential of CONTRACT.md §1.1: the Authorization header, or when there is none, the
 * `ACCESS_TOKEN` cookie holding `Bearer <credential>`. Returns null when neither is present, undefined when the
 * value is malformed.
 */
export function bearerCredential(request: FastifyRequest): string | null | undefined {
  const header = request.headers.authorization;
  let value = typeof header === 'string' && header.trim() !== '' ? header : null;
  if (value === null) value = cookieValue(request.headers.cookie, 'ACCESS_TOKEN');
  if (value === null) return null;
  // One match instead of trim, split and an array per request: exactly "Bearer <credential>", any case, any spaces.
  return BEARER.exec(value)?.[1];
}

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

/**
 * Registers authentication for every route in the encapsulating context: the route's siblings outside it
 * (health, login) stay public. Order per CONTRACT.md §1: authenticate (401), then authorize (403).
 */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: { authenticate: Authenticate }) => {
    app.decorateRequest('principal', null as unknown as Principal);
    const authorize = (request: FastifyRequest, principal: Principal | undefined): void => {
      if (!principal) throw errors.badCredentials();
      request.principal = principal;
      const actor = actorOf(principal);
      if (request.requestMeta) request.requestMeta.actor = actor;
      else requestContext.setActor(actor);
      const access = request.routeOptions.config.access;
      if (access?.permission && !hasPermission(principal.roles, access.permission)) throw errors.forbidden();
      const denied = access?.check?.(principal, request);
      if (denied) throw denied;
    };
    // Callback style rather than async: when the principal is at hand (admin key, cached credential) the request
    // goes on without a promise round trip.
    app.addHook('onRequest', (request, _reply, done) => {
      try {
        const credential = bearerCredential(request);
        if (credential === null) throw errors.requiresAuthentication();
        if (credential === undefined) throw errors.badCredentials();
        const found = opts.authenticate(credential);
        if (found instanceof Promise) {
          found.then(
            (principal) => {
              try {
                authorize(request, principal);
                done();
              } catch (err) {
                done(err as Error);
              }
            },
            (err: Error) => done(err),
          );
          return;
        }
        authorize(request, found);
        done();
      } catch (err) {
        done(err as Error);
      }
    });
  },
  { name: 'gatehouse-auth', encapsulate: false },
);
