import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LATENCY_HIGHEST_US,
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  mergeEncoded,
  readHlog,
  recordLatency,
  summarize,
  summarizeEncoded,
  writeHlog,
  type LatencyHistogram,
} from '../../src/histograms/index.js';
import type { IntervalHistogram } from '../../src/histograms/index.js';

function histogramOf(values: readonly number[]): LatencyHistogram {
  const h = createLatencyHistogram();
  for (const v of values) recordLatency(h, v);
  return h;
}

const encodedOf = (values: readonly number[]): string => encodeHistogram(histogramOf(values));

const PERCENTILES = [0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100];
function spectrum(h: LatencyHistogram): number[] {
  return [...PERCENTILES.map((p) => h.getValueAtPercentile(p)), h.totalCount];
}

// Latency-like values: mostly loopback-scale, sometimes up to and beyond the 60 s ceiling.
const latency = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2_000_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 90_000_000 }) },
);
const values = fc.array(latency, { maxLength: 300 });

describe('latency histograms', () => {
  it('summarizes in µs, all zero when empty', () => {
    expect(summarize(createLatencyHistogram())).toEqual({ p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0, mean: 0, count: 0 });
    const s = summarize(histogramOf([100, 200, 300, 400]));
    expect(s.count).toBe(4);
    expect(s.min).toBe(100);
    expect(s.p50).toBe(200);
    expect(s.max).toBeGreaterThanOrEqual(400);
    expect(s.max).toBeLessThan(401);
    expect(s.mean).toBeCloseTo(250, 0);
  });

  it('clamps values above 60 s to the highest value, and the count still counts', () => {
    const h = histogramOf([10, 120_000_000, LATENCY_HIGHEST_US + 1]);
    expect(h.totalCount).toBe(3);
    expect(h.getValueAtPercentile(100)).toBe(h.getValueAtPercentile(50));
    expect(Math.abs(h.maxValue - LATENCY_HIGHEST_US) / LATENCY_HIGHEST_US).toBeLessThan(0.001);
  });

  it('encode → decode preserves every percentile and the count', () => {
    fc.assert(
      fc.property(values, (vs) => {
        const h = histogramOf(vs);
        expect(spectrum(decodeHistogram(encodeHistogram(h)))).toEqual(spectrum(h));
      }),
    );
  });

  it('merge is commutative, associative and adds counts', () => {
    fc.assert(
      fc.property(values, values, values, (a, b, c) => {
        const [ea, eb, ec] = [encodedOf(a), encodedOf(b), encodedOf(c)];
        const ab = decodeHistogram(mergeEncoded([ea, eb]));
        const ba = decodeHistogram(mergeEncoded([eb, ea]));
        expect(spectrum(ab)).toEqual(spectrum(ba));
        const left = decodeHistogram(mergeEncoded([mergeEncoded([ea, eb]), ec]));
        const right = decodeHistogram(mergeEncoded([ea, mergeEncoded([eb, ec])]));
        expect(spectrum(left)).toEqual(spectrum(right));
        expect(ab.totalCount).toBe(a.length + b.length);
      }),
    );
  });

  it('percentiles of the merged histogram equal those of the concatenated values', () => {
    fc.assert(
      fc.property(fc.array(values, { minLength: 1, maxLength: 5 }), (parts) => {
        const merged = decodeHistogram(mergeEncoded(parts.map(encodedOf)));
        expect(spectrum(merged)).toEqual(spectrum(histogramOf(parts.flat())));
        expect(summarizeEncoded(mergeEncoded(parts.map(encodedOf)))).toEqual(summarize(histogramOf(parts.flat())));
      }),
    );
  });

  it('merging nothing gives an empty histogram', () => {
    expect(summarizeEncoded(mergeEncoded([])).count).toBe(0);
  });
});

describe('.hlog', () => {
  const startMs = 1_700_000_000_000;
  const intervals: IntervalHistogram[] = [
    { startMs, endMs: startMs + 1000, histogram: encodedOf([100, 200, 300]) },
    { startMs: startMs + 1000, endMs: startMs + 2000, histogram: encodedOf([]) },
    { startMs: startMs + 2000, endMs: startMs + 2500, histogram: encodedOf([50, 5_000, 1_500_000]) },
  ];

  it('writes the standard header, legend and one line per interval', () => {
    const text = writeHlog(intervals, { comments: ['meshbench http1 unmeshed'] });
    const lines = text.split('\n');
    expect(lines).toContain('#meshbench http1 unmeshed');
    expect(lines).toContain('#[Histogram log format version 1.3]');
    expect(lines.some((l) => l.startsWith('#[StartTime: 1700000000.000 (seconds since epoch), 2023-11-14T'))).toBe(true);
    expect(lines).toContain('#[BaseTime: 1700000000.000 (seconds since epoch)]');
    expect(lines).toContain('"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"');
    const data = lines.filter((l) => /^\d/.test(l));
    expect(data).toHaveLength(3);
    // start relative to BaseTime, length in s, Interval_Max in ms (µs / 1000)
    expect(data[0]).toMatch(/^0\.000,1\.000,0\.300,\S+$/);
    expect(data[2]).toMatch(/^2\.000,0\.500,1500\.\d{3},\S+$/);
    expect(lines.some((l) => l === '')).toBe(true); // only the trailing newline
    expect(lines.filter((l) => l === '')).toHaveLength(1);
  });

  it('round-trips through HistogramLogReader: times and histograms', () => {
    fc.assert(
      fc.property(fc.array(values, { minLength: 1, maxLength: 6 }), fc.integer({ min: 100, max: 10_000 }), (parts, lengthMs) => {
        const ivs = parts.map((vs, i) => ({ startMs: startMs + i * lengthMs, endMs: startMs + (i + 1) * lengthMs, histogram: encodedOf(vs) }));
        const read = readHlog(writeHlog(ivs));
        expect(read).toHaveLength(parts.length);
        read.forEach((r, i) => {
          expect(r.startMs).toBeCloseTo(startMs + i * lengthMs, 3);
          expect(r.endMs).toBeCloseTo(startMs + (i + 1) * lengthMs, 3);
          expect(spectrum(r.histogram)).toEqual(spectrum(histogramOf(parts[i] ?? [])));
        });
      }),
      { numRuns: 30 },
    );
  });
});
