import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import type { ScenarioInput } from '../../src/config/schema.js';
import { zeroErrors, type ErrorKind } from '../../src/drivers/driver.js';
import type { ProtocolResult, VariantResult } from '../../src/result.js';
import { overheads } from '../../src/run/aggregate.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { checkErrorRates, newcombeDifference, wilsonInterval } from '../../src/verdict/errors.js';
import { judgeRun as judge } from '../../src/run/judge.js';
import { Random } from '../../src/verdict/random.js';
import { syntheticDocument } from '../fixtures/noise-model.js';

describe('score intervals', () => {
  // Newcombe (1998), Statistics in Medicine 17:873–890, Table II, method 10 (hybrid score), 95 %.
  it.each<[string, [number, number, number, number], [number, number]]>([
    ['56/70 − 48/80', [56, 70, 48, 80], [0.0524, 0.3339]],
    ['9/10 − 3/10', [9, 10, 3, 10], [0.1705, 0.809]],
    ['6/7 − 2/7', [6, 7, 2, 7], [0.0582, 0.8062]],
    ['5/56 − 0/29', [5, 56, 0, 29], [-0.0381, 0.1926]],
    ['0/10 − 0/20', [0, 10, 0, 20], [-0.1611, 0.2775]],
    ['0/10 − 0/10', [0, 10, 0, 10], [-0.2775, 0.2775]],
    ['10/10 − 0/20', [10, 10, 0, 20], [0.6791, 1]],
    ['10/10 − 0/10', [10, 10, 0, 10], [0.6075, 1]],
  ])('Newcombe\'s published interval for %s', (_label, [a, n, b, m], [low, high]) => {
    const i = newcombeDifference(a, n, b, m, 0.95);
    expect(i.low).toBeCloseTo(low, 4);
    expect(i.high).toBeCloseTo(high, 4);
  });

  it.each<[number, number, number, number]>([
    // Wilson: 0 of n has the upper bound z²/(n + z²); 81/263 is Newcombe's (1998a) worked example.
    [0, 3000, 0, 3.8415 / 3003.8415],
    [81, 263, 0.2553, 0.3662],
  ])('Wilson interval of %i/%i', (k, n, low, high) => {
    const i = wilsonInterval(k, n, 0.95);
    expect(i.low).toBeCloseTo(low, 4);
    expect(i.high).toBeCloseTo(high, 4);
  });

  it('keeps its coverage: a seeded simulation of 2000 pairs per rate pair (0, 0.1 %, 1 %) and size', () => {
    const random = new Random(20261201, 'error-rate coverage');
    /** Binomial(n, p) by inversion (the rates here are small: a short walk up the CDF). */
    const binomial = (n: number, p: number): number => {
      if (p === 0) return 0;
      const u = random.float();
      let k = 0;
      let pk = (1 - p) ** n;
      let cdf = pk;
      while (u > cdf && k < n) {
        pk *= ((n - k) / (k + 1)) * (p / (1 - p));
        k++;
        cdf += pk;
      }
      return k;
    };
    const RATES = [0, 0.001, 0.01];
    const PAIRS = 2000;
    const rows: string[] = [];
    let covered = 0;
    let total = 0;
    for (const n of [3000, 12_000]) {
      for (const meshed of RATES) {
        for (const unmeshed of RATES) {
          let inside = 0;
          for (let i = 0; i < PAIRS; i++) {
            const interval = newcombeDifference(binomial(n, meshed), n, binomial(n, unmeshed), n, 0.95);
            if (interval.low <= meshed - unmeshed && meshed - unmeshed <= interval.high) inside++;
          }
          rows.push(`n ${n}, meshed ${meshed}, unmeshed ${unmeshed}: ${((100 * inside) / PAIRS).toFixed(2)} %`);
          // one configuration: nominal within sampling noise (2 sd of a 2000-pair coverage ≈ 1 point)
          expect(inside / PAIRS, rows.at(-1)).toBeGreaterThanOrEqual(0.94);
          covered += inside;
          total += PAIRS;
        }
      }
    }
    console.log(`Newcombe hybrid score interval, 95 %, coverage:\n${rows.join('\n')}\nall: ${((100 * covered) / total).toFixed(2)} %`);
    expect(covered / total).toBeGreaterThanOrEqual(0.95);
  });
});

function variant(requests: number, errors: Partial<Record<ErrorKind, number>>, p99Ms: number): VariantResult {
  const errorsByKind = { ...zeroErrors(), ...errors };
  const failed = Object.values(errorsByKind).reduce((a, b) => a + b, 0);
  const count = requests - failed;
  const latencyUs = { p50: p99Ms * 500, p90: p99Ms * 800, p99: p99Ms * 1000, p999: p99Ms * 1200, max: p99Ms * 2000, min: 1, mean: p99Ms * 500, count };
  return {
    count, errors: failed, errorsByKind, dropped: 0, intendedRateHz: 1000, achievedRateHz: 1000, measuredMs: requests, latencyUs, serviceLatencyUs: latencyUs,
    behindUs: 0, maxLagUs: 0, lateShare: 0, histogram: '', serviceHistogram: '', proxies: [], hiccupsUs: {},
    // per-round figures only for validity: spread evenly over 6 rounds
    rounds: Array.from({ length: 6 }, (_, round) => ({
      round, order: 0, startedAt: '', count: count / 6, errors: failed / 6, achievedRateHz: 1000, latencyUs, maxLagUs: 0, lateShare: 0, proxies: [], intervals: [], hiccups: [],
    })),
  };
}

function protocol(unmeshed: VariantResult, meshed: VariantResult): ProtocolResult {
  const variants = { unmeshed, meshed };
  return { name: 'http1', model: 'open', rateHz: 1000, connections: 16, payloadBytes: 64, variants, overhead: overheads(variants) };
}

const scenario = (extra: Partial<ScenarioInput> = {}) =>
  parseScenario({ name: 't', rounds: 6, protocols: [{ name: 'http1', rateHz: 1000 }], budgets: { p99Ms: 5, p99OverheadMs: 3 }, ...extra }, 'test');

describe('the error-rate budget', () => {
  it('a meshed side answering 0.9 % of requests with fast 503s fails, though every latency budget holds', () => {
    const s = scenario();
    const p = protocol(variant(12_000, {}, 1), variant(12_000, { status: 108 }, 1));
    const v = judge(s, [p]);
    expect(v.validity).toEqual([]); // 0.9 % is under the 1 % validity rule: only the budget catches it
    expect(v.checks.filter((c) => c.budget !== 'errorRateOverhead').every((c) => c.status === 'pass')).toBe(true);
    const check = v.checks.find((c) => c.budget === 'errorRateOverhead');
    expect(check).toMatchObject({ variant: 'meshed', limit: 0.001, actual: 0.009, status: 'fail' });
    expect(check?.errorCounts?.variant.byKind.status).toBe(108);
    expect(v.status).toBe('fail');
    expect(v.reasons).toContain(
      'over budget: http1/meshed: error-rate overhead 0.900 % [0.743, 1.085] (95 %) > budget 0.100 % (meshed: status 108 of 12000; unmeshed: no errors of 12000)',
    );

    const doc = syntheticDocument([p], s);
    const md = renderMarkdown(doc);
    expect(md).toMatch(/\| http1 \| meshed \| errorRateOverhead \| 0\.900 % \| \[0\.743, 1\.085\] \| ≤ 0\.100 % \| fail \|/);
    expect(md).toMatch(/status 108 of 12000/);
    const junit = renderJunit(doc);
    expect(junit).toMatch(/<testcase classname="meshbench\.t\.http1" name="meshed error-rate overhead ≤ 0\.100 %" time="0">\s*<failure message="http1\/meshed: error-rate overhead 0\.900 %/);
  });

  it.each<[string, number, Partial<Record<ErrorKind, number>>, Partial<Record<ErrorKind, number>>, 'pass' | 'fail' | 'inconclusive', RegExp]>([
    ['no errors on either side, enough requests', 12_000, {}, {}, 'pass', /≤ budget 0\.100 %/],
    ['equal error rates on both sides', 60_000, { timeout: 60 }, { timeout: 60 }, 'pass', /meshed: timeout 60 of 60000; unmeshed: timeout 60 of 60000/],
    ['too few requests to tell 0 from 0.1 %', 2000, {}, {}, 'inconclusive', /straddles budget 0\.100 %.*about \d+ rounds would likely decide it/],
    ['resets and timeouts on the meshed side', 12_000, {}, { reset: 40, timeout: 20 }, 'fail', /meshed: reset 40, timeout 20 of 12000/],
  ])('%s → %s', (_label, requests, unmeshedErrors, meshedErrors, status, description) => {
    const s = scenario();
    const [check] = checkErrorRates(protocol(variant(requests, unmeshedErrors, 1), variant(requests, meshedErrors, 1)), s.budgets, 0.95, s.rounds);
    expect(check?.status).toBe(status);
    const v = judge(s, [protocol(variant(requests, unmeshedErrors, 1), variant(requests, meshedErrors, 1))]);
    expect(v.reasons.join('\n')).toMatch(description);
  });

  it('is on by default (0.1 %), can be set per protocol, and null switches it off', () => {
    const p = protocol(variant(12_000, {}, 1), variant(12_000, { status: 108 }, 1));
    expect(scenario().budgets.errorRateOverhead).toBe(0.001);
    expect(judge(scenario({ budgets: { p99Ms: 5, errorRateOverhead: 0.02 } }), [p]).status).toBe('pass');
    expect(judge(scenario({ protocols: [{ name: 'http1', budgets: { errorRateOverhead: 0.02 } }] }), [p]).status).toBe('pass');
    const off = judge(scenario({ budgets: { p99Ms: 5, errorRateOverhead: null } }), [p]);
    expect(off.checks.map((c) => c.budget)).toEqual(['p99Ms', 'p99Ms']);
  });
});
