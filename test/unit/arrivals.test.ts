import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Arrivals, RateProfile, peakRateHz, workerShare, type ArrivalsSpec } from '../../src/load/arrivals/index.js';

/** The first `n` intended times (µs from the start) of a schedule. */
function times(spec: ArrivalsSpec, rateHz: number, n: number, stream = 0): number[] {
  const a = Arrivals.create(spec, rateHz, stream);
  const out: number[] = [];
  for (let i = 0; i < n && a.atUs !== Infinity; i++, a.next()) out.push(a.atUs);
  return out;
}

const gapsOf = (t: readonly number[]): number[] => t.slice(1).map((v, i) => v - (t[i] as number));

/** Kolmogorov–Smirnov statistic of `sample` against the exponential CDF with mean `mean`. */
function ksExponential(sample: readonly number[], mean: number): number {
  const sorted = [...sample].sort((a, b) => a - b);
  const n = sorted.length;
  let d = 0;
  sorted.forEach((x, i) => {
    const f = 1 - Math.exp(-x / mean);
    d = Math.max(d, f - i / n, (i + 1) / n - f);
  });
  return d;
}

/** Index of dispersion of the counts of arrivals in consecutive windows: Σ(x − m)² / m ~ χ²(k − 1) for Poisson counts. */
function dispersion(t: readonly number[], windowUs: number, windows: number): { statistic: number; df: number } {
  const counts = new Array<number>(windows).fill(0);
  for (const v of t) if (v < windowUs * windows) counts[Math.floor(v / windowUs)]! += 1;
  const mean = counts.reduce((a, b) => a + b, 0) / windows;
  return { statistic: counts.reduce((a, x) => a + (x - mean) ** 2, 0) / mean, df: windows - 1 };
}

/** KS critical value at α = 0.001 (Kolmogorov's asymptotic c(α) = 1.949). */
const ksCritical = (n: number): number => 1.949 / Math.sqrt(n);
/** χ²(df) bounds at ≈ 4 sd (normal approximation), generous enough that a seeded draw cannot be unlucky, tight enough to tell Poisson from even or bunched. */
const chiBounds = (df: number): [number, number] => [df - 4 * Math.sqrt(2 * df), df + 4 * Math.sqrt(2 * df)];

describe('poisson arrivals', () => {
  const rateHz = 200; // mean gap 5000 µs: the integer-µs rounding is 0.02 % of it
  const n = 20_000;

  it.each([1, 2, 42, 2_147_483_647])('seed %i: gaps pass a Kolmogorov–Smirnov test against the exponential', (seed) => {
    const gaps = gapsOf(times({ kind: 'poisson', seed }, rateHz, n + 1));
    const mean = 1e6 / rateHz;
    expect(ksExponential(gaps, mean)).toBeLessThan(ksCritical(n));
    expect(Math.abs(gaps.reduce((a, b) => a + b, 0) / n / mean - 1)).toBeLessThan(0.03);
  });

  it.each([1, 7, 99])('seed %i: counts per window are Poisson-dispersed (variance ≈ mean)', (seed) => {
    const t = times({ kind: 'poisson', seed }, 1000, 200_000);
    const { statistic, df } = dispersion(t, 100_000, 1000); // 1000 windows of 0.1 s, ≈ 100 arrivals each
    const [low, high] = chiBounds(df);
    expect(statistic).toBeGreaterThan(low);
    expect(statistic).toBeLessThan(high);
  });

  it('the same tests reject what is not Poisson: constant gaps, and gaps bunched in pairs', () => {
    const even = times({ kind: 'constant' }, rateHz, n + 1);
    expect(ksExponential(gapsOf(even), 1e6 / rateHz)).toBeGreaterThan(ksCritical(n));
    expect(dispersion(times({ kind: 'constant' }, 1000, 200_000), 100_000, 1000).statistic).toBeLessThan(chiBounds(999)[0]);
    // each Poisson arrival doubled (same mean rate): exponential-looking windows, but twice the dispersion
    const pairs = times({ kind: 'poisson', seed: 3 }, 500, 100_000).flatMap((v) => [v, v]);
    expect(dispersion(pairs, 100_000, 1000).statistic).toBeGreaterThan(chiBounds(999)[1]);
  });

  it('is seeded: the same seed gives the same arrivals, another seed and another worker stream others', () => {
    expect(times({ kind: 'poisson', seed: 5 }, 1000, 500)).toEqual(times({ kind: 'poisson', seed: 5 }, 1000, 500));
    expect(times({ kind: 'poisson', seed: 6 }, 1000, 500)).not.toEqual(times({ kind: 'poisson', seed: 5 }, 1000, 500));
    expect(times({ kind: 'poisson', seed: 5 }, 1000, 500, 1)).not.toEqual(times({ kind: 'poisson', seed: 5 }, 1000, 500, 0));
  });

  it('a clone goes on exactly as the original would (the loop records its unsent arrivals from one)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 300 }), (seed, skip) => {
      const a = Arrivals.create({ kind: 'stages', startRateHz: 100, stages: [{ durationMs: 500, targetRateHz: 2000 }], gaps: 'poisson', seed }, 0);
      for (let i = 0; i < skip; i++) a.next();
      const b = a.clone();
      const fromA: number[] = [];
      const fromB: number[] = [];
      for (let i = 0; i < 50; i++, a.next(), b.next()) fromA.push(a.atUs), fromB.push(b.atUs);
      expect(fromB).toEqual(fromA);
    }), { numRuns: 50 });
  });
});

describe('stages arrivals (ramping arrival rate)', () => {
  it('ramps linearly: the arrivals in each second are the integral of the rate (even gaps: to within 1)', () => {
    // 0 → 1000 req/s over 2 s, hold 1000 for 1 s, step to 200, hold
    const spec: ArrivalsSpec = { kind: 'stages', startRateHz: 0, stages: [{ durationMs: 2000, targetRateHz: 1000 }, { durationMs: 1000, targetRateHz: 1000 }, { durationMs: 0, targetRateHz: 200 }], gaps: 'even', seed: 1 };
    const t = times(spec, 0, 5000).filter((v) => v < 5_000_000);
    const perSecond = [0, 1, 2, 3, 4].map((s) => t.filter((v) => v >= s * 1e6 && v < (s + 1) * 1e6).length);
    const want = [250, 750, 1000, 200, 200];
    perSecond.forEach((got, i) => expect(Math.abs(got - (want[i] as number))).toBeLessThanOrEqual(1));
  });

  it('with Poisson gaps the counts follow the same ramp (within 4 sd) and gaps stay exponential at a held rate', () => {
    const spec: ArrivalsSpec = { kind: 'stages', startRateHz: 2000, stages: [{ durationMs: 10_000, targetRateHz: 0 }, { durationMs: 0, targetRateHz: 500 }], gaps: 'poisson', seed: 11 };
    const t = times(spec, 0, 40_000);
    const profile = new RateProfile(2000, spec.stages);
    for (let s = 0; s < 10; s++) {
      const want = profile.expectedBetween(s * 1e6, (s + 1) * 1e6);
      const got = t.filter((v) => v >= s * 1e6 && v < (s + 1) * 1e6).length;
      expect(Math.abs(got - want)).toBeLessThan(4 * Math.sqrt(want) + 1);
    }
    const held = gapsOf(t.filter((v) => v >= 10e6));
    expect(ksExponential(held, 2000)).toBeLessThan(ksCritical(held.length));
  });

  it('ends when the rate ends at 0, and starts late when it starts at 0', () => {
    const down = times({ kind: 'stages', startRateHz: 100, stages: [{ durationMs: 1000, targetRateHz: 0 }], gaps: 'even', seed: 1 }, 0, 1000);
    expect(down.length).toBe(50); // 50 expected in the ramp (its integral): arrivals 0 … 49
    expect(Arrivals.create({ kind: 'stages', startRateHz: 0, stages: [{ durationMs: 1000, targetRateHz: 0 }], gaps: 'even', seed: 1 }, 0).atUs).toBe(Infinity);
    const up = times({ kind: 'stages', startRateHz: 0, stages: [{ durationMs: 0, targetRateHz: 0 }, { durationMs: 2000, targetRateHz: 0 }, { durationMs: 0, targetRateHz: 1000 }, { durationMs: 1000, targetRateHz: 1000 }], gaps: 'even', seed: 1 }, 0, 3);
    expect(up).toEqual([2_000_000, 2_001_000, 2_002_000]);
  });

  it('is monotone, integer and never drifts from the profile, for any stages (property)', () => {
    const stage = fc.record({ durationMs: fc.integer({ min: 0, max: 3000 }), targetRateHz: fc.integer({ min: 0, max: 20_000 }) });
    fc.assert(fc.property(fc.integer({ min: 1, max: 20_000 }), fc.array(stage, { minLength: 1, maxLength: 5 }), (startRateHz, stages) => {
      const spec: ArrivalsSpec = { kind: 'stages', startRateHz, stages, gaps: 'even', seed: 1 };
      const t = times(spec, 0, 1000);
      const profile = new RateProfile(startRateHz, stages);
      // arrival k is where the profile has counted k arrivals, to within the µs it was floored by
      const slackAt = (k: number): number => 1e-6 * Math.max(1, k) + (peakRateHz(spec, 0) * 1.01) / 1e6;
      const bad = t.filter((v, k) => !Number.isInteger(v) || (k > 0 && v < (t[k - 1] as number)) || Math.abs(profile.countAt(v) - k) > slackAt(k));
      expect(bad).toEqual([]);
    }), { numRuns: 200 });
  });

  it('workers share the rates; the peak is the highest rate reached', () => {
    const spec: ArrivalsSpec = { kind: 'stages', startRateHz: 100, stages: [{ durationMs: 1000, targetRateHz: 900 }, { durationMs: 0, targetRateHz: 300 }], gaps: 'even', seed: 1 };
    expect(peakRateHz(spec, 5)).toBe(900);
    expect(peakRateHz({ kind: 'poisson', seed: 1 }, 5)).toBe(5);
    expect(workerShare(spec, 3)).toMatchObject({ startRateHz: 100 / 3, stages: [{ targetRateHz: 300 }, { targetRateHz: 100 }] });
  });
});

describe('constant arrivals', () => {
  it('are the evenly spaced schedule, computed from k directly', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200_000 }), (rateHz) => {
      const t = times({ kind: 'constant' }, rateHz, 200);
      t.forEach((v, k) => expect(v).toBe(Math.floor((k * 1e6) / rateHz)));
    }), { numRuns: 100 });
  });
});
