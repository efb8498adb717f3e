import type { Registry } from 'prom-client';

export interface RequestLabels {
  method: string;
  route: string;
  status: string;
}

interface Series {
  labels: RequestLabels;
  /** Observations per bucket, not cumulative: `counts[i]` holds those in (buckets[i-1], buckets[i]]. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * The request-latency histogram, exposed exactly as prom-client's Histogram exposes one (same lines, same label
 * order), but observed without its per-observation work: prom-client copies, validates and hashes the label object
 * on every observation, even through a labelled child, and this runs on every request. Here a request series is
 * looked up once by the caller (see metrics.ts) and an observation is a bucket search and three additions.
 * Registered as a metric of its own: a prom-client registry only asks a metric for its name and its values.
 */
export function requestDurations(opts: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
  const { name, help, buckets } = opts;
  const series = new Map<string, Series>();
  let resets = 0;

  const metric = {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    /** What prom-client's Histogram answers here: the buckets' own label (`le`) first, the series' labels shared. */
    async getForPromString() {
      const values: { labels: Record<string, string | number>; sharedLabels: RequestLabels; value: number; metricName: string; exemplar: null | undefined }[] = [];
      for (const s of series.values()) {
        let cumulative = 0;
        for (let i = 0; i < buckets.length; i++) {
          cumulative += s.counts[i]!;
          values.push({ labels: { le: buckets[i]! }, sharedLabels: s.labels, value: cumulative, metricName: `${name}_bucket`, exemplar: null });
        }
        values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket`, exemplar: null });
        values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum`, exemplar: undefined });
        values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count`, exemplar: undefined });
      }
      return { name, help, type: metric.type, values, aggregator: metric.aggregator };
    },
    /** The same values with each line's labels in one object, as prom-client's `get()` gives them (JSON output). */
    async get() {
      const data = await metric.getForPromString();
      return { ...data, values: data.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) };
    },
    reset() {
      series.clear();
      resets += 1;
    },
  };
  for (const registry of opts.registers) registry.registerMetric(metric as never);

  return {
    /** The observer of one series (made at its first use); `key` must identify `labels`. */
    series(key: string, labels: RequestLabels): (seconds: number) => void {
      let s: Series | undefined;
      let made = -1;
      return (seconds) => {
        if (!Number.isFinite(seconds)) return;
        if (made !== resets) {
          // First use, or the histogram was reset since: (re)enter the series, as prom-client does on observing.
          s = series.get(key) ?? { labels, counts: buckets.map(() => 0), sum: 0, count: 0 };
          series.set(key, s);
          made = resets;
        }
        let i = 0;
        while (i < buckets.length && seconds > buckets[i]!) i++;
        if (i < buckets.length) s!.counts[i] = s!.counts[i]! + 1;
        s!.sum += seconds;
        s!.count += 1;
      };
    },
  };
}
