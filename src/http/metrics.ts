import type { FastifyInstance } from 'fastify';

/** Latency buckets in seconds: fine-grained below 10 ms, where the hot paths live. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: string;
  count: number;
  sum: number;
  buckets: number[];
}

/**
 * Request counts and latencies by method, route template and status, kept in process and rendered in the
 * Prometheus text format. A few map lookups per request; route templates (not raw URLs) keep cardinality bounded.
 */
export function createMetrics() {
  const series = new Map<string, Series>();
  const started = Date.now();

  function escape(v: string): string {
    return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  }

  return {
    observe(method: string, route: string, status: number, seconds: number): void {
      const key = `${method} ${status} ${route}`;
      let s = series.get(key);
      if (!s) {
        const labels = `method="${escape(method)}",route="${escape(route)}",status="${status}"`;
        s = { labels, count: 0, sum: 0, buckets: BUCKETS.map(() => 0) };
        series.set(key, s);
      }
      s.count += 1;
      s.sum += seconds;
      for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) s.buckets[i]! += 1;
    },

    render(): string {
      const lines = [
        '# HELP gatehouse_http_requests_total HTTP requests answered, by method, route and status.',
        '# TYPE gatehouse_http_requests_total counter',
      ];
      for (const s of series.values()) lines.push(`gatehouse_http_requests_total{${s.labels}} ${s.count}`);
      lines.push(
        '# HELP gatehouse_http_request_duration_seconds Time to answer HTTP requests.',
        '# TYPE gatehouse_http_request_duration_seconds histogram',
      );
      for (const s of series.values()) {
        BUCKETS.forEach((le, i) => lines.push(`gatehouse_http_request_duration_seconds_bucket{${s.labels},le="${le}"} ${s.buckets[i]}`));
        lines.push(`gatehouse_http_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${s.count}`);
        lines.push(`gatehouse_http_request_duration_seconds_sum{${s.labels}} ${s.sum}`);
        lines.push(`gatehouse_http_request_duration_seconds_count{${s.labels}} ${s.count}`);
      }
      const mem = process.memoryUsage();
      lines.push(
        '# HELP gatehouse_process_resident_memory_bytes Resident set size.',
        '# TYPE gatehouse_process_resident_memory_bytes gauge',
        `gatehouse_process_resident_memory_bytes ${mem.rss}`,
        '# HELP gatehouse_process_uptime_seconds Seconds since the process started serving.',
        '# TYPE gatehouse_process_uptime_seconds gauge',
        `gatehouse_process_uptime_seconds ${(Date.now() - started) / 1000}`,
      );
      return lines.join('\n') + '\n';
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function recordRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
