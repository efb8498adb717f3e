import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../domain/ports.ts';

const WINDOW_MS = 60_000;
// Bounds memory under a flood from many addresses: past this many tracked clients the oldest window is dropped.
const MAX_CLIENTS = 100_000;

/**
 * A fixed one-minute window per client IP, in process memory. Per replica on purpose: it only has to slow a single
 * client's guessing, and the per-account lockout — which is what actually stops guessing — is shared through the
 * database. `limit` 0 disables it.
 */
export function createRateLimiter(limit: number, clock: Clock) {
  const windows = new Map<string, { start: number; count: number }>();

  function take(client: string): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = clock.now();
    let w = windows.get(client);
    if (!w || now - w.start >= WINDOW_MS) {
      windows.delete(client);
      if (windows.size >= MAX_CLIENTS) windows.delete(windows.keys().next().value!);
      w = { start: now, count: 0 };
      windows.set(client, w);
    }
    w.count += 1;
    if (w.count <= limit) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((w.start + WINDOW_MS - now) / 1000)) };
  }

  /** An onRequest hook answering 429 with Retry-After once a client is over the limit. */
  async function rateLimitHook(request: FastifyRequest, reply: FastifyReply) {
    if (limit === 0) return;
    const verdict = take(request.ip);
    if (!verdict.allowed) {
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      return reply.code(429).send({ detail: 'Too many requests', error: 'rate_limited' });
    }
  }
  /** The same budget for callers that answer in their own format (the login page answers in HTML). */
  rateLimitHook.take = (client: string) => (limit === 0 ? ({ allowed: true } as const) : take(client));
  return rateLimitHook;
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
