import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import { createLatencyHistogram, percentileRank, recordLatency, sparseBuckets, bucketValueUs } from '../../src/histograms/index.js';
import type { FigureInterval } from '../../src/result.js';
import { valueAtRank } from '../../src/verdict/bootstrap.js';
import { judgeRun } from '../../src/run/judge.js';
import { Random } from '../../src/verdict/random.js';
import { decide, figureInterval, betweenTerm, roundsToDecide, tQuantile } from '../../src/verdict/statistics.js';
import { QUICKSTART_MODEL, syntheticProtocol } from '../fixtures/noise-model.js';

const QUIET = { ...QUICKSTART_MODEL, stallsPerS: 2 };
const scenario = (budgets: Record<string, number>, seed = 1) =>
  parseScenario({ name: 't', rounds: 3, protocols: [{ name: 'http1', rateHz: 1000, durationS: 3 }], budgets, statistics: { seed } }, 'test');

describe('verdict with intervals', () => {
  it.each<[string, number, Record<string, number>, 'pass' | 'fail' | 'inconclusive', RegExp]>([
    ['overhead interval wholly within budget', 0, { p99OverheadMs: 5 }, 'pass', /P99 overhead -?\d+\.\d{3} ms \[-?\d+\.\d{3}, \d+\.\d{3}\] \(95 %\) ≤ budget 5\.000 ms/],
    ['planted +2 ms, interval wholly beyond a 0.5 ms budget', 2000, { p99OverheadMs: 0.5 }, 'fail', /over budget: http1\/meshed: P99 overhead \d\.\d{3} ms \[\d+\.\d{3}, \d+\.\d{3}\] \(95 %\) > budget 0\.500 ms/],
    ['planted +2 ms against a 2 ms budget: straddles', 2000, { p99OverheadMs: 2 }, 'inconclusive', /undecided: .* straddles budget 2\.000 ms/],
  ])('%s → %s', (_label, extraUs, budgets, status, reason) => {
    const v = judgeRun(scenario(budgets), [syntheticProtocol({ ...QUIET, meshedExtraUs: extraUs }, 7)]);
    expect(v.status, v.reasons.join('\n')).toBe(status);
    expect(v.reasons.some((r) => reason.test(r)), v.reasons.join('\n')).toBe(true);
    const check = v.checks[0];
    expect(check?.interval).not.toBeNull();
    if (status === 'inconclusive') expect(check?.roundsNeeded === null || (check?.roundsNeeded ?? 0) > 3).toBe(true);
  });

  it('records every figure with its interval, the method and the seed', () => {
    const v = judgeRun(scenario({ p99Ms: 50 }), [syntheticProtocol(QUIET, 3)]);
    expect(v.statistics).toMatchObject({ confidence: 0.95, resamples: 2000, seed: 1 });
    const e = v.statistics?.estimates[0];
    for (const f of [e?.variants.unmeshed?.p50Us, e?.variants.meshed?.p999Us, e?.overhead.meshed?.p99Us, e?.overhead.meshed?.p99Ratio]) {
      expect(f).toBeDefined();
      if (f === null || f === undefined) continue;
      expect(f.low).toBeLessThanOrEqual(f.estimate);
      expect(f.high).toBeGreaterThanOrEqual(f.estimate);
    }
  });

  it('same input and seed → the same verdict; the seed is what varies it', () => {
    const p = syntheticProtocol(QUICKSTART_MODEL, 11);
    const a = judgeRun(scenario({ p99OverheadMs: 3 }), [p]);
    expect(judgeRun(scenario({ p99OverheadMs: 3 }), [p])).toEqual(a);
    const other = judgeRun(scenario({ p99OverheadMs: 3 }, 2), [p]);
    expect(other.statistics?.estimates).not.toEqual(a.statistics?.estimates);
  });

  it('an invalid run stays inconclusive whatever the intervals say', () => {
    const p = syntheticProtocol({ ...QUIET, meshedExtraUs: 2000 }, 7);
    const round = p.variants.meshed?.rounds[1];
    if (round !== undefined) round.errors = 500;
    const v = judgeRun(scenario({ p99OverheadMs: 0.5 }), [p]);
    expect(v.status).toBe('inconclusive');
    expect(v.reasons[0]).toMatch(/^invalid: http1\/meshed round 2/);
  });
});

describe('statistics', () => {
  const latency = fc.oneof(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 1, max: 2_000_000 }));
  it('grid percentiles equal HdrHistogram getValueAtPercentile (law)', () => {
    fc.assert(fc.property(fc.array(latency, { minLength: 1, maxLength: 400 }), fc.constantFrom(0.1, 1, 50, 90, 99, 99.9, 99.99, 100), (values, p) => {
      const h = createLatencyHistogram();
      for (const v of values) recordLatency(h, v);
      const sparse = sparseBuckets(h);
      const acc = Float64Array.from(sparse.counts);
      const valuesUs = Float64Array.from(sparse.indexes, bucketValueUs);
      expect(valueAtRank(acc, valuesUs, sparse.total, percentileRank(p, sparse.total))).toBe(h.getValueAtPercentile(p));
    }));
  });

  it('Beta draws have the right mean and variance', () => {
    const random = new Random(1, 'beta');
    for (const [a, b] of [[1, 1], [30, 3], [990, 11], [4500, 4501]] as const) {
      const xs = Array.from({ length: 4000 }, () => random.beta(a, b));
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
      const m = a / (a + b);
      const v = (a * b) / ((a + b) ** 2 * (a + b + 1));
      expect(Math.abs(mean - m)).toBeLessThan(4 * Math.sqrt(v / xs.length));
      expect(variance / v).toBeGreaterThan(0.9);
      expect(variance / v).toBeLessThan(1.1);
    }
  });

  // Two-sided 95 % critical values of Student's t (t₀.₉₇₅), as printed in every statistics table.
  it.each([
    [1, 12.706],
    [2, 4.303],
    [5, 2.571],
    [10, 2.228],
    [30, 2.042],
  ])('Student t quantile at 95 %%, df %i = %f', (df, t) => {
    expect(tQuantile(0.95, df)).toBeCloseTo(t, 3);
  });

  it('Student t quantile: non-integer df lies between its neighbours; large df tends to the normal', () => {
    expect(tQuantile(0.95, 2.5)).toBeLessThan(tQuantile(0.95, 2));
    expect(tQuantile(0.95, 2.5)).toBeGreaterThan(tQuantile(0.95, 3));
    expect(tQuantile(0.99, 10)).toBeCloseTo(3.169, 3);
    expect(tQuantile(0.95, 1e6)).toBeCloseTo(1.96, 2);
  });

  const interval = fc.record({
    estimate: fc.double({ min: -100, max: 100, noNaN: true }),
    withinLow: fc.double({ min: 0, max: 10, noNaN: true }),
    withinHigh: fc.double({ min: 0, max: 10, noNaN: true }),
    perRound: fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }),
  }).map(({ estimate, withinLow, withinHigh, perRound }): FigureInterval | null =>
    figureInterval(estimate, [estimate - withinLow, estimate, estimate + withinHigh], [betweenTerm({ perRound, scales: true })], 0.95));

  it('decisions: pass only when the whole interval is within the limit, fail only when wholly beyond (law)', () => {
    fc.assert(fc.property(interval, fc.double({ min: -150, max: 150, noNaN: true }), (i, limit) => {
      if (i === null) return;
      expect(i.low).toBeLessThanOrEqual(i.estimate);
      expect(i.high).toBeGreaterThanOrEqual(i.estimate);
      const d = decide(i, limit);
      expect(d === 'pass').toBe(i.high <= limit);
      expect(d === 'fail').toBe(i.low > limit);
    }));
  });

  it('run-to-run noise widens each side in quadrature, and no number of rounds decides within it (law)', () => {
    const raw = fc.record({
      estimate: fc.double({ min: -100, max: 100, noNaN: true }),
      withinLow: fc.double({ min: 0, max: 10, noNaN: true }),
      withinHigh: fc.double({ min: 0, max: 10, noNaN: true }),
      perRound: fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }),
      runNoise: fc.double({ min: 0.001, max: 20, noNaN: true }),
    });
    fc.assert(fc.property(raw, ({ estimate, withinLow, withinHigh, perRound, runNoise }) => {
      const of = (noise: number) => figureInterval(estimate, [estimate - withinLow, estimate, estimate + withinHigh], [betweenTerm({ perRound, scales: true })], 0.95, noise);
      const plain = of(0);
      const wide = of(runNoise);
      if (plain === null || wide === null) throw new Error('no interval');
      const run = 1.959964 * runNoise;
      expect(wide.runHalfWidth ?? 0).toBeCloseTo(run, 3);
      expect(plain.runHalfWidth).toBeUndefined();
      expect(wide.high - wide.estimate).toBeCloseTo(Math.hypot(plain.high - plain.estimate, run), 3);
      expect(wide.estimate - wide.low).toBeCloseTo(Math.hypot(plain.estimate - plain.low, run), 3);
      // A limit inside the run-to-run part is never decided by running longer.
      expect(roundsToDecide(wide, wide.estimate + run * 0.99)).toBeNull();
    }));
  });

  it('rounds to decide: more rounds than now, and enough by the method\'s own scaling (law)', () => {
    fc.assert(fc.property(interval, fc.double({ min: -150, max: 150, noNaN: true }), (i, limit) => {
      if (i === null || decide(i, limit) !== 'inconclusive') return;
      const r = roundsToDecide(i, limit);
      if (r === null) return;
      expect(r).toBeGreaterThan(i.between[0]?.rounds ?? 0);
    }));
  });
});
