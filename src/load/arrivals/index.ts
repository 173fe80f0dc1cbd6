import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { RateProfile, type Stage } from './profile.js';

export { RateProfile, type Stage } from './profile.js';

/**
 * How an open loop's requests arrive (plain data: it crosses to the worker threads).
 * - constant: evenly spaced at `rateHz` (wrk2's schedule);
 * - poisson: independent arrivals at mean rate `rateHz` — exponential gaps from a seeded generator;
 * - stages: the rate ramps linearly (or steps, `durationMs: 0`) from `startRateHz` through each stage's target,
 *   then holds the last one (k6's ramping-arrival-rate); gaps even or Poisson.
 * Every kind is coordinated-omission corrected the same way: latency counts from the intended time.
 */
export type ArrivalsSpec =
  | { kind: 'constant' }
  | { kind: 'poisson'; seed: number }
  | { kind: 'stages'; startRateHz: number; stages: readonly Stage[]; gaps: 'even' | 'poisson'; seed: number };

/**
 * One loop's arrivals, in order: `atUs` is the current arrival's intended time in integer µs from the schedule's
 * start (non-decreasing; Infinity when no more follow), `next()` moves on. Allocation-free per arrival: the
 * position is a few numbers and a generator mutated in place. `clone()` (an independent copy at the same
 * position) allocates — the loop uses it once, at the end, for the arrivals it could not send.
 */
export class Arrivals {
  atUs = 0;
  /** The current arrival in Λ units (its index for even gaps; the running sum of exponential gaps for Poisson). */
  private x = 0;

  private constructor(
    private readonly profile: RateProfile,
    private readonly rng: RandomGenerator | null,
  ) {}

  /** `rateHz` is constant's and poisson's rate; stages ignore it. `stream` separates workers' Poisson sequences. */
  static create(spec: ArrivalsSpec, rateHz: number, stream = 0): Arrivals {
    const profile = spec.kind === 'stages' ? new RateProfile(spec.startRateHz, spec.stages) : RateProfile.constant(rateHz);
    const poisson = spec.kind === 'poisson' || (spec.kind === 'stages' && spec.gaps === 'poisson');
    const seed = spec.kind === 'constant' ? 0 : spec.seed;
    const arrivals = new Arrivals(profile, poisson ? xoroshiro128plus((seed ^ Math.imul(stream + 1, 0x9e3779b9)) | 0) : null);
    arrivals.step(poisson ? 1 : 0); // the first arrival: at x = 0 (even gaps), after one exponential gap (Poisson)
    return arrivals;
  }

  next(): void {
    this.step(1);
  }

  /**
   * Moves `count` (0 or 1) arrivals on. Doubles travel in fields, not return values: a double returned from a
   * call V8 does not inline is boxed (a 16 B allocation per arrival, measured with --trace-gc).
   */
  private step(count: number): void {
    const rng = this.rng;
    // a unit-rate exponential gap: −ln(1 − U), U uniform in [0, 1)
    if (count > 0) this.x += rng === null ? 1 : -Math.log(1 - uniformFloat64(rng));
    const profile = this.profile;
    profile.locate(this.x);
    this.atUs = Math.floor(profile.tUs); // Infinity stays Infinity
  }

  clone(): Arrivals {
    const copy = new Arrivals(this.profile.copy(), this.rng?.clone() ?? null);
    copy.x = this.x;
    copy.atUs = this.atUs;
    return copy;
  }

  /** Expected arrivals in [fromUs, toUs) µs from the start (the profile's integral, not this draw's). */
  expectedBetween(fromUs: number, toUs: number): number {
    return this.profile.expectedBetween(fromUs, toUs);
  }

}

/** The highest rate a spec reaches (the ticker's precision and the lanes' interleaving are set for it). */
export function peakRateHz(spec: ArrivalsSpec | undefined, rateHz: number): number {
  return spec?.kind === 'stages' ? new RateProfile(spec.startRateHz, spec.stages).peakRateHz() : rateHz;
}

/** Worker `index`'s share of `workers`: stages' rates divided among them (constant and poisson take rateHz / workers). */
export function workerShare(spec: ArrivalsSpec, workers: number): ArrivalsSpec {
  if (spec.kind !== 'stages') return spec;
  return { ...spec, startRateHz: spec.startRateHz / workers, stages: spec.stages.map((s) => ({ ...s, targetRateHz: s.targetRateHz / workers })) };
}
