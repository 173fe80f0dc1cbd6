import type { Budgets } from '../config/schema.js';
export { DEFAULT_ERROR_RATE_OVERHEAD } from '../config/schema.js';
import { BASELINE_VARIANT } from '../protocols.js';
import type { BudgetCheck, ErrorCounts, ProtocolResult } from '../result.js';
import { MAX_ROUNDS, normalQuantile } from './statistics.js';

/**
 * The error-rate budget: how much the mesh may add to the share of requests that fail. Failed requests and
 * timeouts leave the latency histograms, so a meshed side answering 0.9 % of requests with fast 503s would
 * otherwise pass every latency budget (and the 1 % validity rule). The figure is the variant's error rate
 * minus the baseline's, over all requests of all rounds (errors of every kind), and it is
 * decided on an interval like the latency checks: pass when the whole interval is within the budget, fail
 * when the whole interval is beyond it, inconclusive otherwise.
 *
 * Interval: Newcombe's hybrid score interval for the difference of two independent proportions (R. G.
 * Newcombe, "Interval estimation for the difference between independent proportions: comparison of eleven
 * methods", Statistics in Medicine 17:873–890, 1998, method 10), built from the two Wilson score intervals
 * (E. B. Wilson, JASA 22:209–212, 1927). Unlike the Wald interval it stays inside [−1, 1], is not degenerate
 * at 0 errors (the usual case here) and keeps close to its nominal coverage at rates near 0 — checked by a
 * seeded simulation in test/unit/error-rate.test.ts. It treats requests as independent; errors that come in
 * bursts make the true interval wider, which at worst makes this check pass or fail a little too readily —
 * the run's validity rule (maxErrorRate per round) still guards bursts.
 */

export interface ProportionInterval {
  estimate: number;
  low: number;
  high: number;
}


/** Wilson score interval of `failures` out of `trials` (trials 0: the whole of [0, 1]). */
export function wilsonInterval(failures: number, trials: number, confidence: number): ProportionInterval {
  if (trials <= 0) return { estimate: 0, low: 0, high: 1 };
  const z = normalQuantile(confidence);
  const p = failures / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials));
  // Exact at the edges (the formula gives them up to rounding).
  return { estimate: p, low: failures === 0 ? 0 : Math.max(0, centre - half), high: failures === trials ? 1 : Math.min(1, centre + half) };
}

/** Newcombe's hybrid score interval for p₁ − p₂ (method 10 of Newcombe 1998). */
export function newcombeDifference(failures1: number, trials1: number, failures2: number, trials2: number, confidence: number): ProportionInterval {
  const a = wilsonInterval(failures1, trials1, confidence);
  const b = wilsonInterval(failures2, trials2, confidence);
  const d = a.estimate - b.estimate;
  return {
    estimate: d,
    low: d - Math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2),
    high: d + Math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2),
  };
}

/** Requests sent (answered + failed) and failures by kind of one variant. */
/** Every error of every kind. */
function sumErrors(byKind: ErrorCounts['baseline']['byKind']): number {
  return Object.values(byKind).reduce((n, k) => n + k, 0);
}

function countsOf(v: ProtocolResult['variants'][string]): ErrorCounts['baseline'] {
  const byKind = { ...v.errorsByKind };
  return { requests: v.count + sumErrors(byKind), byKind };
}

/**
 * One `errorRateOverhead` check per non-baseline variant of the protocol, when the budget is set (not
 * null/undefined) and both sides sent requests.
 */
export function checkErrorRates(protocol: ProtocolResult, budgets: Budgets, confidence: number, rounds: number): BudgetCheck[] {
  const limit = budgets.errorRateOverhead;
  const base = protocol.variants[BASELINE_VARIANT];
  if (limit === undefined || limit === null || base === undefined) return [];
  const baseline = countsOf(base);
  const checks: BudgetCheck[] = [];
  for (const [variant, result] of Object.entries(protocol.variants)) {
    if (variant === BASELINE_VARIANT) continue;
    const counts = countsOf(result);
    if (counts.requests === 0 || baseline.requests === 0) continue;
    const i = newcombeDifference(sumErrors(counts.byKind), counts.requests, sumErrors(baseline.byKind), baseline.requests, confidence);
    const status = i.high <= limit ? 'pass' : i.low > limit ? 'fail' : 'inconclusive';
    const check: BudgetCheck = {
      protocol: protocol.name, variant, budget: 'errorRateOverhead', limit, actual: i.estimate, status,
      interval: { low: i.low, high: i.high, confidence },
      errorCounts: { baseline, variant: counts },
    };
    if (status === 'inconclusive') check.roundsNeeded = roundsToDecideRate(i, limit, rounds);
    checks.push(check);
  }
  return checks;
}

/**
 * Rounds (in total) that would likely decide it if the rates held: a score interval's half-width falls as
 * 1/√(requests). Null when the estimate is on the budget or it would take more than MAX_ROUNDS.
 */
function roundsToDecideRate(i: ProportionInterval, limit: number, rounds: number): number | null {
  const margin = Math.abs(limit - i.estimate);
  const half = i.estimate < limit ? i.high - i.estimate : i.estimate - i.low;
  if (margin === 0 || rounds < 1) return null;
  const needed = Math.ceil(rounds * (half / margin) ** 2);
  return needed > MAX_ROUNDS ? null : Math.max(rounds + 1, needed);
}
