import type { Scenario } from '../config/schema.js';
import type { BudgetCheck, ProtocolResult, ValidityProblem, Verdict } from '../result.js';
import { checkBudgets, describeCheck, effectiveBudgets } from './budgets.js';
import { validityProblems } from './validity.js';

/**
 * Verdict v1: pass when every set budget holds and the run is valid; fail when a budget is exceeded in
 * a valid run; inconclusive — never pass — when the run is invalid or was interrupted, whatever the
 * figures say (an invalid run's numbers cannot be trusted in either direction).
 */
export function judge(scenario: Scenario, protocols: ProtocolResult[], interrupted = false): Verdict {
  const checks: BudgetCheck[] = [];
  const validity: ValidityProblem[] = [];
  for (const protocol of protocols) {
    const config = scenario.protocols.find((p) => p.name === protocol.name);
    if (config === undefined) continue;
    validity.push(...validityProblems(protocol, config, scenario.validity));
    checks.push(...checkBudgets(protocol, effectiveBudgets(scenario.budgets, config.budgets)));
  }
  const failed = checks.filter((c) => c.status === 'fail');
  const reasons: string[] = [];
  if (interrupted) reasons.push('the run was interrupted before all rounds finished');
  reasons.push(...validity.map((v) => `invalid: ${v.detail}`));
  reasons.push(...failed.map((c) => `over budget: ${describeCheck(c)}`));
  let status: Verdict['status'];
  if (interrupted || validity.length > 0) status = 'inconclusive';
  else if (failed.length > 0) status = 'fail';
  else status = 'pass';
  if (status === 'pass') {
    reasons.push(checks.length === 0 ? 'no budgets set: nothing to fail' : `all ${checks.length} budget checks hold`);
    reasons.push(...checks.map(describeCheck));
  }
  return { status, reasons, checks, validity };
}
