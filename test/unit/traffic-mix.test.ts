import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScenarioText } from '../../src/config/load.js';
import { prepareRequests } from '../../src/drivers/http1.js';
import { requestPool, sizeAt, sizePool, weightedOrder, type PooledRequest, type SizeDistribution } from '../../src/drivers/mix.js';
import { TRACEPARENT_LENGTH, TRACEPARENT_PLACEHOLDER, writeTraceparent } from '../../src/drivers/traceparent.js';
import { loadSpec } from '../../src/load/spec.js';
import { problemsOf } from '../scenario-problems.js';

const TRACEPARENT_FORM = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

const weightedSizes = fc.array(fc.record({ bytes: fc.integer({ min: 0, max: 100_000 }), weight: fc.integer({ min: 1, max: 50 }) }), { minLength: 1, maxLength: 6 });

describe('size distributions', () => {
  it('a weighted list pool holds each size in its share, to within one slot per size (property)', () => {
    fc.assert(fc.property(weightedSizes, fc.integer({ min: 16, max: 2048 }), fc.nat(1000), (sizes, n, seed) => {
      const d: SizeDistribution = { kind: 'weighted', sizes };
      const pool = sizePool(d, n, seed);
      const total = sizes.reduce((a, s) => a + s.weight, 0);
      const counts = new Map<number, number>();
      for (const b of pool) counts.set(b, (counts.get(b) ?? 0) + 1);
      const expected = new Map<number, number>();
      for (const s of sizes) expected.set(s.bytes, (expected.get(s.bytes) ?? 0) + (s.weight / total) * n);
      for (const [bytes, share] of expected) expect(Math.abs((counts.get(bytes) ?? 0) - share)).toBeLessThanOrEqual(sizes.length);
      expect([...counts.keys()].every((b) => expected.has(b))).toBe(true);
    }));
  });

  it('a pool is a permutation of the stratified quantiles, the same for the same seed (property)', () => {
    fc.assert(fc.property(weightedSizes, fc.integer({ min: 1, max: 500 }), fc.nat(1000), (sizes, n, seed) => {
      const d: SizeDistribution = { kind: 'weighted', sizes };
      const pool = sizePool(d, n, seed);
      expect(sizePool(d, n, seed)).toEqual(pool);
      const quantiles = Array.from({ length: n }, (_, i) => sizeAt(d, (i + 0.5) / n)).sort((a, b) => a - b);
      expect([...pool].sort((a, b) => a - b)).toEqual(quantiles);
    }));
  });

  it.each([
    { medianBytes: 512, sigma: 1 },
    { medianBytes: 4096, sigma: 0.3 },
    { medianBytes: 100, sigma: 2 },
  ])('a lognormal pool (median $medianBytes, sigma $sigma) has its median and the sd of its log', ({ medianBytes, sigma }) => {
    const pool = sizePool({ kind: 'lognormal', medianBytes, sigma, minBytes: 1, maxBytes: 1e9 }, 4096, 7);
    const sorted = [...pool].sort((a, b) => a - b);
    expect(sorted[2048]).toBeGreaterThanOrEqual(medianBytes * 0.98);
    expect(sorted[2048]).toBeLessThanOrEqual(medianBytes * 1.02 + 1);
    const logs = sorted.map((b) => Math.log(b));
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / logs.length);
    expect(Math.abs(sd - sigma) / sigma).toBeLessThan(0.05);
  });

  it('a lognormal is clamped to [minBytes, maxBytes] (property)', () => {
    fc.assert(fc.property(fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 200, max: 5000 }), (u, min, max) => {
      const b = sizeAt({ kind: 'lognormal', medianBytes: 150, sigma: 3, minBytes: min, maxBytes: max }, u);
      expect(b).toBeGreaterThanOrEqual(min);
      expect(b).toBeLessThanOrEqual(max);
      expect(Number.isInteger(b)).toBe(true);
    }));
  });
});

describe('request pool', () => {
  const get: PooledRequest = { path: '/items', method: 'GET', headers: {}, body: new Uint8Array(0) };
  const post: PooledRequest = { path: '/items?x=1', method: 'POST', headers: {}, body: new Uint8Array(0) };

  it('keeps the weighted order of requests, draws payloads only for methods with a body, and asks for response sizes', () => {
    const pool = requestPool([get, post], [3, 1], {
      payload: { kind: 'weighted', sizes: [{ bytes: 100, weight: 1 }, { bytes: 2000, weight: 1 }] },
      response: { kind: 'weighted', sizes: [{ bytes: 7, weight: 1 }] },
      seed: 3,
      poolSize: 64,
    });
    expect(pool).toHaveLength(64);
    const order = weightedOrder([3, 1]);
    pool.forEach((r, i) => expect(r.method).toBe(order[i % 4] === 0 ? 'GET' : 'POST'));
    expect(pool.filter((r) => r.method === 'GET').every((r) => r.body.length === 0 && r.path === '/items?size=7')).toBe(true);
    const posts = pool.filter((r) => r.method === 'POST');
    expect(posts.every((r) => r.path === '/items?x=1&size=7')).toBe(true);
    expect(new Set(posts.map((r) => r.body.length))).toEqual(new Set([100, 2000]));
  });

  it('rounds the pool up to whole cycles of the weighted order', () => {
    expect(requestPool([get, post], [2, 1], { seed: 1, poolSize: 10 })).toHaveLength(12);
  });

  it('refuses a pool whose payloads would exceed 64 MiB, naming what to lower', () => {
    const big = { kind: 'weighted' as const, sizes: [{ bytes: 16 * 1024 * 1024, weight: 1 }] };
    expect(() => requestPool([post], [1], { payload: big, seed: 1, poolSize: 8 })).toThrow(/mix\.poolSize/);
  });
});

describe('traceparent per request', () => {
  it('writes a valid, fresh traceparent in place each time', () => {
    const buffer = Buffer.from(`x: ${TRACEPARENT_PLACEHOLDER}\r\n`, 'latin1');
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      writeTraceparent(buffer, 3);
      const value = buffer.toString('latin1', 3, 3 + TRACEPARENT_LENGTH);
      expect(value).toMatch(TRACEPARENT_FORM);
      seen.add(value.slice(3, 35));
    }
    expect(seen.size).toBe(1000);
    expect(buffer.toString('latin1', 0, 3)).toBe('x: ');
    expect(buffer.toString('latin1', 3 + TRACEPARENT_LENGTH)).toBe('\r\n');
  });

  it('the http1 driver marks where each pooled request carries its traceparent', () => {
    const { requests, order } = prepareRequests({ target: 'http://127.0.0.1:1/', payloadBytes: 0, headers: { 'x-a': 'b' }, mix: { traceparent: true, seed: 1, poolSize: 4 } });
    expect(order).toEqual(Uint16Array.from([0, 1, 2, 3]));
    for (const r of requests) {
      expect(r.traceAt).toBeGreaterThan(0);
      expect(r.bytes.toString('latin1', r.traceAt - 13, r.traceAt)).toBe('traceparent: ');
      expect(r.bytes.toString('latin1', r.traceAt, r.traceAt + TRACEPARENT_LENGTH)).toBe(TRACEPARENT_PLACEHOLDER);
    }
  });
});

describe('scenario: mix, http2, together', () => {
  const base = (protocols: string, extra = ''): string => `name: t\nprotocols:\n${protocols}budgets:\n  p99OverheadMs: 3\n${extra}`;
  it.each([
    ['a mix on grpc-bidi', base('  - name: grpc-bidi\n    mix: { traceparent: true }\n'), /^protocols\[0\]\.mix: a traffic mix is for http1 and http2/],
    ['an unknown distribution kind', base('  - name: http1\n    mix: { payload: { kind: normal } }\n'), /^protocols\[0\]\.mix\.payload\.kind: /],
    ['a lognormal without maxBytes', base('  - name: http1\n    mix: { payload: { kind: lognormal, medianBytes: 10, sigma: 1 } }\n'), /^protocols\[0\]\.mix\.payload\.maxBytes: /],
    ['a median above maxBytes', base('  - name: http1\n    mix: { response: { kind: lognormal, medianBytes: 10000, sigma: 1, maxBytes: 100 } }\n'), /^protocols\[0\]\.mix\.response\.medianBytes: needs minBytes/],
    ['a negative weighted size', base('  - name: http2\n    mix: { payload: { kind: weighted, sizes: [ { bytes: -1 } ] } }\n'), /^protocols\[0\]\.mix\.payload\.sizes\[0\]\.bytes: /],
    ['a request path without /', base('  - name: http1\n    mix: { requests: [ { path: items } ] }\n'), /^protocols\[0\]\.mix\.requests\[0\]\.path: /],
    ['weights over 10000', base('  - name: http1\n    mix: { requests: [ { path: /a, weight: 9000 }, { path: /b, weight: 2000 } ] }\n'), /^protocols\[0\]\.mix\.requests: weights add up/],
    ['streams per connection on http1', base('  - name: http1\n    streamsPerConnection: 4\n'), /^protocols\[0\]\.streamsPerConnection: /],
    ['together with pairing rounds', base('  - name: http1\n', 'pairing: rounds\ntogether: true\n'), /^together: protocols run together only with pairing: time/],
  ])('%s → the field path', (_label, text, pattern) => {
    const problems = problemsOf(text);
    expect(problems.some((p) => pattern.test(p)), problems.join('\n')).toBe(true);
  });

  it('hands the mix and the streams per connection to the drivers', () => {
    const s = parseScenarioText(base('  - name: http2\n    streamsPerConnection: 8\n    mix:\n      requests: [ { path: /a, method: POST, weight: 2 }, { path: /b } ]\n      payload: { kind: lognormal, medianBytes: 256, sigma: 1, maxBytes: 8192 }\n      traceparent: true\n'), 't.yaml');
    const spec = loadSpec(s.protocols[0]!, 'http://127.0.0.1:1/');
    expect(spec.protocol).toBe('http2');
    expect(spec.driverOptions).toEqual({
      streamsPerConnection: 8,
      requests: [{ path: '/a', method: 'POST', headers: {}, weight: 2 }, { path: '/b', method: 'GET', headers: {}, weight: 1 }],
      mix: { payload: { kind: 'lognormal', medianBytes: 256, sigma: 1, minBytes: 0, maxBytes: 8192 }, traceparent: true, seed: 1, poolSize: 1024 },
    });
    expect(loadSpec(parseScenarioText(base('  - name: http1\n'), 't.yaml').protocols[0]!, 'http://127.0.0.1:1/').driverOptions).toBeUndefined();
  });
});
