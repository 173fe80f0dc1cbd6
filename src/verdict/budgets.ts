import type { Budgets } from '../config/schema.js';
import { BASELINE_VARIANT } from '../protocols.js';
import type { BudgetCheck, FigureInterval, ProtocolEstimates, ProtocolResult } from '../result.js';
import { decide, roundsToDecide } from './statistics.js';

/** Scenario-wide budgets with the protocol's own fields taking precedence. */
export function effectiveBudgets(scenarioBudgets: Budgets, protocolBudgets: Budgets | undefined): Budgets {
  return { ...scenarioBudgets, ...protocolBudgets };
}

/** A figure's interval in another unit (µs → ms: factor 1/1000). */
export function scaleInterval(i: FigureInterval | null, factor: number): FigureInterval | null {
  if (i === null) return null;
  return {
    ...i,
    estimate: i.estimate * factor,
    low: i.low * factor,
    high: i.high * factor,
    withinLowDev: i.withinLowDev * factor,
    withinHighDev: i.withinHighDev * factor,
    between: i.between.map((b) => ({ ...b, variance: b.variance * factor * factor })),
  };
}

/**
 * Checks every budget that is set: the absolute P99 for every variant, and the P99 overhead (ms and
 * ratio) of every non-baseline variant against the baseline. Each check is decided on the figure's
 * interval: pass when all of it is within the budget (≤), fail when all of it is beyond, inconclusive
 * otherwise. Without an interval (no histograms to resample) the point estimate decides, as in verdict v1.
 */
export function checkBudgets(protocol: ProtocolResult, budgets: Budgets, estimates: ProtocolEstimates | undefined): BudgetCheck[] {
  const checks: BudgetCheck[] = [];
  const base = protocol.variants[BASELINE_VARIANT];
  for (const [variant, result] of Object.entries(protocol.variants)) {
    if (budgets.p99Ms !== undefined) {
      const interval = scaleInterval(estimates?.variants[variant]?.p99Us ?? null, 1 / 1000);
      checks.push(check(protocol, variant, 'p99Ms', budgets.p99Ms, result.latencyUs.p99 / 1000, interval));
    }
    if (variant === BASELINE_VARIANT || base === undefined) continue;
    const overhead = protocol.overhead[variant];
    if (overhead === undefined) continue;
    const intervals = estimates?.overhead[variant];
    if (budgets.p99OverheadMs !== undefined) {
      const interval = scaleInterval(intervals?.p99Us ?? null, 1 / 1000);
      checks.push(check(protocol, variant, 'p99OverheadMs', budgets.p99OverheadMs, overhead.p99Us / 1000, interval));
    }
    if (budgets.p99OverheadRatio !== undefined) {
      checks.push(check(protocol, variant, 'p99OverheadRatio', budgets.p99OverheadRatio, overhead.p99Ratio, intervals?.p99Ratio ?? null));
    }
  }
  return checks;
}

function check(protocol: ProtocolResult, variant: string, budget: BudgetCheck['budget'], limit: number, actual: number, interval: FigureInterval | null): BudgetCheck {
  if (interval === null) {
    return { protocol: protocol.name, variant, budget, limit, actual, status: actual <= limit ? 'pass' : 'fail', interval: null };
  }
  const status = decide(interval, limit);
  const out: BudgetCheck = {
    protocol: protocol.name, variant, budget, limit, actual, status,
    interval: { low: interval.low, high: interval.high, confidence: interval.confidence },
  };
  if (status === 'inconclusive') out.roundsNeeded = roundsToDecide(interval, limit);
  return out;
}
