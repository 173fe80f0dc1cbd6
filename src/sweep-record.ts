import type { Scenario } from './config/schema.js';
import type { Protocol, VariantName } from './protocols.js';

/**
 * The sweep document (sweep.json, `meshbench sweep`): per protocol and variant, every rate step measured, how
 * each was judged, and the knee — the highest rate that held the P99 budget before one broke. Reports
 * (report/sweep.ts) are pure functions of it; the functions here are the sweep's decisions, kept pure so they
 * are tested on their own.
 */
export const SWEEP_SCHEMA_VERSION = 1;

/** holds: the p99's whole interval within the budget, valid, errors within validity.maxErrorRate; breaks: any of them beyond. */
export type StepOutcome = 'holds' | 'breaks' | 'undecided';

export interface SweepStep {
  rateHz: number;
  /** Bisecting between the last step that held and the first that broke (sweep.refineSteps). */
  refinement: boolean;
  /** A second measurement at a rate whose first broke: a rate breaks only when every measurement of it broke. */
  repeat: boolean;
  achievedRateHz: number;
  count: number;
  errors: number;
  errorRate: number;
  lateShare: number;
  p50Us: number;
  p99Us: number;
  /** The p99's confidence interval (the verdict's method, over the step's 1 s blocks); null: too few samples. */
  p99IntervalUs: { low: number; high: number; confidence: number } | null;
  outcome: StepOutcome;
  /** Why it broke or was undecided (empty when it held). */
  reason: string;
}

/**
 * Where a variant's knee lies: it held at every step up to `holdsUpToHz` and broke at `breaksAtHz` (undecided
 * steps between them). Null ends: no step held (the knee is below the first) / none broke up to sweep.maxRateHz.
 */
export interface Knee {
  holdsUpToHz: number | null;
  breaksAtHz: number | null;
}

export interface SweepVariant {
  steps: SweepStep[];
  knee: Knee;
}

export interface SweepProtocol {
  name: Protocol;
  variants: Record<VariantName, SweepVariant>;
}

export interface SweepDocument {
  kind: 'meshbench-sweep';
  schemaVersion: typeof SWEEP_SCHEMA_VERSION;
  tool: { name: 'meshbench'; version: string };
  scenarioPath: string;
  scenario: Scenario;
  startedAt: string;
  finishedAt: string;
  environment: { kind: string; nodeVersion: string; cpus: number; variants: VariantName[]; facts: Record<string, unknown> };
  /** The P99 budget every step was held to (ms). */
  p99BudgetMs: number;
  protocols: SweepProtocol[];
  interrupted?: boolean;
}

/** The rates a sweep steps through, in order: start, then + step or × factor, up to max. */
export function sweepRates(sweep: NonNullable<Scenario['sweep']>): number[] {
  const rates: number[] = [];
  for (let r = sweep.startRateHz; r <= sweep.maxRateHz * (1 + 1e-9) && rates.length < 1000; ) {
    rates.push(Math.round(r * 1000) / 1000);
    r = sweep.stepFactor !== undefined ? r * sweep.stepFactor : r + (sweep.stepRateHz ?? sweep.maxRateHz);
  }
  return rates;
}

/** How one step is judged: what broke it (errors, invalidity, the p99) or whether its p99's interval held. */
export function judgeStep(
  step: Pick<SweepStep, 'errorRate' | 'p99Us' | 'p99IntervalUs' | 'count'>,
  budgetUs: number,
  maxErrorRate: number,
  invalid: readonly string[],
): { outcome: StepOutcome; reason: string } {
  if (step.count === 0) return { outcome: 'breaks', reason: 'no successful response' };
  if (step.errorRate > maxErrorRate) return { outcome: 'breaks', reason: `errors ${(step.errorRate * 100).toFixed(2)} % > ${(maxErrorRate * 100).toFixed(2)} %` };
  if (invalid.length > 0) return { outcome: 'breaks', reason: invalid.join('; ') };
  const interval = step.p99IntervalUs ?? { low: step.p99Us, high: step.p99Us };
  if (interval.low > budgetUs) return { outcome: 'breaks', reason: `p99 above the budget (interval ${ms(interval.low)}–${ms(interval.high)} ms)` };
  if (interval.high <= budgetUs) return { outcome: 'holds', reason: '' };
  return { outcome: 'undecided', reason: `p99 interval ${ms(interval.low)}–${ms(interval.high)} ms straddles the budget` };
}

/**
 * The knee of a variant's steps (in the order run; refinements and repeats included): see Knee. A rate breaks when
 * every measurement of it broke (one stall of a shared machine does not end a sweep: the sweep measures a broken
 * rate again), holds when one of them held, and is undecided otherwise.
 */
export function kneeOf(steps: readonly Pick<SweepStep, 'rateHz' | 'outcome'>[]): Knee {
  const byRate = new Map<number, StepOutcome[]>();
  for (const s of steps) byRate.set(s.rateHz, [...(byRate.get(s.rateHz) ?? []), s.outcome]);
  const sorted = [...byRate]
    .map(([rateHz, outcomes]) => ({ rateHz, outcome: outcomes.every((o) => o === 'breaks') ? 'breaks' : outcomes.includes('holds') ? 'holds' : 'undecided' }))
    .sort((a, b) => a.rateHz - b.rateHz);
  const firstBreak = sorted.find((s) => s.outcome === 'breaks');
  const below = sorted.filter((s) => firstBreak === undefined || s.rateHz < firstBreak.rateHz);
  // Held at every decided step below: the highest step that held with no break beneath it.
  const held = below.filter((s) => s.outcome === 'holds');
  return { holdsUpToHz: held.length > 0 ? (held[held.length - 1] as { rateHz: number }).rateHz : null, breaksAtHz: firstBreak?.rateHz ?? null };
}

/** The next rate to bisect at between a knee's ends, or null when it is bracketed as narrowly as `minGapHz`. */
export function nextRefinement(knee: Knee, minGapHz: number): number | null {
  if (knee.holdsUpToHz === null || knee.breaksAtHz === null) return null;
  if (knee.breaksAtHz - knee.holdsUpToHz <= minGapHz) return null;
  return Math.round((knee.holdsUpToHz + knee.breaksAtHz) / 2);
}

/**
 * A variant's capacity against the baseline's: the change of `holdsUpToHz` (point), and the range the brackets
 * allow (the candidate's knee anywhere in [holds, breaks), the baseline's too). Null when either is unbracketed.
 */
export function capacityChange(candidate: Knee, baseline: Knee): { change: number; low: number; high: number } | null {
  const c = candidate, b = baseline;
  if (c.holdsUpToHz === null || b.holdsUpToHz === null || c.breaksAtHz === null || b.breaksAtHz === null) return null;
  return { change: c.holdsUpToHz / b.holdsUpToHz - 1, low: c.holdsUpToHz / b.breaksAtHz - 1, high: c.breaksAtHz / b.holdsUpToHz - 1 };
}

function ms(us: number): string {
  return (us / 1000).toFixed(us < 10_000 ? 3 : 1);
}
