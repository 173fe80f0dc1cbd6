import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_S, PilotMetrics } from '../../src/metrics/exporter.js';
import { syntheticInterval } from '../fixtures/pilot-records.js';

function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? NaN : Number(line.split(' ').pop());
}

describe('PilotMetrics', () => {
  it('buckets are at most 0.1 ms apart below 5 ms', () => {
    const below = LATENCY_BUCKETS_S.filter((b) => b <= 0.005);
    for (let i = 1; i < below.length; i++) expect((below[i] ?? 0) - (below[i - 1] ?? 0)).toBeLessThanOrEqual(0.0001 + 1e-12);
  });

  it('replays interval histograms into the latency histogram and counts requests, errors by kind and lag', async () => {
    const m = new PilotMetrics();
    const a = syntheticInterval(0, 100, 300, 0, 1);
    const b = syntheticInterval(1000, 100, 300, 500, 2, 3);
    m.addInterval('http1', 'unmeshed', a);
    m.addInterval('http1', 'meshed', b);
    m.addProxies('meshed', [{ name: 'client-sidecar', cpuSeconds: 1, rssBytes: 5e6 }]);
    m.addProxies('meshed', [{ name: 'client-sidecar', cpuSeconds: 1.5, rssBytes: 6e6 }]);
    const text = await m.registry.metrics();
    expect(sample(text, 'meshbench_latency_seconds_count', 'protocol="http1",variant="unmeshed"')).toBe(100);
    expect(sample(text, 'meshbench_latency_seconds_bucket', 'le="+Inf",protocol="http1",variant="meshed"')).toBe(100);
    // the unmeshed latencies start at 300 µs, the meshed at 800 µs
    expect(sample(text, 'meshbench_latency_seconds_bucket', 'le="0.00025",protocol="http1",variant="unmeshed"')).toBe(0);
    expect(sample(text, 'meshbench_latency_seconds_bucket', 'le="0.0007",protocol="http1",variant="meshed"')).toBe(0);
    expect(sample(text, 'meshbench_latency_seconds_bucket', 'le="0.0007",protocol="http1",variant="unmeshed"')).toBeGreaterThan(50);
    expect(sample(text, 'meshbench_requests_total', 'protocol="http1",variant="meshed"')).toBe(103);
    expect(sample(text, 'meshbench_errors_total', 'protocol="http1",variant="meshed",kind="timeout"')).toBe(3);
    expect(sample(text, 'meshbench_generator_lag_seconds', 'protocol="http1",variant="meshed"')).toBeCloseTo(0.0001, 9);
    expect(sample(text, 'meshbench_proxy_cpu_seconds_total', 'variant="meshed",proxy="client-sidecar"')).toBeCloseTo(0.5, 9);
    expect(sample(text, 'meshbench_proxy_rss_bytes', 'variant="meshed",proxy="client-sidecar"')).toBe(6e6);
  });

  it('serves the exposition on GET /metrics (port 0) and 404 elsewhere', async () => {
    const m = new PilotMetrics();
    m.addInterval('grpc-bidi', 'meshed', syntheticInterval(0, 10, 300, 0, 1));
    const server = await m.listen(0, '127.0.0.1');
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/plain/);
      expect(await res.text()).toMatch(/meshbench_latency_seconds_count\{protocol="grpc-bidi",variant="meshed"\} 10/);
      expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
