import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { bucketValueUs, sparseBucketsOf, type IntervalHistogram } from '../histograms/index.js';
import type { WindowSummary } from '../pilot-record.js';
import type { Protocol, VariantName } from '../protocols.js';

/**
 * Prometheus exposition of what the pilot already records — no second recorder: each 1 s interval histogram
 * the generator closed is added into the latency histogram, its counts into the counters; each closed window's
 * verdict sets the overhead estimate; the proxy samples set CPU and RSS.
 */

/**
 * Latency buckets (seconds): 50 µs apart up to 2 ms and 100 µs apart up to 5 ms, so histogram_quantile (linear
 * within a bucket) tells apart p99s 0.1 ms apart in the range loopback and sidecars live in; coarser above.
 */
export const LATENCY_BUCKETS_S: readonly number[] = (() => {
  const us: number[] = [];
  for (let v = 50; v <= 2000; v += 50) us.push(v);
  for (let v = 2100; v <= 5000; v += 100) us.push(v);
  for (let v = 5500; v <= 10_000; v += 500) us.push(v);
  us.push(15_000, 20_000, 30_000, 50_000, 75_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000);
  return us.map((x) => x / 1e6);
})();

export class PilotMetrics {
  readonly registry = new Registry();
  private readonly latency = new Histogram({
    name: 'meshbench_latency_seconds',
    help: 'Response latency from the intended send time (coordinated-omission corrected), per protocol and variant',
    labelNames: ['protocol', 'variant'] as const,
    buckets: [...LATENCY_BUCKETS_S],
    registers: [this.registry],
  });
  private readonly requests = new Counter({
    name: 'meshbench_requests_total',
    help: 'Requests sent (or due and never sent) by the generator',
    labelNames: ['protocol', 'variant'] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'meshbench_errors_total',
    help: 'Failed requests, by error kind',
    labelNames: ['protocol', 'variant', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly late = new Counter({
    name: 'meshbench_late_requests_total',
    help: 'Requests the generator sent later than validity.lateThresholdMs after their intended time',
    labelNames: ['protocol', 'variant'] as const,
    registers: [this.registry],
  });
  private readonly lag = new Gauge({
    name: 'meshbench_generator_lag_seconds',
    help: 'Largest send lag of the last 1 s interval (how late the generator sent a request after its intended time)',
    labelNames: ['protocol', 'variant'] as const,
    registers: [this.registry],
  });
  private readonly overhead = new Gauge({
    name: 'meshbench_p99_overhead_seconds',
    help: 'p99 overhead (meshed − unmeshed) of the last closed window: its estimate and interval bounds',
    labelNames: ['protocol', 'variant', 'bound'] as const,
    registers: [this.registry],
  });
  private readonly windows = new Counter({
    name: 'meshbench_windows_total',
    help: 'Closed pilot windows by their own verdict',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly proxyCpu = new Counter({
    name: 'meshbench_proxy_cpu_seconds_total',
    help: 'CPU seconds the sidecar proxies used since the pilot (segment) started',
    labelNames: ['variant', 'proxy'] as const,
    registers: [this.registry],
  });
  private readonly proxyRss = new Gauge({
    name: 'meshbench_proxy_rss_bytes',
    help: 'Resident memory of the sidecar proxies',
    labelNames: ['variant', 'proxy'] as const,
    registers: [this.registry],
  });
  private readonly cpuSeen = new Map<string, number>();

  /** One closed 1 s interval of one series. */
  addInterval(protocol: Protocol, variant: VariantName, interval: IntervalHistogram): void {
    const child = this.latency.labels(protocol, variant);
    const { indexes, counts } = sparseBucketsOf(interval.histogram);
    // prom-client observes one value at a time: the interval's buckets are replayed (cheap at pilot rates).
    indexes.forEach((index, k) => {
      const valueS = bucketValueUs(index) / 1e6;
      for (let n = counts[k] ?? 0; n > 0; n--) child.observe(valueS);
    });
    const c = interval.counts;
    if (c === undefined) return;
    this.requests.labels(protocol, variant).inc(c.sent);
    this.late.labels(protocol, variant).inc(c.late);
    this.lag.labels(protocol, variant).set(c.maxLagUs / 1e6);
    for (const [kind, n] of Object.entries(c.errorsByKind ?? {})) this.errors.labels(protocol, variant, kind).inc(n);
  }

  /** A closed window: its verdict and its overhead estimate. */
  addWindow(summary: WindowSummary): void {
    this.windows.labels(summary.status).inc();
    for (const p of summary.protocols) {
      for (const [variant, e] of Object.entries(p.p99OverheadUs)) {
        if (e === null) continue;
        this.overhead.labels(p.name, variant, 'estimate').set(e.estimate / 1e6);
        this.overhead.labels(p.name, variant, 'low').set(e.low / 1e6);
        this.overhead.labels(p.name, variant, 'high').set(e.high / 1e6);
      }
    }
  }

  /** Cumulative proxy samples (a restarted proxy starts from 0 again: only increases are counted). */
  addProxies(variant: VariantName, samples: readonly { name: string; cpuSeconds: number; rssBytes: number }[]): void {
    for (const s of samples) {
      const key = `${variant}/${s.name}`;
      const before = this.cpuSeen.get(key);
      if (before !== undefined && s.cpuSeconds > before) this.proxyCpu.labels(variant, s.name).inc(s.cpuSeconds - before);
      else if (before === undefined) this.proxyCpu.labels(variant, s.name).inc(0);
      this.cpuSeen.set(key, s.cpuSeconds);
      this.proxyRss.labels(variant, s.name).set(s.rssBytes);
    }
  }

  /** Serves GET /metrics on host:port (0: any free port); resolves with the port. */
  async listen(port: number, host: string): Promise<{ port: number; close: () => Promise<void> }> {
    const server: Server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('meshbench serves GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
}
