import { BASELINE_VARIANT } from '../protocols.js';
import type { BudgetCheck, ProtocolResult } from '../result.js';
import { scaleInterval } from './budgets.js';
import { figureData, intervalOf, type ProtocolData } from './figures.js';
import { contains } from './statistics.js';

/**
 * The A/A check (`run --aa`): both variants drove the same unmeshed targets, so the true P99 difference is
 * 0 and every overhead interval must contain it. An interval that excludes 0 is a false finding — the
 * machine or the method told identical variants apart — and fails the run.
 *
 * The run has one such check per protocol and variant, and it fails if any does; so each interval is
 * taken at confidence 1 − (1 − c)/k (Bonferroni over the k checks) to keep the chance that an A/A run
 * fails by accident at most 1 − c for the whole run (5 % at the default 0.95), not per check.
 */
export function aaConfidence(confidence: number, checks: number): number {
  return 1 - (1 - confidence) / Math.max(1, checks);
}

export function aaChecks(data: readonly ProtocolData[], confidence: number): BudgetCheck[] {
  const pairs = data.flatMap((d) => Object.keys(d.protocol.variants).filter((v) => v !== BASELINE_VARIANT).map((variant) => ({ d, variant })));
  const level = aaConfidence(confidence, pairs.length);
  return pairs.map(({ d, variant }) => {
    const p: ProtocolResult = d.protocol;
    const actual = (p.overhead[variant]?.p99Us ?? 0) / 1000;
    const interval = scaleInterval(intervalOf(figureData(d, { kind: 'overhead', variant, baseline: BASELINE_VARIANT, index: 1 }), level), 1 / 1000);
    const base = { protocol: p.name, variant, budget: 'p99OverheadZero' as const, limit: 0, actual };
    if (interval === null) return { ...base, status: 'inconclusive' as const, interval: null };
    return {
      ...base,
      status: contains(interval, 0) ? ('pass' as const) : ('fail' as const),
      interval: { low: interval.low, high: interval.high, confidence: interval.confidence },
    };
  });
}
