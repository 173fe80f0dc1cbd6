import tQuantileOf from '@stdlib/stats-base-dists-t-quantile';
import { quantileSorted, sampleVariance } from 'simple-statistics';
import type { FigureInterval } from '../result.js';

/**
 * Intervals for the figures meshbench compares, and the decisions made on them.
 *
 * A figure (a variant's p99, the meshed − unmeshed overhead, a regression between two runs) is uncertain
 * for two reasons, and the interval is the wider of the two intervals that measure them:
 *
 * - Between rounds — the machine drifted (a neighbour's load, CPU frequency): Student's t over the figure
 *   computed per round, paired (each round's meshed against the same round's unmeshed, which ran right
 *   before or after it): estimate ± t(R−1) · s / √R. Rounds are the independent units, and with few of
 *   them only t is honest — with 3 rounds t is 4.30, not 1.96. (A bootstrap over 3 rounds has 10 distinct
 *   resamples; on the noisier model in test/unit — drift between rounds — it put 0 outside 16 % of A/A
 *   overhead intervals at a claimed 5 %.) Two results (`compare`) combine as Welch's t.
 * - Within rounds — which requests happened to be slow: the within-round bootstrap (bootstrap.ts: time
 *   blocks and requests resampled, rounds held fixed), percentile interval, which keeps the skew tail
 *   figures have. It is the floor when per-round figures agree by chance (s from 2 degrees of freedom can
 *   be tiny) and the whole story when there is one round.
 *
 * Measured on the seeded noise model (test/unit/verdict-calibration.test.ts) this covers the true figure at
 * least as often as it claims (2–4 % A/A misses at a claimed 5 %); the subtler combination
 * √(within² + t²·τ²/R), τ² the between-round variance beyond within-round noise, was narrower but did not
 * (6–11 % misses).
 */

/** The per-round values of one result's figure, and whether running more rounds of it is possible. */
export interface RoundSpread {
  perRound: readonly number[];
  /** False for a stored baseline: `compare` cannot add rounds to it. */
  scales: boolean;
}

export interface BetweenTerm {
  /** Sample variance of the per-round figure (unit²); 0 with fewer than 2 rounds. */
  variance: number;
  rounds: number;
  scales: boolean;
}

/**
 * Two-sided Student's t quantile for confidence `confidence` and `df` degrees of freedom (df need not be an
 * integer: Welch's df rarely is).
 */
export function tQuantile(confidence: number, df: number): number {  return tQuantileOf(1 - (1 - confidence) / 2, df);
}

/** Student's t with this many degrees of freedom is the standard normal to 9 significant digits. */
const NORMAL_DF = 1e9;

/** Two-sided normal quantile for `confidence` (1.96 at 0.95). */
export function normalQuantile(confidence: number): number {
  return tQuantile(confidence, NORMAL_DF);
}

export function betweenTerm(spread: RoundSpread): BetweenTerm {
  const values = spread.perRound.filter(Number.isFinite);
  return { variance: values.length < 2 ? 0 : sampleVariance(values), rounds: values.length, scales: spread.scales };
}

/**
 * Half-width of the between-round t interval: t · √(Σ s²/R) over the terms with at least 2 rounds, with
 * Welch–Satterthwaite degrees of freedom when there are two. Rounds of scaling terms are multiplied by
 * `growth` (for the rounds-needed estimate). 0 when no term has 2 rounds.
 */
export function roundHalfWidth(between: readonly BetweenTerm[], confidence: number, growth = 1): number {
  let se2 = 0;
  let dfDenominator = 0;
  let fewest = Infinity;
  for (const b of between) {
    if (b.rounds < 2) continue;
    const rounds = b.scales ? b.rounds * growth : b.rounds;
    const v = b.variance / rounds;
    se2 += v;
    dfDenominator += (v * v) / (rounds - 1);
    fewest = Math.min(fewest, rounds - 1);
  }
  if (!(se2 > 0)) return 0;
  const welch = (se2 * se2) / dfDenominator;
  // Welch's df lies between the smallest term's and the sum; where floating point loses it, take the smallest.
  const df = Number.isFinite(welch) && welch >= fewest ? welch : fewest;
  return tQuantile(confidence, df) * Math.sqrt(se2);
}

/** Finite values of a replicate array, sorted. */
export function finiteSorted(values: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== undefined && Number.isFinite(v)) out.push(v);
  }
  return out.sort((a, b) => a - b);
}

/**
 * The interval of a figure at `confidence` (two-sided): from the point estimate (computed on the merged
 * data), its within-round bootstrap replicates, and its between-round terms. Null when there are no
 * replicates (no interval histograms to resample).
 *
 * `runNoise` (sd, the figure's unit): what persists through a whole run and so varies only between runs —
 * neither term above can see it (every round of the run shares it). Measured with A/A runs on the 2-core
 * class (README, "The verdict"): at P99 the differences of identical paths spread between runs by up to
 * ≈ 0.09 ms (sd) more than their within-run intervals allowed, and without this term 3 of 9 A/A runs failed.
 * It is added in quadrature: each side of the interval becomes √(side² + (z·runNoise)²).
 */
export function figureInterval(estimate: number, replicates: ArrayLike<number>, between: readonly BetweenTerm[], confidence: number, runNoise = 0): FigureInterval | null {
  const sorted = finiteSorted(replicates);
  if (sorted.length === 0) return null;
  const alpha = 1 - confidence;
  const lowDev = Math.max(0, estimate - quantileSorted(sorted, alpha / 2));
  const highDev = Math.max(0, quantileSorted(sorted, 1 - alpha / 2) - estimate);
  const half = roundHalfWidth(between, confidence);
  const run = runNoise > 0 ? normalQuantile(confidence) * runNoise : 0;
  return {
    estimate,
    low: estimate - Math.hypot(Math.max(lowDev, half), run),
    high: estimate + Math.hypot(Math.max(highDev, half), run),
    confidence,
    withinLowDev: lowDev,
    withinHighDev: highDev,
    between: between.map((b) => ({ variance: b.variance, rounds: b.rounds, scales: b.scales })),
    ...(run > 0 ? { runHalfWidth: run } : {}),
  };
}

export type Decision = 'pass' | 'fail' | 'inconclusive';

/** Pass when the whole interval is within the limit (≤), fail when the whole interval is beyond it. */
export function decide(interval: FigureInterval, limit: number): Decision {
  if (interval.high <= limit) return 'pass';
  if (interval.low > limit) return 'fail';
  return 'inconclusive';
}

/** Whether the interval contains `value` (the A/A check: an overhead interval must contain 0). */
export function contains(interval: FigureInterval, value: number): boolean {
  return interval.low <= value && value <= interval.high;
}

export const MAX_ROUNDS = 10_000;

/**
 * How many rounds (in total, of the result that can run more) would likely decide an inconclusive check
 * if the estimate and the spreads stayed as they are: the within-round part shrinks as 1/√(data), the
 * between-round part as t(R−1)/√R; the run-to-run part not at all. Null when the estimate sits on the limit
 * or within the run-to-run part of it (no number of rounds would decide it), when no result can run more, or
 * when it would take more than MAX_ROUNDS.
 */
export function roundsToDecide(interval: FigureInterval, limit: number): number | null {
  const margin = Math.abs(limit - interval.estimate);
  const scaling = interval.between.filter((b) => b.scales);
  const run = interval.runHalfWidth ?? 0;
  if (margin <= run || scaling.length === 0) return null;
  const dev = interval.estimate < limit ? interval.withinHighDev : interval.withinLowDev;
  const rounds = Math.max(1, ...scaling.map((b) => b.rounds));
  const decides = (r: number) => {
    const growth = r / rounds;
    return Math.hypot(Math.max(dev / Math.sqrt(growth), roundHalfWidth(interval.between, interval.confidence, growth)), run) < margin;
  };
  if (!decides(MAX_ROUNDS)) return null;
  // The half-width falls as rounds grow: binary search for the first count that decides.
  let lo = rounds;
  let hi = MAX_ROUNDS;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (decides(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
