import { AsyncLocalStorage } from 'node:async_hooks';
import { NO_REQUEST, type Actor, type RequestMeta } from './domain/audit.ts';

/**
 * Who is making the current request and from where, for the audit events its changes write. The HTTP layer opens
 * a context per request and names the actor once it has authenticated the caller; stores read it when they append
 * events, so no service has to carry request details it does not otherwise need. Outside a request (the command
 * line, background work) the actor is the system.
 */
const storage = new AsyncLocalStorage<RequestMeta>();

export const requestContext = {
  /** Runs `fn` (and everything it starts) inside a new request context. */
  run<T>(meta: Omit<RequestMeta, 'actor'>, fn: () => T): T {
    return storage.run({ ...meta, actor: { kind: 'anonymous', id: null } }, fn);
  },
  /**
   * Runs `fn` inside `meta` itself, not a copy: the HTTP layer keeps the object and names the actor on it directly,
   * which spares a store lookup on every authenticated request.
   */
  enter<T>(meta: RequestMeta, fn: () => T): T {
    return storage.run(meta, fn);
  },
  /** Names the authenticated caller of the current request. */
  setActor(actor: Actor): void {
    const current = storage.getStore();
    if (current) current.actor = actor;
  },
  current(): RequestMeta {
    return storage.getStore() ?? NO_REQUEST;
  },
};
