import type { Scenario } from '../config/schema.js';
import { BASELINE_VARIANT, type Protocol } from '../protocols.js';
import type { BudgetCheck, DrillCheck, DrillResult, ProtocolEstimates, ProtocolResult, RunFault, ValidityProblem, Verdict } from '../result.js';
import { drillChecks } from './drills.js';
import { aaChecks, aaConfidence } from './aa.js';
import { checkBudgets, effectiveBudgets } from './budgets.js';
import { DEFAULT_STATISTICS, METHODS, protocolData, protocolEstimates, type ProtocolData, type StatisticsSettings } from './figures.js';
import { checkErrorRates } from './errors.js';
import { validityProblems } from './validity.js';

export interface JudgeOptions {
  /** The run was stopped early: never a pass. */
  interrupted?: boolean;
  /** `run --aa`: judge that identical variants are not told apart instead of judging the budgets. */
  aa?: boolean;
  /** A part of the run broke and it stopped early (result.json `fault`): invalid, never a pass. */
  fault?: RunFault;
  /** A drill's events as they happened (run/, src/drills/analyze.ts): judged by their budgets (verdict/drills.ts). */
  drills?: DrillResult[];
}

/** The scenario's statistics settings; documents written before they existed get the defaults. */
export function statisticsSettings(scenario: Partial<Pick<Scenario, 'statistics' | 'pairing'>>): StatisticsSettings {
  return { ...DEFAULT_STATISTICS, ...scenario.statistics, pairing: scenario.pairing ?? DEFAULT_STATISTICS.pairing };
}

/**
 * What judging a run decided: the verdict without its words, and the facts its reasons need
 * (report/wording.ts verdictReasons turns this into `verdict.reasons`; run/judge.ts puts the two together).
 */
export interface Judgement {
  verdict: Omit<Verdict, 'reasons'>;
  interrupted: boolean;
  aa: boolean;
  /** Protocols with fewer than MIN_ROUNDS rounds in which every variant has data: never a pass. */
  thinEvidence: { protocol: Protocol; rounds: number }[];
  confidence: number;
  /** `aa`: the confidence each A/A difference's interval is taken at (aa.ts). */
  aaCheckConfidence: number;
  rounds: number;
  /** Load seconds one more round costs (time pairing: its measurement; rounds pairing: warm-up and measurement of every variant). */
  secondsPerRound: number;
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
 * gets the same verdict.
 */
export function judge(scenario: Scenario, protocols: ProtocolResult[], options: JudgeOptions = {}): Judgement {
  const { interrupted = false, aa = false } = options;
  // A drill is judged by its events' budgets: the rounds an event's window reaches are disrupted on purpose, so
  // the validity rules skip them, and the steady-state budgets (latency, error rate) are not judged (schema.ts).
  const events = scenario.events ?? [];
  const drill = events.length > 0;
  const disrupted = new Set((options.drills ?? []).flatMap((d) => (d.rounds ?? [d.round]).map((r) => `${d.protocol}/${r}`)));
  const settings = statisticsSettings(scenario);
  const variants = variantOrder(protocols);
  const validity: ValidityProblem[] = [];
  const data: ProtocolData[] = [];
  const estimates: ProtocolEstimates[] = [];
  let checks: BudgetCheck[] = [];
  for (const protocol of protocols) {
    const config = scenario.protocols.find((p) => p.name === protocol.name);
    if (config === undefined) continue;
    validity.push(...validityProblems(protocol, config, scenario).filter((v) => v.rule === 'noSamples' || v.rule === 'maxStartLag' || !disrupted.has(`${v.protocol}/${v.round}`)));
    const d = protocolData(protocol, settings);
    const e = protocolEstimates(d, variants, settings.confidence);
    data.push(d);
    estimates.push(e);
    if (!aa && !drill) {
      const budgets = effectiveBudgets(scenario.budgets, config.budgets);
      checks.push(...checkBudgets(protocol, budgets, e), ...checkErrorRates(protocol, budgets, settings.confidence, scenario.rounds));
    }
  }
  if (aa) checks = aaChecks(data, settings.confidence);
  const { fault } = options;
  if (fault !== undefined) {
    validity.unshift({
      protocol: fault.protocol, variant: fault.variant, round: fault.round, rule: 'fault',
      detail: `the run stopped in ${fault.protocol}/${fault.variant} round ${fault.round + 1}: ${fault.message} [${fault.code}]; later rounds were not run`,
    });
  }

  const drills: DrillCheck[] = drill && !aa ? drillChecks(events, options.drills ?? []) : [];
  // A drill's figures are counts of what happened, not estimates: one round decides them.
  const thinEvidence = drill ? [] : data.filter((d) => d.rounds < MIN_ROUNDS).map((d) => ({ protocol: d.protocol.name, rounds: d.rounds }));
  const all: { status: BudgetCheck['status'] }[] = [...checks, ...drills];
  let status: Verdict['status'];
  if (interrupted || validity.length > 0) status = 'inconclusive';
  else if (all.some((c) => c.status === 'fail')) status = 'fail';
  else if (all.some((c) => c.status === 'inconclusive') || thinEvidence.length > 0) status = 'inconclusive';
  // No evidence is never a pass: validation requires a latency budget (a drill: an event budget), except for `meshbench ab` (adHoc).
  else if (drill ? !drills.some((c) => c.budget !== 'happened') : !checks.some((c) => c.budget !== 'errorRateOverhead')) status = 'inconclusive';
  else status = 'pass';
  return {
    verdict: {
      status, checks, validity, ...(drill ? { drills } : {}),
      statistics: { method: METHODS[settings.pairing], confidence: settings.confidence, resamples: settings.resamples, seed: settings.seed, estimates },
    },
    interrupted, aa, thinEvidence,
    confidence: settings.confidence,
    aaCheckConfidence: aaConfidence(settings.confidence, checks.length),
    rounds: scenario.rounds,
    secondsPerRound: secondsPerRound(scenario, variants.length),
  };
}

/**
 * The fewest rounds a passing verdict rests on, in either pairing: with fewer than 3, the between-round t
 * term has 1 degree of freedom or none, and drift between rounds (of the machine, or of one variant's own
 * processes) cannot be seen.
 */
export const MIN_ROUNDS = 3;

/** The variant names in comparison order: the baseline first, as the protocols list them. */
function variantOrder(protocols: ProtocolResult[]): string[] {
  const names = new Set<string>();
  for (const p of protocols) for (const v of Object.keys(p.variants)) names.add(v);
  return [...names].sort((a, b) => (a === BASELINE_VARIANT ? -1 : b === BASELINE_VARIANT ? 1 : 0));
}

/** Load seconds one more round costs: every protocol's measurement (and warm-up), for every variant that runs on its own. */
function secondsPerRound(scenario: Scenario, variants: number): number {
  // Time pairing: the variants run at once, and a round is a stretch of one continuous load (no warm-up of its own).
  if (scenario.pairing === 'time') return scenario.protocols.reduce((s, p) => s + p.durationS, 0);
  return scenario.protocols.reduce((s, p) => s + p.durationS + p.warmupS, 0) * Math.max(1, variants);
}
