import { BASELINE_VARIANT } from '../protocols.js';
import type { BudgetCheck, DrillCheck, ErrorCounts } from '../result.js';
import type { RegressionCheck, ComparisonDecision } from '../verdict/compare.js';
import { MIN_ROUNDS, type Judgement } from '../verdict/index.js';

/**
 * The words of a verdict: verdict/ decides and returns data (checks, validity, status); the sentences in
 * `verdict.reasons` and in every report are built here, from that data only.
 */

const WHAT: Record<BudgetCheck['budget'], string> = {
  p99Ms: 'P99',
  p99OverheadMs: 'P99 overhead',
  p99OverheadRatio: 'P99 ratio to unmeshed',
  p99OverheadZero: 'A/A P99 difference',
  errorRateOverhead: 'error-rate overhead',
};

/** "95 %", "99.5 %". */
export function percent(confidence: number): string {
  const p = confidence * 100;
  return `${Number.isInteger(p) ? p.toFixed(0) : p.toFixed(1)} %`;
}

/** A number in the check's unit, e.g. "0.310 ms" or "1.08×". */
export function formatFigure(c: Pick<BudgetCheck, 'budget'>, x: number, unit = true): string {
  if (c.budget === 'errorRateOverhead') return formatRate(x, unit);
  const ratio = c.budget === 'p99OverheadRatio';
  return `${x.toFixed(ratio ? 2 : 3)}${unit ? (ratio ? '×' : ' ms') : ''}`;
}

/** "[0.270, 0.360]" or "" when the check has no interval. */
export function formatInterval(c: BudgetCheck): string {
  if (c.interval === null) return '';
  return `[${formatFigure(c, c.interval.low, false)}, ${formatFigure(c, c.interval.high, false)}]`;
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

/** "0.900 %" — error rates and their differences are shown in percent. */
export function formatRate(x: number, unit = true): string {
  return `${(x * 100).toFixed(3)}${unit ? ' %' : ''}`;
}

/** "status 27, timeout 1 of 3000" — only the kinds that occurred. */
function kinds(c: ErrorCounts['baseline']): string {
  const seen = Object.entries(c.byKind).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  return `${seen.length === 0 ? 'no errors' : seen.join(', ')} of ${c.requests}`;
}

/**
 * One line: the difference with its interval, the decision, and the counts by kind behind it, e.g.
 * "http1/meshed: error-rate overhead 0.900 % [0.62, 1.29] (95 %) > budget 0.100 % (meshed: status 27 of 3000;
 * unmeshed: no errors of 3000)".
 */
function describeErrorCheck(c: BudgetCheck): string {
  const interval = c.interval === null ? '' : ` [${formatRate(c.interval.low, false)}, ${formatRate(c.interval.high, false)}] (${percent(c.interval.confidence)})`;
  const figure = `${c.protocol}/${c.variant}: error-rate overhead ${formatRate(c.actual)}${interval}`;
  const limit = `budget ${formatRate(c.limit)}`;
  const counts = c.errorCounts === undefined ? '' : ` (${c.variant}: ${kinds(c.errorCounts.variant)}; ${BASELINE_VARIANT}: ${kinds(c.errorCounts.baseline)})`;
  if (c.status === 'pass') return `${figure} ≤ ${limit}${counts}`;
  if (c.status === 'fail') return `${figure} > ${limit}${counts}`;
  const more = c.roundsNeeded === undefined || c.roundsNeeded === null
    ? 'more rounds are unlikely to decide it (the estimate is at the budget)'
    : `about ${c.roundsNeeded} rounds would likely decide it`;
  return `${figure} straddles ${limit}${counts}: ${more}`;
}

/** The reasons of a run's verdict (result.json `verdict.reasons`), most important first. */
export function verdictReasons(j: Judgement): string[] {
  const { status, checks, validity } = j.verdict;
  const failed = checks.filter((c) => c.status === 'fail');
  const undecided = checks.filter((c) => c.status === 'inconclusive');
  const reasons: string[] = [];
  if (j.interrupted) reasons.push('the run was interrupted before all rounds finished');
  reasons.push(...validity.map((v) => `invalid: ${v.detail}`));
  if (j.aa) reasons.push(aaPreamble(j.aaCheckConfidence, j.confidence));
  reasons.push(...failed.map((c) => `${j.aa ? 'A/A difference' : 'over budget'}: ${describeCheck(c)}`));
  reasons.push(...undecided.map((c) => `undecided: ${describeCheck(c)}${moreTime(c, j.rounds, j.secondsPerRound)}`));
  const drills = j.verdict.drills ?? [];
  reasons.push(...drills.filter((c) => c.status === 'fail').map((c) => `over budget: ${describeDrillCheck(c)}`));
  reasons.push(...drills.filter((c) => c.status === 'inconclusive').map((c) => `undecided: ${describeDrillCheck(c)}`));
  reasons.push(...j.thinEvidence.map((t) =>
    `too little evidence: ${t.protocol} has ${t.rounds} round(s) with every variant; its interval needs at least ${MIN_ROUNDS} to see drift between rounds, so it never passes (scenario rounds ≥ ${MIN_ROUNDS})`));
  if (status === 'inconclusive' && drills.length > 0 && !drills.some((c) => c.budget !== 'happened')) {
    reasons.push('no event budget set: the events are measured, not judged; give them budgets (maxErrors, recoveryS)');
  }
  if (status === 'inconclusive' && !j.aa && drills.length === 0 && !checks.some((c) => c.budget !== 'errorRateOverhead')) {
    reasons.push('no latency budget set: the differences are measured, not judged; add one (p99Ms, p99OverheadMs or p99OverheadRatio; `meshbench ab --budget-p99-ms`)');
  }
  if (status === 'pass') {
    if (!j.aa && checks.length > 0) reasons.push(`all ${checks.length} budget checks hold: each ${percent(j.confidence)} interval lies within its budget`);
    if (drills.length > 0) reasons.push(`all ${drills.length} event budget checks hold`);
    reasons.push(...checks.map(describeCheck), ...drills.map(describeDrillCheck));
  }
  return reasons;
}

/** Where an event happened: "round 2" (1-based, as the scenario names rounds), or in a pilot "window #4" (as its reports number windows). */
export function drillPlace(x: { round: number; window?: number }): string {
  return x.window === undefined ? `round ${x.round + 1}` : `window #${x.window}`;
}

/** "event 1 restart-sidecars (http1, round 1) meshed: 12 errors > maxErrors 0", "… p99 recovered in 1.25 s ≤ 3 s". */
export function describeDrillCheck(c: DrillCheck): string {
  const head = `event ${c.event + 1} ${c.action} (${c.protocol}, ${drillPlace(c)}) ${c.variant}`;
  if (c.budget === 'happened') return `${head}: did not happen, so it decides nothing (see its error in the drill's table)`;
  const sign = c.status === 'pass' ? '≤' : '>';
  if (c.budget === 'maxErrors') return `${head}: ${c.actual ?? 0} errors ${sign} maxErrors ${c.limit ?? 0}`;
  const control = c.controlRecoveryS === undefined ? '' : `; the unmeshed control ${c.controlRecoveryS === null ? 'had not recovered either' : `recovered in ${c.controlRecoveryS.toFixed(2)} s`}`;
  if (c.status === 'inconclusive' && c.controlRecoveryS !== undefined && (c.controlRecoveryS === null || c.controlRecoveryS > (c.limit ?? 0))) {
    return `${head}: p99 ${c.actual === null ? 'had not recovered by the end of its window' : `recovered in ${c.actual.toFixed(2)} s`}, over recoveryS ${c.limit ?? 0} s${control} — the machine, not the mesh, held both up`;
  }
  if (c.actual === null) {
    return c.status === 'fail'
      ? `${head}: p99 had not recovered by the end of its window > recoveryS ${c.limit ?? 0} s${control}`
      : `${head}: p99 had not recovered when its window ended, before recoveryS ${c.limit ?? 0} s had passed — leave more time before the next event or the end of the load`;
  }
  return `${head}: p99 recovered in ${c.actual.toFixed(2)} s ${sign} recoveryS ${c.limit ?? 0} s${control}`;
}

function aaPreamble(checkConfidence: number, confidence: number): string {
  return `A/A run: both variants drove the same unmeshed targets, so every P99 difference must have an interval containing 0 ` +
    `(${percent(checkConfidence)} each, so that at most ${percent(1 - confidence)} of A/A runs fail by chance); budgets are not judged`;
}

function moreTime(c: BudgetCheck, rounds: number, perRoundS: number): string {
  if (c.roundsNeeded === undefined || c.roundsNeeded === null || c.roundsNeeded <= rounds) return '';
  const seconds = (c.roundsNeeded - rounds) * perRoundS;
  return ` (scenario rounds: ${rounds} → ${c.roundsNeeded}, ≈ ${seconds < 120 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(0)} min`} more)`;
}

export function describeRegression(c: RegressionCheck): string {
  const what = c.figure === 'p99Ms' ? 'P99' : 'P99 overhead';
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  const interval = c.interval === null ? '' : ` [${sign(c.interval.low)}, ${sign(c.interval.high)}] (${percent(c.interval.confidence)})`;
  const head = `${c.protocol}/${c.variant}: ${what} ${c.baseline.toFixed(3)} → ${c.candidate.toFixed(3)} ms, change ${sign(c.change)} ms${interval}`;
  if (c.status === 'pass') return `${head} ≤ tolerance ${c.limit.toFixed(3)} ms`;
  if (c.status === 'fail') return `${head} > tolerance ${c.limit.toFixed(3)} ms`;
  const more = c.roundsNeeded === undefined || c.roundsNeeded === null
    ? '; more candidate rounds alone would not decide it'
    : `; about ${c.roundsNeeded} candidate rounds would likely decide it`;
  return `${head} straddles tolerance ${c.limit.toFixed(3)} ms${more}`;
}

/** The reasons of a comparison's verdict (comparison.json `verdict.reasons`). */
export function comparisonReasons(d: ComparisonDecision): string[] {
  const { checks, invalid, status } = d;
  const reasons = [
    ...invalid.map((i) => `invalid: ${i}`),
    ...checks.filter((c) => c.status === 'fail').map((c) => `regressed: ${describeRegression(c)}`),
    ...checks.filter((c) => c.status === 'inconclusive').map((c) => `undecided: ${describeRegression(c)}`),
  ];
  if (checks.length === 0) reasons.push('no figure in common to compare');
  if (status === 'pass') {
    reasons.push(`no regression: each of the ${checks.length} changes has its ${percent(d.statistics.confidence)} interval within the tolerance`);
    reasons.push(...checks.map(describeRegression));
  }
  return reasons;
}
