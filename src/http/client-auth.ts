import type { FastifyRequest } from 'fastify';
import { OAuthError } from '../domain/errors.ts';

export interface ClientCredentials {
  clientId?: string;
  secret?: string;
}

/** RFC 6749 §2.3.1: `client_id:client_secret`, each form-urlencoded, then base64. */
function fromBasic(value: string): ClientCredentials | undefined {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const unescape = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  };
  const clientId = unescape(decoded.slice(0, colon));
  const secret = unescape(decoded.slice(colon + 1));
  if (clientId === undefined || secret === undefined || /[\u0000\p{Cs}]/u.test(clientId + secret)) return undefined;
  return { clientId, secret };
}

/**
 * The client's credentials from the Basic header (`client_secret_basic`) or the body (`client_secret_post`, or only
 * `client_id` for a public client). Using both methods at once is refused (RFC 6749 §2.3).
 */
export function clientCredentials(request: FastifyRequest, body: { client_id?: string; client_secret?: string }): ClientCredentials {
  const header = request.headers.authorization;
  if (typeof header === 'string' && /^basic /i.test(header.trim())) {
    const basic = fromBasic(header.trim().slice(6).trim());
    if (!basic) throw new OAuthError('invalid_client', 'Malformed Basic credentials', 401);
    if (body.client_secret !== undefined) throw new OAuthError('invalid_request', 'Use one client authentication method, not two');
    if (body.client_id !== undefined && body.client_id !== basic.clientId) throw new OAuthError('invalid_request', 'client_id differs from the Basic credentials');
    return basic;
  }
  return {
    ...(body.client_id !== undefined ? { clientId: body.client_id } : {}),
    ...(body.client_secret !== undefined ? { secret: body.client_secret } : {}),
  };
}
