import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderSweepMarkdown, sweepHeadline } from '../../src/report/sweep.js';
import { capacityChange, judgeStep, kneeOf, nextRefinement, sweepRates, type StepOutcome, type SweepDocument, type SweepStep } from '../../src/sweep-record.js';
import { parseScenarioText } from '../../src/config/load.js';

const steps = (pairs: [number, StepOutcome][]): { rateHz: number; outcome: StepOutcome }[] => pairs.map(([rateHz, outcome]) => ({ rateHz, outcome }));

describe('sweep decisions', () => {
  it.each([
    ['additive steps up to max', { startRateHz: 100, stepRateHz: 50, maxRateHz: 300 }, [100, 150, 200, 250, 300]],
    ['a factor', { startRateHz: 1000, stepFactor: 1.5, maxRateHz: 4000 }, [1000, 1500, 2250, 3375]],
    ['start = max', { startRateHz: 500, stepRateHz: 1, maxRateHz: 500 }, [500]],
  ])('rates: %s', (_name, sweep, want) => {
    expect(sweepRates({ refineSteps: 0, ...sweep })).toEqual(want);
  });

  it.each([
    ['holds: the whole interval within the budget', { count: 10, errorRate: 0, p99Us: 4000, p99IntervalUs: { low: 3000, high: 5000, confidence: 0.95 } }, [], 'holds'],
    ['breaks: the whole interval beyond', { count: 10, errorRate: 0, p99Us: 9000, p99IntervalUs: { low: 5001, high: 9900, confidence: 0.95 } }, [], 'breaks'],
    ['undecided: it straddles the budget', { count: 10, errorRate: 0, p99Us: 4900, p99IntervalUs: { low: 3000, high: 7000, confidence: 0.95 } }, [], 'undecided'],
    ['breaks: errors above validity', { count: 10, errorRate: 0.02, p99Us: 100, p99IntervalUs: null }, [], 'breaks'],
    ['breaks: invalid (the rate not achieved)', { count: 10, errorRate: 0, p99Us: 100, p99IntervalUs: null }, ['the rate was not achieved in 1 of 3 rounds'], 'breaks'],
    ['breaks: nothing answered', { count: 0, errorRate: 0, p99Us: 0, p99IntervalUs: null }, [], 'breaks'],
  ] as [string, Pick<SweepStep, 'count' | 'errorRate' | 'p99Us' | 'p99IntervalUs'>, string[], StepOutcome][])('step: %s', (_name, step, invalid, outcome) => {
    const judged = judgeStep(step, 5000, 0.01, invalid);
    expect(judged.outcome).toBe(outcome);
    expect(judged.reason === '').toBe(outcome === 'holds');
  });

  it.each([
    ['bracketed', steps([[100, 'holds'], [200, 'holds'], [300, 'breaks']]), { holdsUpToHz: 200, breaksAtHz: 300 }],
    ['undecided between', steps([[100, 'holds'], [200, 'undecided'], [300, 'breaks']]), { holdsUpToHz: 100, breaksAtHz: 300 }],
    ['a break confirmed by its repeat', steps([[100, 'holds'], [200, 'breaks'], [200, 'breaks']]), { holdsUpToHz: 100, breaksAtHz: 200 }],
    ['a break not confirmed (one stall): the rate held', steps([[100, 'holds'], [200, 'breaks'], [200, 'holds'], [300, 'breaks']]), { holdsUpToHz: 200, breaksAtHz: 300 }],
    ['nothing held', steps([[100, 'breaks']]), { holdsUpToHz: null, breaksAtHz: 100 }],
    ['nothing broke', steps([[100, 'holds'], [200, 'holds']]), { holdsUpToHz: 200, breaksAtHz: null }],
    ['refinements in any order', steps([[100, 'holds'], [300, 'breaks'], [200, 'holds'], [250, 'breaks']]), { holdsUpToHz: 200, breaksAtHz: 250 }],
  ])('knee: %s', (_name, s, want) => {
    expect(kneeOf(s)).toEqual(want);
  });

  it('the knee is the highest hold below the first break, and bisection stays inside it (property)', () => {
    const outcome = fc.constantFrom<StepOutcome>('holds', 'breaks', 'undecided');
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 10_000 }), outcome), { minLength: 1, maxLength: 20 }), (pairs) => {
      const knee = kneeOf(steps(pairs));
      if (knee.holdsUpToHz !== null && knee.breaksAtHz !== null) {
        expect(knee.holdsUpToHz).toBeLessThan(knee.breaksAtHz);
        const next = nextRefinement(knee, 1);
        if (next !== null) {
          expect(next).toBeGreaterThan(knee.holdsUpToHz);
          expect(next).toBeLessThan(knee.breaksAtHz);
        }
      }
      // no rate below the knee's break broke at every measurement
      for (const [rate] of pairs) {
        const all = pairs.filter(([r]) => r === rate).map(([, o]) => o);
        if (knee.breaksAtHz !== null && rate < knee.breaksAtHz) expect(all.every((o) => o === 'breaks')).toBe(false);
      }
    }));
  });

  it('capacity change: the point from the holds, the range from the brackets', () => {
    const c = capacityChange({ holdsUpToHz: 6100, breaksAtHz: 6400 }, { holdsUpToHz: 9400, breaksAtHz: 9800 });
    expect(c?.change).toBeCloseTo(6100 / 9400 - 1, 9);
    expect(c?.low).toBeCloseTo(6100 / 9800 - 1, 9);
    expect(c?.high).toBeCloseTo(6400 / 9400 - 1, 9);
    expect(capacityChange({ holdsUpToHz: null, breaksAtHz: 100 }, { holdsUpToHz: 9400, breaksAtHz: 9800 })).toBeNull();
  });
});

describe('sweep report', () => {
  const scenario = parseScenarioText('name: s\nprotocols:\n  - name: http1\nsweep: { startRateHz: 1000, stepRateHz: 400, maxRateHz: 12000 }\nbudgets: { p99Ms: 5 }\n', 's.yaml');
  const step = (rateHz: number, outcome: StepOutcome): SweepStep => ({
    rateHz, refinement: false, repeat: false, achievedRateHz: rateHz, count: 100, errors: 0, errorRate: 0, lateShare: 0, p50Us: 300, p99Us: outcome === 'holds' ? 4000 : 9000,
    p99IntervalUs: { low: 3000, high: 4500, confidence: 0.95 }, outcome, reason: outcome === 'holds' ? '' : 'p99 above the budget',
  });
  const doc: SweepDocument = {
    kind: 'meshbench-sweep', schemaVersion: 1, tool: { name: 'meshbench', version: 't' }, scenarioPath: 's.yaml', scenario, startedAt: '', finishedAt: '',
    environment: { kind: 'local', nodeVersion: 'v20', cpus: 2, variants: ['unmeshed', 'meshed'], facts: {} }, p99BudgetMs: 5,
    protocols: [{ name: 'http1', variants: {
      unmeshed: { steps: [step(9400, 'holds'), step(9800, 'breaks')], knee: { holdsUpToHz: 9400, breaksAtHz: 9800 } },
      meshed: { steps: [step(6100, 'holds'), step(6400, 'breaks')], knee: { holdsUpToHz: 6100, breaksAtHz: 6400 } },
    } }],
  };

  it('says where each variant holds the budget and what the mesh costs in capacity, with its range', () => {
    expect(sweepHeadline(doc, doc.protocols[0]!)).toBe('http1: unmeshed holds p99 ≤ 5 ms up to 9.4k req/s (breaks at 9.8k), meshed up to 6.1k req/s (breaks at 6.4k) (−35 %, −38 % to −32 %)');
  });

  it('sweep.md: the headline and every step with its p99 interval', () => {
    const md = renderSweepMarkdown(doc);
    expect(md).toContain('**http1: unmeshed holds p99 ≤ 5 ms');
    expect(md).toContain('| meshed | 6400 | 6400 | 0 | 0.300 | 9.000 | 3.000–4.500 | 0.00 | breaks | p99 above the budget |');
  });
});
