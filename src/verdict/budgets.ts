import type { Budgets } from '../config/schema.js';
import { BASELINE_VARIANT } from '../protocols.js';
import type { BudgetCheck, FigureInterval, ProtocolEstimates, ProtocolResult } from '../result.js';
import { describeErrorCheck, formatRate } from './errors.js';
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

const WHAT: Record<BudgetCheck['budget'], string> = {
  p99Ms: 'P99',
  p99OverheadMs: 'P99 overhead',
  p99OverheadRatio: 'P99 ratio to unmeshed',
  p99OverheadZero: 'A/A P99 difference',
  errorRateOverhead: 'error-rate overhead',
};

/** A number in the check's unit, e.g. "0.310 ms" or "1.08×". */
export function formatFigure(c: Pick<BudgetCheck, 'budget'>, x: number, unit = true): string {
  if (c.budget === 'errorRateOverhead') return formatRate(x, unit);
  const ratio = c.budget === 'p99OverheadRatio';
  return `${x.toFixed(ratio ? 2 : 3)}${unit ? (ratio ? '×' : ' ms') : ''}`;
}

/** "[0.270, 0.360] (95 %)" or "" when the check has no interval. */
export function formatInterval(c: BudgetCheck): string {
  if (c.interval === null) return '';
  return `[${formatFigure(c, c.interval.low, false)}, ${formatFigure(c, c.interval.high, false)}]`;
}

export function percent(confidence: number): string {
  const p = confidence * 100;
  return `${Number.isInteger(p) ? p.toFixed(0) : p.toFixed(1)} %`;
}

/**
 * One line per check: figure, interval, decision against the limit, and what would decide it, e.g.
 * "grpc-bidi/meshed: P99 overhead 0.310 ms [0.270, 0.360] (95 %) ≤ budget 3.000 ms".
 */
export function describeCheck(c: BudgetCheck): string {
  if (c.budget === 'errorRateOverhead') return describeErrorCheck(c);
  const interval = c.interval === null ? '' : ` ${formatInterval(c)} (${percent(c.interval.confidence)})`;
  const figure = `${c.protocol}/${c.variant}: ${WHAT[c.budget]} ${formatFigure(c, c.actual)}${interval}`;
  if (c.budget === 'p99OverheadZero') {
    if (c.status === 'inconclusive') return `${figure}: no interval (no histograms to resample)`;
    return `${figure} ${c.status === 'pass' ? 'contains 0: identical variants not told apart' : 'excludes 0: identical variants measured different'}`;
  }
  const limit = `budget ${formatFigure(c, c.limit)}`;
  if (c.status === 'pass') return `${figure} ≤ ${limit}`;
  if (c.status === 'fail') return `${figure} > ${limit}`;
  const more = c.roundsNeeded === undefined || c.roundsNeeded === null
    ? 'more rounds are unlikely to decide it (the estimate is at the budget)'
    : `about ${c.roundsNeeded} rounds would likely decide it`;
  return `${figure} straddles ${limit}: ${more}`;
}
