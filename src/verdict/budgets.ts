import type { Budgets } from '../config/schema.js';
import { BASELINE_VARIANT } from '../protocols.js';
import type { BudgetCheck, ProtocolResult } from '../result.js';

/** Scenario-wide budgets with the protocol's own fields taking precedence. */
export function effectiveBudgets(scenarioBudgets: Budgets, protocolBudgets: Budgets | undefined): Budgets {
  return { ...scenarioBudgets, ...protocolBudgets };
}

/**
 * Checks every budget that is set: the absolute P99 for every variant, and the P99 overhead (ms and
 * ratio) of every non-baseline variant against the baseline. A figure equal to its budget passes.
 */
export function checkBudgets(protocol: ProtocolResult, budgets: Budgets): BudgetCheck[] {
  const checks: BudgetCheck[] = [];
  const base = protocol.variants[BASELINE_VARIANT];
  for (const [variant, result] of Object.entries(protocol.variants)) {
    if (budgets.p99Ms !== undefined) {
      checks.push(check(protocol, variant, 'p99Ms', budgets.p99Ms, result.latencyUs.p99 / 1000));
    }
    if (variant === BASELINE_VARIANT || base === undefined) continue;
    const overhead = protocol.overhead[variant];
    if (overhead === undefined) continue;
    if (budgets.p99OverheadMs !== undefined) {
      checks.push(check(protocol, variant, 'p99OverheadMs', budgets.p99OverheadMs, overhead.p99Us / 1000));
    }
    if (budgets.p99OverheadRatio !== undefined) {
      checks.push(check(protocol, variant, 'p99OverheadRatio', budgets.p99OverheadRatio, overhead.p99Ratio));
    }
  }
  return checks;
}

function check(protocol: ProtocolResult, variant: string, budget: BudgetCheck['budget'], limit: number, actual: number): BudgetCheck {
  return { protocol: protocol.name, variant, budget, limit, actual, status: actual <= limit ? 'pass' : 'fail' };
}

export function describeCheck(c: BudgetCheck): string {
  const unit = c.budget === 'p99OverheadRatio' ? '×' : ' ms';
  const what = c.budget === 'p99Ms' ? 'P99' : c.budget === 'p99OverheadMs' ? 'P99 overhead' : 'P99 ratio to unmeshed';
  const fmt = (x: number) => (c.budget === 'p99OverheadRatio' ? x.toFixed(2) : x.toFixed(3));
  return `${c.protocol}/${c.variant}: ${what} ${fmt(c.actual)}${unit} ${c.status === 'pass' ? '≤' : '>'} budget ${fmt(c.limit)}${unit}`;
}
