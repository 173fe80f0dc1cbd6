import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import type { ScenarioInput } from '../../src/config/schema.js';
import { createLatencyHistogram, encodeHistogram, recordLatency, summarize } from '../../src/histograms/index.js';
import type { IntervalHistogram } from '../../src/histograms/index.js';
import type { ProtocolResult, RoundFigures, VariantResult } from '../../src/result.js';
import { overheads } from '../../src/run/aggregate.js';
import { judgeRun } from '../../src/run/judge.js';

interface Fig { p99Ms: number; errors?: number; count?: number; rateHz?: number; lateShare?: number; startLagsMs?: number[] }

const latency = (p99Us: number) => ({ p50: p99Us / 2, p90: p99Us * 0.8, p99: p99Us, p999: p99Us * 1.2, max: p99Us * 2, min: 1, mean: p99Us / 2, count: 1 });

/** The largest latency (µs) whose histogram bucket reports at most `us`, so no interval reaches past the figure. */
function atMost(us: number): number {
  for (let v = us; v > 0; v--) {
    const h = createLatencyHistogram();
    recordLatency(h, v);
    if (summarize(h).max <= us) return v;
  }
  return us;
}

/**
 * Three 1 s interval histograms holding `count` responses at the figure's P99, so the verdict takes its
 * interval path (resampling the blocks) and the interval sits at the figure: tight, and never above it.
 */
function intervals(count: number, p99Us: number): IntervalHistogram[] {
  const value = atMost(p99Us);
  return [0, 1, 2].map((i) => {
    const h = createLatencyHistogram();
    const n = Math.floor(count / 3) + (i < count % 3 ? 1 : 0);
    for (let k = 0; k < n; k++) recordLatency(h, value);
    return { startMs: i * 1000, endMs: (i + 1) * 1000, histogram: encodeHistogram(h) };
  });
}

/** Three rounds (the fewest a pass rests on), one 1 s interval each, splitting the counts evenly. */
function variant(f: Fig): VariantResult {
  const count = f.count ?? 30_000; // enough requests to resolve a 0.1 % error-rate budget
  const errors = f.errors ?? 0;
  const blocks = intervals(count, f.p99Ms * 1000);
  const rounds = blocks.map((block, r): RoundFigures => ({
    round: r, order: 0, startedAt: '', count: Math.round(count / 3), errors: Math.round(errors / 3), achievedRateHz: f.rateHz ?? 1000,
    latencyUs: latency(f.p99Ms * 1000), maxLagUs: 0, lateShare: f.lateShare ?? 0, proxies: [], intervals: [block], hiccups: [],
    ...(f.startLagsMs === undefined ? {} : { generatorStartLagsMs: f.startLagsMs }),
  }));
  return {
    count, errors, errorsByKind: { connect: 0, reset: errors, timeout: 0, status: 0, protocol: 0, other: 0 }, dropped: 0,
    intendedRateHz: 1000, achievedRateHz: f.rateHz ?? 1000, measuredMs: 3000, latencyUs: latency(f.p99Ms * 1000), serviceLatencyUs: latency(f.p99Ms * 1000),
    behindUs: 0, maxLagUs: 0, lateShare: f.lateShare ?? 0, histogram: '', serviceHistogram: '', rounds, proxies: [], hiccupsUs: {},
  };
}

function protocol(unmeshed: Fig, meshed: Fig): ProtocolResult {
  const variants = { unmeshed: variant(unmeshed), meshed: variant(meshed) };
  return { name: 'http1', model: 'open', rateHz: 1000, connections: 16, payloadBytes: 64, variants, overhead: overheads(variants) };
}

/** Exact, noiseless histograms: the decisions at the budget's edge, without the run-to-run term (its own test is in verdict-intervals). */
function scenario(extra: Partial<ScenarioInput> = {}) {
  return parseScenario({ name: 't', protocols: [{ name: 'http1', rateHz: 1000 }], budgets: { p99Ms: 5, p99OverheadMs: 3 }, statistics: { runNoiseMs: 0 }, ...extra }, 'test');
}

describe('verdict on interval histograms', () => {
  it.each<[string, Fig, Fig, 'pass' | 'fail' | 'inconclusive', RegExp]>([
    ['within both budgets', { p99Ms: 1 }, { p99Ms: 2 }, 'pass', /all 4 budget checks hold/],
    ['meshed over the absolute P99', { p99Ms: 1 }, { p99Ms: 5.5 }, 'fail', /http1\/meshed: P99 5\.500 ms \[5\.499, 5\.500\] \(95 %\) > budget 5\.000 ms/],
    ['overhead over budget though both under 5 ms', { p99Ms: 0.5 }, { p99Ms: 4 }, 'fail', /P99 overhead 3\.500 ms \[3\.499, 3\.500\] \(95 %\) > budget 3\.000 ms/],
    ['a figure equal to its budget passes', { p99Ms: 2 }, { p99Ms: 5 }, 'pass', /budget checks hold/],
    ['too many errors', { p99Ms: 1 }, { p99Ms: 1, errors: 1000 }, 'inconclusive', /invalid: http1\/meshed round 1: 3\.(19|2\d?) % of requests failed/],
    ['rate not achieved', { p99Ms: 1, rateHz: 900 }, { p99Ms: 1 }, 'inconclusive', /achieved 900 req\/s of 1000 intended/],
    ['generator behind', { p99Ms: 1 }, { p99Ms: 1, lateShare: 0.2 }, 'inconclusive', /the generator fell behind/],
    ['invalid and over budget: still inconclusive', { p99Ms: 1 }, { p99Ms: 9, errors: 500 }, 'inconclusive', /over budget/],
    ['nothing recorded', { p99Ms: 1 }, { p99Ms: 1, count: 0, errors: 10 }, 'inconclusive', /no successful response/],
  ])('%s', (_label, unmeshed, meshed, status, reason) => {
    const v = judgeRun(scenario(), [protocol(unmeshed, meshed)]);
    expect(v.status).toBe(status);
    expect(v.reasons.some((r) => reason.test(r)), v.reasons.join('\n')).toBe(true);
    // Decided on intervals, not on the point estimates: every check of variants that recorded responses has one.
    const recorded = new Set([['unmeshed', unmeshed], ['meshed', meshed]].filter(([, f]) => ((f as Fig).count ?? 3000) > 0).map(([n]) => n));
    const expected = v.checks.filter((c) => recorded.has(c.variant) && (c.budget === 'p99Ms' || recorded.size === 2));
    expect(expected.length).toBeGreaterThan(0);
    for (const c of expected) expect(c.interval, JSON.stringify(c)).toMatchObject({ confidence: 0.95 });
  });

  it('an interrupted run is never a pass', () => {
    const v = judgeRun(scenario(), [protocol({ p99Ms: 1 }, { p99Ms: 1 })], { interrupted: true });
    expect(v.status).toBe('inconclusive');
  });

  it('a run that stopped on a fault is invalid, whatever its figures, and says where and why first', () => {
    const fault = { round: 1, protocol: 'http1' as const, variant: 'meshed', code: 'MB_ENV_FAILED', message: 'server-sidecar (haproxy) is gone (signal SIGKILL)' };
    const v = judgeRun(scenario(), [protocol({ p99Ms: 1 }, { p99Ms: 1 })], { fault });
    expect(v.status).toBe('inconclusive');
    expect(v.validity[0]).toMatchObject({ rule: 'fault', protocol: 'http1', variant: 'meshed', round: 1 });
    expect(v.reasons[0]).toBe('invalid: the run stopped in http1/meshed round 2: server-sidecar (haproxy) is gone (signal SIGKILL) [MB_ENV_FAILED]; later rounds were not run');
  });

  it('a round where nothing completed or failed is a target that stopped answering, not "0 % failed"', () => {
    const silent = protocol({ p99Ms: 1 }, { p99Ms: 1 });
    const meshed = silent.variants['meshed'];
    const first = meshed?.rounds[0];
    if (first !== undefined) Object.assign(first, { count: 0, errors: 0 });
    const v = judgeRun(scenario(), [silent]);
    expect(v.status).toBe('inconclusive');
    expect(v.reasons).toContain('invalid: http1/meshed round 1: no request completed or failed — the target stopped answering (every connection hung)');
  });

  it('a scenario without budgets is rejected, and judged never a pass (an older document)', () => {
    expect(() => scenario({ budgets: {} })).toThrow(expect.objectContaining({ problems: [expect.stringMatching(/^budgets: no latency budget/)] }));
    const s = scenario();
    s.budgets = { errorRateOverhead: null };
    const v = judgeRun(s, [protocol({ p99Ms: 1 }, { p99Ms: 50 })]);
    expect(v.status).toBe('inconclusive');
    expect(v.reasons[0]).toMatch(/no latency budget set: the differences are measured, not judged/);
  });

  it('an error-rate budget alone is no latency evidence: never a pass (meshbench ab without --budget-p99-ms)', () => {
    const s = scenario();
    s.budgets = { errorRateOverhead: 0.5 };
    const v = judgeRun(s, [protocol({ p99Ms: 1 }, { p99Ms: 1 })]);
    expect(v.checks.map((c) => c.budget)).toEqual(['errorRateOverhead']);
    expect(v.status).toBe('inconclusive');
    expect(v.reasons.join('\n')).toMatch(/no latency budget set/);
  });

  it('per-protocol budgets override the scenario budgets', () => {
    const s = scenario({ protocols: [{ name: 'http1', budgets: { p99OverheadMs: 0.5 } }] });
    const v = judgeRun(s, [protocol({ p99Ms: 1 }, { p99Ms: 2 })]);
    expect(v.status).toBe('fail');
    expect(v.checks.find((c) => c.budget === 'p99OverheadMs')).toMatchObject({ limit: 0.5, actual: 1, status: 'fail' });
    expect(v.checks.find((c) => c.budget === 'p99Ms' && c.variant === 'meshed')).toMatchObject({ limit: 5, status: 'pass' });
  });

  it('checks the overhead ratio', () => {
    const v = judgeRun(scenario({ budgets: { p99OverheadRatio: 1.5 } }), [protocol({ p99Ms: 1 }, { p99Ms: 2 })]);
    expect(v.status).toBe('fail');
    expect(v.checks.filter((c) => c.budget !== 'errorRateOverhead')).toEqual([expect.objectContaining({ budget: 'p99OverheadRatio', actual: 2, limit: 1.5, status: 'fail' })]);
  });

  it('closed-loop runs are not judged on rate or lateness', () => {
    const s = scenario({ protocols: [{ name: 'http1', model: 'closed' }] });
    const v = judgeRun(s, [protocol({ p99Ms: 1, rateHz: 10, lateShare: 0.9 }, { p99Ms: 1, rateHz: 10 })]);
    expect(v.status).toBe('pass');
  });
});

describe('kubernetes: rounds whose generator pods did not start together are invalid (env.maxStartLagMs)', () => {
  const k8s = scenario({ env: { kind: 'kubernetes', mesh: 'linkerd', maxStartLagMs: 500 } });
  it.each<[string, number[], string[]]>([
    ['every pod within the bound', [0, 12, 500], []],
    ['one pod late', [3, 800], ['http1/meshed round 1: the generator pods did not start together — generator 1 800 ms after the published start; allowed 500 ms (env.maxStartLagMs)']],
    ['two pods late', [900, 2, 501], ['http1/meshed round 1: the generator pods did not start together — generator 0 900 ms, generator 2 501 ms after the published start; allowed 500 ms (env.maxStartLagMs)']],
  ])('%s', (_label, lags, details) => {
    const v = judgeRun(k8s, [protocol({ p99Ms: 1, startLagsMs: [0, 0] }, { p99Ms: 1, startLagsMs: lags })]);
    const problems = v.validity.filter((p) => p.rule === 'maxStartLag');
    // every round of the meshed variant has these lags: one problem per round, the first one worded here
    expect(problems.map((p) => p.round)).toEqual(details.length === 0 ? [] : [0, 1, 2]);
    expect(problems.slice(0, 1).map((p) => p.detail.split('. Raise')[0])).toEqual(details);
    if (details.length > 0) {
      expect(v.status).toBe('inconclusive');
      expect(v.reasons.some((r) => r.includes('did not start together')), v.reasons.join('\n')).toBe(true);
    }
  });

  it('other environments (one generator here) and documents without lags are not judged on them', () => {
    const local = judgeRun(scenario(), [protocol({ p99Ms: 1, startLagsMs: [5000] }, { p99Ms: 1 })]);
    expect(local.validity.filter((p) => p.rule === 'maxStartLag')).toEqual([]);
    const old = judgeRun(k8s, [protocol({ p99Ms: 1 }, { p99Ms: 1 })]);
    expect(old.validity.filter((p) => p.rule === 'maxStartLag')).toEqual([]);
  });
});
