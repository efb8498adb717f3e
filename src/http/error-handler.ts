import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, errors, OAuthError, ValidationError, type FieldProblem } from '../domain/errors.ts';
import { toFieldProblems } from './validation.ts';

const PART_DATA: Record<string, (r: FastifyRequest) => unknown> = {
  body: (r) => r.body,
  querystring: (r) => r.query,
  params: (r) => r.params,
  headers: (r) => r.headers,
};

// Fields whose values are secrets: a 422 names them but never echoes them back (FastAPI would), so no password,
// key or token ends up in a client's error log or a proxy's response capture.
const SECRET_FIELD = /password|secret|token|^key$/i;
const REDACTED = '[redacted]';

function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 70) return value; // bodies nest 64 deep at most
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) =>
      // A key that is not a plain name may itself carry a secret (JSON sent as a form body becomes one long key).
      /^[\w.-]{1,64}$/.test(k) ? [k, SECRET_FIELD.test(k) ? REDACTED : redact(v, depth + 1)] : [REDACTED, REDACTED],
    ),
  );
}

const PARTS = ['body', 'query', 'path'];

/**
 * The domain names fields, not where they came from; a request's problems are located where its input is: the body
 * of a write, the query string of a read.
 */
function located(request: FastifyRequest, problems: FieldProblem[]): FieldProblem[] {
  const part = request.method === 'GET' || request.method === 'HEAD' ? 'query' : 'body';
  return problems.map((p) => (PARTS.includes(String(p.loc[0])) ? p : { ...p, loc: [part, ...p.loc] }));
}

/** The values of the body's secret fields (passwords, tokens), however the body is shaped. */
function secretValues(body: unknown): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [];
  return Object.entries(body as Record<string, unknown>).flatMap(([k, v]) => (SECRET_FIELD.test(k) && typeof v === 'string' && v !== '' ? [v] : []));
}

function sendProblems(reply: FastifyReply, problems: FieldProblem[], body?: unknown) {
  // A password typed into the wrong field (the username, say) must not come back either: an input that contains
  // one of the request's secrets is redacted whatever field it was sent in.
  const secrets = secretValues(body);
  const carriesSecret = (input: unknown) => secrets.length > 0 && secrets.some((secret) => JSON.stringify(input ?? null).includes(JSON.stringify(secret).slice(1, -1)));
  const safe = problems.map((p) => {
    const field = p.loc.at(-1);
    const input = redact(p.input); // secret-named keys inside the input are already hidden here
    const secret = (typeof field === 'string' && SECRET_FIELD.test(field)) || carriesSecret(input);
    const { ctx, ...rest } = p;
    // A policy message can quote nothing of the password, but ctx.error repeats msg; keep it, it is text we wrote.
    return { ...rest, input: secret ? REDACTED : input, ...(ctx ? { ctx } : {}) };
  });
  return reply.code(422).send({ detail: safe });
}

/** Texts for framework-level rejections that have no domain error of their own. */
const FRAMEWORK_ERRORS: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'Request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'Unsupported media type: send application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'Content-Length does not match the body'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'Unsupported media type: send application/json'],
};

/**
 * The one place where errors become HTTP. Domain errors carry their status; validation failures from the schema
 * layer become FastAPI-shaped 422s; anything unexpected is logged and answered with a generic 500 that carries no
 * stack trace, SQL or input.
 */
export function registerErrorHandling(app: FastifyInstance, isDatabaseUnavailable: (err: unknown) => boolean): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ValidationError) return sendProblems(reply, located(request, error.problems), request.body);
    if (error instanceof OAuthError) {
      if (error.oauthCode === 'invalid_client') reply.header('www-authenticate', 'Basic realm="gatehouse"');
      return reply.code(error.httpStatus).send({ error: error.oauthCode, error_description: error.message });
    }
    if (error instanceof DomainError) {
      if (error.status === 401) {
        const hadCredential = error.code === 'bad_credentials';
        reply.header('www-authenticate', hadCredential ? 'Bearer error="invalid_token"' : 'Bearer');
      }
      return reply.code(error.status).send({ detail: error.message });
    }
    if (error.validation) {
      const part = error.validationContext ?? 'body';
      const data = PART_DATA[part]?.(request);
      if (part === 'body' && (data === undefined || data === null)) {
        return sendProblems(reply, [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
      }
      return sendProblems(reply, toFieldProblems(error.validation as never, part, data), request.body);
    }
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return sendProblems(reply, [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
    }
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'GH_JSON_TOO_DEEP' || (error instanceof SyntaxError && error.statusCode === 400)) {
      const why = error.code === 'GH_JSON_TOO_DEEP' ? error.message : 'Invalid JSON';
      return sendProblems(reply, [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error', input: {}, ctx: { error: why } }]);
    }
    const known = FRAMEWORK_ERRORS[error.code];
    if (known) return reply.code(known[0]).send({ detail: known[1] });
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ detail: 'Bad request' });
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ code: error.code }, 'database unavailable');
      return reply.code(503).header('retry-after', '1').send({ detail: errors.databaseUnavailable().message });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ detail: 'Internal server error' });
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not Found' }));
}
