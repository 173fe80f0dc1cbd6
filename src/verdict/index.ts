import type { Scenario } from '../config/schema.js';
import { BASELINE_VARIANT } from '../protocols.js';
import type { BudgetCheck, ProtocolEstimates, ProtocolResult, ValidityProblem, Verdict } from '../result.js';
import { aaChecks, aaConfidence } from './aa.js';
import { checkBudgets, describeCheck, effectiveBudgets, percent } from './budgets.js';
import { DEFAULT_STATISTICS, METHOD, protocolData, protocolEstimates, type ProtocolData, type StatisticsSettings } from './figures.js';
import { checkErrorRates } from './errors.js';
import { validityProblems } from './validity.js';

export interface JudgeOptions {
  /** The run was stopped early: never a pass. */
  interrupted?: boolean;
  /** `run --aa`: judge that identical variants are not told apart instead of judging the budgets. */
  aa?: boolean;
}

/** The scenario's statistics settings; documents written before they existed get the defaults. */
export function statisticsSettings(scenario: Partial<Pick<Scenario, 'statistics'>>): StatisticsSettings {
  return { ...DEFAULT_STATISTICS, ...scenario.statistics };
}

/**
 * The verdict. Every compared figure gets a confidence interval (figures.ts, statistics.ts), and every
 * budget check is decided on it: pass when the whole interval is within the budget, fail when the whole
 * interval is beyond it, inconclusive when it straddles the budget — with how many rounds would likely
 * decide it. The run is
 * - inconclusive — never pass — when it is invalid or was interrupted, whatever the figures say (an
 *   invalid run's numbers cannot be trusted in either direction);
 * - fail when any check fails; inconclusive when none fails but one is undecided; pass otherwise.
 *
 * Deterministic: the resampling is seeded (scenario `statistics.seed`), so the same result document always
 * gets the same verdict. Backwards compatible call: `judge(scenario, protocols, interrupted)`.
 */
export function judge(scenario: Scenario, protocols: ProtocolResult[], options: JudgeOptions | boolean = {}): Verdict {
  const { interrupted = false, aa = false } = typeof options === 'boolean' ? { interrupted: options } : options;
  const settings = statisticsSettings(scenario);
  const variants = variantOrder(protocols);
  const validity: ValidityProblem[] = [];
  const data: ProtocolData[] = [];
  const estimates: ProtocolEstimates[] = [];
  let checks: BudgetCheck[] = [];
  for (const protocol of protocols) {
    const config = scenario.protocols.find((p) => p.name === protocol.name);
    if (config === undefined) continue;
    validity.push(...validityProblems(protocol, config, scenario.validity));
    const d = protocolData(protocol, settings);
    const e = protocolEstimates(d, variants, settings.confidence);
    data.push(d);
    estimates.push(e);
    if (!aa) {
      const budgets = effectiveBudgets(scenario.budgets, config.budgets);
      checks.push(...checkBudgets(protocol, budgets, e), ...checkErrorRates(protocol, budgets, settings.confidence, scenario.rounds));
    }
  }
  if (aa) checks = aaChecks(data, settings.confidence);

  const failed = checks.filter((c) => c.status === 'fail');
  const undecided = checks.filter((c) => c.status === 'inconclusive');
  const reasons: string[] = [];
  if (interrupted) reasons.push('the run was interrupted before all rounds finished');
  reasons.push(...validity.map((v) => `invalid: ${v.detail}`));
  if (aa) reasons.push(aaPreamble(checks.length, settings.confidence));
  reasons.push(...failed.map((c) => `${aa ? 'A/A difference' : 'over budget'}: ${describeCheck(c)}`));
  const perRoundS = secondsPerRound(scenario, variants.length);
  reasons.push(...undecided.map((c) => `undecided: ${describeCheck(c)}${moreTime(c, scenario.rounds, perRoundS)}`));
  let status: Verdict['status'];
  if (interrupted || validity.length > 0) status = 'inconclusive';
  else if (failed.length > 0) status = 'fail';
  else if (undecided.length > 0) status = 'inconclusive';
  else if (checks.length === 0) status = 'inconclusive'; // no evidence is never a pass (validation requires a budget)
  else status = 'pass';
  if (status === 'inconclusive' && checks.length === 0 && !interrupted && validity.length === 0) {
    reasons.push('no budgets set: no evidence to pass on; add a latency budget (p99Ms, p99OverheadMs or p99OverheadRatio)');
  }
  if (status === 'pass') {
    if (!aa) reasons.push(`all ${checks.length} budget checks hold: each ${percent(settings.confidence)} interval lies within its budget`);
    reasons.push(...checks.map(describeCheck));
  }
  return {
    status, reasons, checks, validity,
    statistics: { method: METHOD, confidence: settings.confidence, resamples: settings.resamples, seed: settings.seed, estimates },
  };
}

function aaPreamble(checks: number, confidence: number): string {
  return `A/A run: both variants drove the same unmeshed targets, so every P99 difference must have an interval containing 0 ` +
    `(${percent(aaConfidence(confidence, checks))} each, so that at most ${percent(1 - confidence)} of A/A runs fail by chance); budgets are not judged`;
}

/** The variant names in comparison order: the baseline first, as the protocols list them. */
function variantOrder(protocols: ProtocolResult[]): string[] {
  const names = new Set<string>();
  for (const p of protocols) for (const v of Object.keys(p.variants)) names.add(v);
  return [...names].sort((a, b) => (a === BASELINE_VARIANT ? -1 : b === BASELINE_VARIANT ? 1 : 0));
}

/** Load seconds one more round costs: every protocol's warm-up and measurement, for every variant. */
function secondsPerRound(scenario: Scenario, variants: number): number {
  return scenario.protocols.reduce((s, p) => s + p.durationS + p.warmupS, 0) * Math.max(1, variants);
}

function moreTime(c: BudgetCheck, rounds: number, perRoundS: number): string {
  if (c.roundsNeeded === undefined || c.roundsNeeded === null || c.roundsNeeded <= rounds) return '';
  const seconds = (c.roundsNeeded - rounds) * perRoundS;
  return ` (scenario rounds: ${rounds} → ${c.roundsNeeded}, ≈ ${seconds < 120 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(0)} min`} more)`;
}
