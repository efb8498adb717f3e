import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { ScrapeRefusal } from '../metrics-access.ts';
import { ErrorDetail } from '../schemas.ts';
import type { Metrics } from '../metrics.ts';

const tags = ['Operations'];

interface Options {
  ping: () => Promise<boolean>;
  /** Serve /metrics here; absent when it has a listener of its own (GATEHOUSE_METRICS_PORT). */
  metrics?: { metrics: Metrics; guard: (authorization: string | undefined) => ScrapeRefusal } | undefined;
}

/**
 * Liveness, readiness and metrics (CONTRACT.md §5). Public: load balancers and scrapers carry no credentials,
 * except that /metrics asks for a bearer token when GATEHOUSE_METRICS_TOKEN is set.
 */
export const operationRoutes: FastifyPluginAsync<Options> = async (app, { ping, metrics }) => {
  app.get(
    '/healthz',
    { schema: { tags, summary: 'Liveness', response: { 200: Type.Object({ status: Type.String() }) } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags,
        summary: 'Readiness: 200 when the database answers, else 503',
        response: { 200: Type.Object({ status: Type.String() }), 503: Type.Object({ status: Type.String(), detail: Type.String() }) },
      },
    },
    async (_request, reply) => {
      if (await ping()) return { status: 'ready' };
      return reply.code(503).send({ status: 'unavailable', detail: 'The database does not answer' });
    },
  );

  if (!metrics) return;
  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics', produces: ['text/plain'], response: { 401: ErrorDetail } } }, async (request, reply) => {
    const refusal = metrics.guard(request.headers.authorization);
    if (refusal !== null) return reply.code(401).header('www-authenticate', 'Bearer').send({ detail: refusal });
    const text = await metrics.metrics.render();
    return reply.type(metrics.metrics.contentType).send(text);
  });
};
