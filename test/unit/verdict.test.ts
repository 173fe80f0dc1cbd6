import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import type { ScenarioInput } from '../../src/config/schema.js';
import type { ProtocolResult, RoundFigures, VariantResult } from '../../src/result.js';
import { overheads } from '../../src/run/aggregate.js';
import { judge } from '../../src/verdict/index.js';

interface Fig { p99Ms: number; errors?: number; count?: number; rateHz?: number; lateShare?: number }

const latency = (p99Us: number) => ({ p50: p99Us / 2, p90: p99Us * 0.8, p99: p99Us, p999: p99Us * 1.2, max: p99Us * 2, min: 1, mean: p99Us / 2, count: 1 });

function variant(f: Fig): VariantResult {
  const count = f.count ?? 30_000; // enough requests to resolve a 0.1 % error-rate budget
  const errors = f.errors ?? 0;
  const round: RoundFigures = {
    round: 0, order: 0, startedAt: '', count, errors, achievedRateHz: f.rateHz ?? 1000, latencyUs: latency(f.p99Ms * 1000),
    maxLagUs: 0, lateShare: f.lateShare ?? 0, proxies: [], intervals: [],
  };
  return {
    count, errors, errorsByKind: { connect: 0, reset: errors, timeout: 0, status: 0, protocol: 0, other: 0 }, dropped: 0,
    intendedRateHz: 1000, achievedRateHz: round.achievedRateHz, measuredMs: 3000, latencyUs: round.latencyUs, serviceLatencyUs: round.latencyUs,
    behindUs: 0, maxLagUs: 0, lateShare: round.lateShare, histogram: '', serviceHistogram: '', rounds: [round], proxies: [],
  };
}

function protocol(unmeshed: Fig, meshed: Fig): ProtocolResult {
  const variants = { unmeshed: variant(unmeshed), meshed: variant(meshed) };
  return { name: 'http1', model: 'open', rateHz: 1000, connections: 16, payloadBytes: 64, variants, overhead: overheads(variants) };
}

function scenario(extra: Partial<ScenarioInput> = {}) {
  return parseScenario({ name: 't', protocols: [{ name: 'http1', rateHz: 1000 }], budgets: { p99Ms: 5, p99OverheadMs: 3 }, ...extra }, 'test');
}

describe('verdict v1', () => {
  it.each<[string, Fig, Fig, 'pass' | 'fail' | 'inconclusive', RegExp]>([
    ['within both budgets', { p99Ms: 1 }, { p99Ms: 2 }, 'pass', /all 4 budget checks hold/],
    ['meshed over the absolute P99', { p99Ms: 1 }, { p99Ms: 5.5 }, 'fail', /http1\/meshed: P99 5\.500 ms > budget 5\.000 ms/],
    ['overhead over budget though both under 5 ms', { p99Ms: 0.5 }, { p99Ms: 4 }, 'fail', /P99 overhead 3\.500 ms > budget 3\.000 ms/],
    ['a figure equal to its budget passes', { p99Ms: 2 }, { p99Ms: 5 }, 'pass', /budget checks hold/],
    ['too many errors', { p99Ms: 1 }, { p99Ms: 1, errors: 1000 }, 'inconclusive', /invalid: http1\/meshed round 1: 3\.2\d? % of requests failed/],
    ['rate not achieved', { p99Ms: 1, rateHz: 900 }, { p99Ms: 1 }, 'inconclusive', /achieved 900 req\/s of 1000 intended/],
    ['generator behind', { p99Ms: 1 }, { p99Ms: 1, lateShare: 0.2 }, 'inconclusive', /the generator fell behind/],
    ['invalid and over budget: still inconclusive', { p99Ms: 1 }, { p99Ms: 9, errors: 500 }, 'inconclusive', /over budget/],
    ['nothing recorded', { p99Ms: 1 }, { p99Ms: 1, count: 0, errors: 10 }, 'inconclusive', /no successful response/],
  ])('%s', (_label, unmeshed, meshed, status, reason) => {
    const v = judge(scenario(), [protocol(unmeshed, meshed)]);
    expect(v.status).toBe(status);
    expect(v.reasons.some((r) => reason.test(r)), v.reasons.join('\n')).toBe(true);
  });

  it('an interrupted run is never a pass', () => {
    const v = judge(scenario(), [protocol({ p99Ms: 1 }, { p99Ms: 1 })], true);
    expect(v.status).toBe('inconclusive');
  });

  it('a scenario without budgets is rejected, and judged never a pass (an older document)', () => {
    expect(() => scenario({ budgets: {} })).toThrow(expect.objectContaining({ problems: [expect.stringMatching(/^budgets: no latency budget/)] }));
    const s = scenario();
    s.budgets = { errorRateOverhead: null };
    const v = judge(s, [protocol({ p99Ms: 1 }, { p99Ms: 50 })]);
    expect(v.status).toBe('inconclusive');
    expect(v.reasons[0]).toMatch(/no budgets set: no evidence to pass on/);
  });

  it('per-protocol budgets override the scenario budgets', () => {
    const s = scenario({ protocols: [{ name: 'http1', budgets: { p99OverheadMs: 0.5 } }] });
    const v = judge(s, [protocol({ p99Ms: 1 }, { p99Ms: 2 })]);
    expect(v.status).toBe('fail');
    expect(v.checks.find((c) => c.budget === 'p99OverheadMs')).toMatchObject({ limit: 0.5, actual: 1, status: 'fail' });
    expect(v.checks.find((c) => c.budget === 'p99Ms' && c.variant === 'meshed')).toMatchObject({ limit: 5, status: 'pass' });
  });

  it('checks the overhead ratio', () => {
    const v = judge(scenario({ budgets: { p99OverheadRatio: 1.5 } }), [protocol({ p99Ms: 1 }, { p99Ms: 2 })]);
    expect(v.status).toBe('fail');
    expect(v.checks.filter((c) => c.budget !== 'errorRateOverhead')).toEqual([expect.objectContaining({ budget: 'p99OverheadRatio', actual: 2, limit: 1.5, status: 'fail' })]);
  });

  it('closed-loop runs are not judged on rate or lateness', () => {
    const s = scenario({ protocols: [{ name: 'http1', model: 'closed' }] });
    const v = judge(s, [protocol({ p99Ms: 1, rateHz: 10, lateShare: 0.9 }, { p99Ms: 1, rateHz: 10 })]);
    expect(v.status).toBe('pass');
  });
});
