import type { VariantName } from '../protocols.js';
import type { FigureInterval, LatencySummaryUs, OverheadIntervals, PercentileIntervals, ProtocolEstimates, ProtocolResult } from '../result.js';
import type { Pairing } from '../config/schema.js';
import { bootstrap, leaveOneRoundOut, pairedBootstrap, roundPercentiles, type LeftOut, type Replicates } from './bootstrap.js';
import { collectSamples } from './samples.js';
import { betweenTerm, figureInterval, type BetweenTerm } from './statistics.js';

/** The statistics settings a verdict is computed with (scenario `statistics`). */
export interface StatisticsSettings {
  confidence: number;
  resamples: number;
  seed: number;
  /** How the result's variants were paired (scenario `pairing`; documents without it: rounds). */
  pairing: Pairing;
  /** Run-to-run sd (ms) of tail overheads that a run cannot see in itself (scenario `statistics.runNoiseMs`). */
  runNoiseMs: number;
}

export const DEFAULT_STATISTICS: StatisticsSettings = { confidence: 0.95, resamples: 2000, seed: 1, pairing: 'rounds', runNoiseMs: 0.05 };

export const METHODS: Record<Pairing, string> = {
  time:
    'the wider of: Student t (rounds − 1 degrees of freedom; Welch for two results) over the per-round figures, paired, for an ' +
    "overhead, and over the delete-a-round jackknife pseudo-values of the merged figure for a variant's own percentile, and the " +
    'paired time-block bootstrap percentile interval (the variants ran side by side; (round, 1 s block) units resampled with ' +
    'replacement, the same draw for every variant, each figure recomputed on the merged drawn blocks); tail overheads (p99, p99.9) ' +
    'then widened in quadrature by z × statistics.runNoiseMs (the run-to-run spread no run sees in itself)',
  rounds:
    'the wider of: Student t (rounds − 1 degrees of freedom; Welch for two results) over the paired per-round figures for an ' +
    "overhead, and over the delete-a-round jackknife pseudo-values of the merged figure for a variant's own percentile, " +
    'and the within-round bootstrap percentile interval (1 s time blocks and requests resampled, rounds held fixed); tail overheads ' +
    '(p99, p99.9) then widened in quadrature by z × statistics.runNoiseMs (the run-to-run spread no run sees in itself)',
};

/** Everything the intervals of one protocol's figures are computed from. */
export interface ProtocolData {
  protocol: ProtocolResult;
  /** Rounds in which every variant has data: the units of the between-round term. */
  rounds: number;
  replicates: Replicates;
  /** Per variant: its merged p50 / p99 / p99.9 and the same with each round left out (the jackknife's input). */
  leftOut: Map<VariantName, LeftOut>;
  /** Per variant, per round number: exact p50 / p99 / p99.9 of that round. */
  perRound: Map<VariantName, Map<number, number[]>>;
  /** statistics.runNoiseMs, in µs. */
  runNoiseUs: number;
}

export function protocolData(protocol: ProtocolResult, settings: StatisticsSettings, stream: string = protocol.name): ProtocolData {
  const time = settings.pairing === 'time';
  const samples = collectSamples(protocol.variants, time);
  const options = { resamples: settings.resamples, seed: settings.seed, stream };
  return {
    protocol,
    rounds: sharedRounds(protocol),
    replicates: time ? pairedBootstrap(samples, options) : bootstrap(samples, options),
    leftOut: leaveOneRoundOut(samples),
    perRound: roundPercentiles(samples),
    runNoiseUs: settings.runNoiseMs * 1000,
  };
}

/** How many round numbers every variant of the protocol recorded responses or errors in. */
function sharedRounds(protocol: ProtocolResult): number {
  const perVariant = Object.values(protocol.variants).map((v) => new Set(v.rounds.filter((r) => r.count + r.errors > 0).map((r) => r.round)));
  const [first, ...rest] = perVariant;
  return first === undefined ? 0 : [...first].filter((round) => rest.every((s) => s.has(round))).length;
}

/** 0 = p50, 1 = p99, 2 = p99.9 (the order of PERCENTILES). */
export type PercentileIndex = 0 | 1 | 2;

export type FigureKey =
  | { kind: 'latency'; variant: VariantName; index: PercentileIndex }
  | { kind: 'overhead'; variant: VariantName; baseline: VariantName; index: PercentileIndex }
  | { kind: 'ratio'; variant: VariantName; baseline: VariantName };

/** One figure of one result: its estimate, within-round replicates, between-round units and run-to-run noise. */
export interface FigureData {
  estimate: number;
  replicates: Float64Array;
  /**
   * Per round, the unit Student's t runs over (statistics.ts).
   * - A variant's percentile: the round's jackknife pseudo-value R·θ − (R−1)·θ₍₋ᵣ₎, θ the percentile of all R
   *   rounds' merged histograms and θ₍₋ᵣ₎ the same with round r left out. Their variance ÷ R is the jackknife
   *   variance of θ itself. The percentile of one 3 s round is heavy-tailed (a stall puts a round's P99 at
   *   several ms), and the spread of those measured the mean of per-round P99s, not the estimate: on 11
   *   quickstarts the jackknife's standard error of each P99 matched the run-to-run sd (http1: 0.11 vs 0.11 ms
   *   unmeshed, 0.21 vs 0.20 meshed) where the per-round t had been up to twice as wide.
   * - An overhead or ratio: the round's own paired figure (meshed − unmeshed of the same round), which
   *   cancels a stall both variants met. Pseudo-values of the overhead cancel it less well: on 20 stored A/A
   *   quickstarts they widened the P99 half-widths from ±0.10–0.23 to ±0.10–0.42 ms.
   */
  perRound: number[];
  /** sd (µs) of what persists through a run: the run's noise at tail overheads (p99, p99.9), else 0. */
  runNoiseUs: number;
}

function pick(l: LatencySummaryUs, index: PercentileIndex): number {
  return index === 0 ? l.p50 : index === 1 ? l.p99 : l.p999;
}

/** Jackknife pseudo-values of one percentile of a variant, one per round. */
function pseudoValues(left: LeftOut, index: number): number[] {
  const n = left.byRound.size;
  const all = left.all[index] ?? NaN;
  return [...left.byRound.values()].map((out) => n * all - (n - 1) * (out[index] ?? NaN));
}

export function figureData(d: ProtocolData, key: FigureKey): FigureData | null {
  const v = d.protocol.variants[key.variant];
  const reps = d.replicates.get(key.variant);
  const rounds = d.perRound.get(key.variant);
  const left = d.leftOut.get(key.variant);
  if (v === undefined || reps === undefined || rounds === undefined || left === undefined) return null;
  if (key.kind === 'latency') {
    return { estimate: pick(v.latencyUs, key.index), replicates: reps[key.index] ?? new Float64Array(), perRound: pseudoValues(left, key.index), runNoiseUs: 0 };
  }
  const b = d.protocol.variants[key.baseline];
  const baseReps = d.replicates.get(key.baseline);
  const baseRounds = d.perRound.get(key.baseline);
  if (b === undefined || baseReps === undefined || baseRounds === undefined) return null;
  const index = key.kind === 'ratio' ? 1 : key.index;
  const combine = key.kind === 'ratio' ? (x: number, y: number) => (y > 0 ? x / y : NaN) : (x: number, y: number) => x - y;
  const mine = reps[index] ?? new Float64Array();
  const theirs = baseReps[index] ?? new Float64Array();
  const perRound: number[] = [];
  // Paired by round number: each round's variant against the same round's baseline.
  for (const [round, r] of rounds) {
    const base = baseRounds.get(round);
    if (base !== undefined) perRound.push(combine(r[index] ?? NaN, base[index] ?? NaN));
  }
  return {
    estimate: combine(pick(v.latencyUs, index as PercentileIndex), pick(b.latencyUs, index as PercentileIndex)),
    replicates: mine.map((x, i) => combine(x, theirs[i] ?? NaN)),
    perRound,
    runNoiseUs: key.kind === 'overhead' && key.index > 0 ? d.runNoiseUs : 0,
  };
}

/**
 * The between-round term of a figure, for both pairings. Time-paired rounds still differ by what each
 * variant's own processes did in that round (an echo's heap, its caches): the paired block bootstrap alone,
 * which mixes blocks across rounds, missed that — on the noise model 11–21 % of A/A runs failed at a
 * claimed 5 % — and with the t term over the per-round paired figures 1–2.5 % did (verdict-calibration.test).
 */
function between(f: FigureData, scales: boolean): BetweenTerm {
  return betweenTerm({ perRound: f.perRound, scales });
}

/** The interval of a figure of one result; a latency (never negative) has its low end clamped at 0. */
export function intervalOf(f: FigureData | null, confidence: number, nonNegative = false): FigureInterval | null {
  if (f === null) return null;
  const i = figureInterval(f.estimate, f.replicates, [between(f, true)], confidence, f.runNoiseUs);
  return i !== null && nonNegative && i.low < 0 ? { ...i, low: 0 } : i;
}

/**
 * The interval of `candidate − baseline` for the same figure in two independent results (`compare`):
 * replicates subtract pairwise (independent streams), and each result brings its own between-round term.
 */
export function differenceInterval(candidate: FigureData | null, baseline: FigureData | null, confidence: number): FigureInterval | null {
  if (candidate === null || baseline === null) return null;
  const replicates = candidate.replicates.map((x, i) => x - (baseline.replicates[i] ?? NaN));
  return figureInterval(candidate.estimate - baseline.estimate, replicates, [between(candidate, true), between(baseline, false)], confidence, Math.hypot(candidate.runNoiseUs, baseline.runNoiseUs));
}

/** Intervals of every compared figure of a protocol: p50 / p99 / p99.9 per variant, overhead and p99 ratio. */
export function protocolEstimates(d: ProtocolData, variants: readonly VariantName[], confidence: number): ProtocolEstimates {
  const baseline = variants[0] ?? '';
  const present = variants.filter((v) => d.protocol.variants[v] !== undefined);
  const percentiles = (f: (index: PercentileIndex) => FigureKey): PercentileIntervals => {
    const of = (index: PercentileIndex) => {
      const key = f(index);
      return intervalOf(figureData(d, key), confidence, key.kind === 'latency');
    };
    return { p50Us: of(0), p99Us: of(1), p999Us: of(2) };
  };
  const out: ProtocolEstimates = { protocol: d.protocol.name, variants: {}, overhead: {} };
  for (const variant of present) {
    out.variants[variant] = percentiles((index) => ({ kind: 'latency', variant, index }));
    if (variant === baseline || d.protocol.variants[baseline] === undefined) continue;
    const overhead: OverheadIntervals = {
      ...percentiles((index) => ({ kind: 'overhead', variant, baseline, index })),
      p99Ratio: intervalOf(figureData(d, { kind: 'ratio', variant, baseline }), confidence),
    };
    out.overhead[variant] = overhead;
  }
  return out;
}

