import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Metrics } from '../metrics.ts';

const tags = ['Operations'];

/** Liveness, readiness and metrics (CONTRACT.md §5). Public: load balancers and scrapers carry no credentials. */
export const operationRoutes: FastifyPluginAsync<{ metrics: Metrics; ping: () => Promise<boolean> }> = async (app, { metrics, ping }) => {
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

  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()),
  );
};
