import type { FastifyInstance } from 'fastify';
import { OAuthError } from '../domain/errors.ts';

/** Form bodies (RFC 6749 §4.3.2). A parameter sent twice is an error (RFC 6749 §3.2), so nobody smuggles a second value. */
export function parseForm(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(out, key)) throw new OAuthError('invalid_request', `Parameter ${key} is repeated`);
    out[key] = value;
  }
  return out;
}

/**
 * Accepts `application/x-www-form-urlencoded` bodies in the calling plugin's routes, as OAuth clients and HTML forms
 * send them. `repeated: 'reject'` answers a repeated parameter with an OAuth error; `'keep'` passes it on as an
 * array, for routes that answer with a page of their own.
 */
export function acceptForms(app: FastifyInstance, repeated: 'reject' | 'keep' = 'reject'): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    if (repeated === 'keep') {
      const out: Record<string, string | string[]> = {};
      for (const [key, value] of new URLSearchParams(body as string)) {
        const seen = out[key];
        out[key] = seen === undefined ? value : [...[seen].flat(), value];
      }
      return done(null, out);
    }
    try {
      done(null, parseForm(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
