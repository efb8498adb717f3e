/**
 * Query parameters whose values never reach a log line: an ID token (a logout hint carries the user's claims, and
 * a valid one signs its session out) and a login hint (an email address).
 */
const SECRET_QUERY_PARAMS = /([?&](?:id_token_hint|login_hint)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[redacted]');
}

/** pino's request serializer, Fastify's default fields with the URL redacted. */
export function requestSerializer(req: { method: string; url: string; host?: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host ?? req.hostname,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
