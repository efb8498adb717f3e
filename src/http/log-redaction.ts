/**
 * What a logged URL must not show: the values of query parameters that carry personal data or secrets. Logs are
 * kept longer and read by more people than the database, so a search for "alice@example.com" is logged as
 * `/users?search_string=[redacted]`. The parameter names stay, so the line still says what was asked.
 *
 * Names are compared without case, `_`, `-` or `.` (`firstName`, `first_name` and `first-name` alike).
 */
const REDACTED_NAMES = new Set([
  // search terms match emails and names (GET /users, GET /users/count)
  'search', 'searchstring', 'q', 'query', 'filter', 'term',
  // people (the OpenID Connect claims and the user fields)
  'email', 'username', 'user', 'login', 'loginhint', 'firstname', 'lastname', 'givenname', 'familyname', 'middlename',
  'name', 'fullname', 'displayname', 'nickname', 'preferredusername', 'phone', 'phonenumber',
  // secrets sent where they should not be: an ID token (a logout hint: it carries the user's claims, and a valid one
  // signs its session out), codes, passwords, tokens, keys
  'idtokenhint', 'code', 'codeverifier', 'password', 'key', 'apikey', 'assertion', 'clientassertion',
]);
/** Anything named like these too, whatever else the name holds (`new_password`, `refresh_token`, `user_email`). */
const REDACTED_PARTS = /mail|password|passwd|secret|token|phone/;

const REDACTED = '[redacted]';

function decoded(component: string): string {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '));
  } catch {
    return component;
  }
}

function redactedName(name: string): boolean {
  const plain = decoded(name).toLowerCase().replace(/[_.\-\s]/g, '');
  return REDACTED_NAMES.has(plain) || REDACTED_PARTS.test(plain);
}

/** One `name=value` pair of a query string, with the value hidden when the name calls for it. */
function redactPair(pair: string): string {
  const eq = pair.indexOf('=');
  const name = eq === -1 ? pair : pair.slice(0, eq);
  // A name that is not a plain name may itself be data (`?alice@example.com`, or JSON sent as a query).
  if (!/^[\w.\-[\]%]{0,64}$/.test(name) || !/^[\w.\-[\] ]*$/.test(decoded(name))) return eq === -1 ? REDACTED : `${REDACTED}=${REDACTED}`;
  if (eq === -1 || eq === pair.length - 1 || !redactedName(name)) return pair;
  return `${name}=${REDACTED}`;
}

/** The URL with the values of personal and secret query parameters replaced by `[redacted]`; the rest unchanged. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const hash = url.indexOf('#', q);
  const query = hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash);
  const rest = hash === -1 ? '' : url.slice(hash);
  return `${url.slice(0, q + 1)}${query.split('&').map(redactPair).join('&')}${rest}`;
}

/**
 * pino's request serializer: Fastify's default fields with the URL redacted. There is deliberately no body, no
 * query object and no header here: only what the request line and the socket say.
 */
export function requestSerializer(req: { method: string; url: string; host?: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host ?? req.hostname,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
