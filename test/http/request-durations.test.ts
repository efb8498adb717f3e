import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { requestDurations } from '../../src/http/request-durations.ts';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The same observations into prom-client's Histogram and into requestDurations, each in a registry of its own. */
function both(observations: [method: string, route: string, status: string, seconds: number][]) {
  const reference = new Registry();
  const ours = new Registry();
  const histogram = new Histogram({ name: 'x_seconds', help: 'Time to answer "requests".', labelNames: ['method', 'route', 'status'] as const, buckets: BUCKETS, registers: [reference] });
  const durations = requestDurations({ name: 'x_seconds', help: 'Time to answer "requests".', buckets: BUCKETS, registers: [ours] });
  const observers = new Map<string, (seconds: number) => void>();
  const observe = (method: string, route: string, status: string, seconds: number) => {
    histogram.observe({ method, route, status }, seconds);
    const key = `${status} ${method} ${route}`;
    if (!observers.has(key)) observers.set(key, durations.series(key, { method, route, status }));
    observers.get(key)!(seconds);
  };
  for (const o of observations) observe(...o);
  return { reference, ours, observe };
}

describe('the request-latency histogram', () => {
  it('exposes exactly what prom-client\'s Histogram exposes for the same observations', async () => {
    const values = [0, 0.0004, 0.0005, 0.001, 0.0025000001, 0.3, 7, 11, 1e9];
    const series: [string, string, string][] = [['GET', '/users/me', '200'], ['GET', 'unmatched', '404'], ['POST', '/users', '422'], ['GET', '/a"b\\c\nd', '200']];
    const { reference, ours } = both(values.flatMap((v) => series.map(([m, r, s]) => [m, r, s, v] as [string, string, string, number])));
    const text = await ours.metrics();
    assert.equal(text, await reference.metrics());
    assert.match(text, /^x_seconds_bucket\{le="0.0005",method="GET",route="\/users\/me",status="200"\} 3$/m);
    assert.match(text, /^x_seconds_count\{method="GET",route="\/users\/me",status="200"\} 9$/m);
    assert.deepEqual(await ours.getMetricsAsJSON(), await reference.getMetricsAsJSON());
    assert.equal(await Registry.merge([ours, new Registry()]).metrics(), text);
  });

  it('forgets its series on reset as prom-client does, and counts the next observation afresh', async () => {
    const { reference, ours, observe } = both([['GET', '/users/me', '200', 0.2]]);
    reference.resetMetrics();
    ours.resetMetrics();
    assert.equal(await ours.metrics(), await reference.metrics());
    observe('GET', '/users/me', '200', 0.002);
    const text = await ours.metrics();
    assert.equal(text, await reference.metrics());
    assert.match(text, /^x_seconds_count\{method="GET",route="\/users\/me",status="200"\} 1$/m);
  });
});
