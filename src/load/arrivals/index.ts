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

  /**
   * @param rng xoroshiro128+ (Poisson gaps; null for even ones): pure-rand's generator and uniformFloat64, bit for
   * bit, written out here so that no double crosses a call — [s01, s00, s11, s10, last output] as int32 words.
   */
  private constructor(
    private readonly profile: RateProfile,
    private readonly rng: Int32Array | null,
  ) {}

  /** `rateHz` is constant's and poisson's rate; stages ignore it. `stream` separates workers' Poisson sequences. */
  static create(spec: ArrivalsSpec, rateHz: number, stream = 0): Arrivals {
    const profile = spec.kind === 'stages' ? new RateProfile(spec.startRateHz, spec.stages) : RateProfile.constant(rateHz);
    const poisson = spec.kind === 'poisson' || (spec.kind === 'stages' && spec.gaps === 'poisson');
    const seed = spec.kind === 'constant' ? 0 : spec.seed;
    const s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) | 0;
    const arrivals = new Arrivals(profile, poisson ? Int32Array.of(-1, ~s, s, 0, 0) : null); // pure-rand's xoroshiro128plus(s)
    arrivals.step(poisson ? 1 : 0); // the first arrival: at x = 0 (even gaps), after one exponential gap (Poisson)
    return arrivals;
  }

  next(): void {
    this.step(1);
  }

  /**
   * Moves `count` (0 or 1) arrivals on. Doubles travel in fields, not arguments or return values: a double passed
   * to or returned from a call V8 does not inline is boxed (16 B per arrival; bench/micro/arrivals-alloc.ts).
   */
  private step(count: number): void {
    const rng = this.rng;
    if (count > 0) {
      if (rng === null) this.x += 1;
      else {
        // a unit-rate exponential gap: −ln(1 − U), U uniform in [0, 1) from 26 + 27 random bits (uniformFloat64)
        xoroshiro128plusNext(rng);
        const high = (rng[4] as number) & 0x3ffffff;
        xoroshiro128plusNext(rng);
        const low = (rng[4] as number) & 0x7ffffff;
        this.x += -Math.log(1 - (high * 1.4901161193847656e-8 + low * 1.1102230246251565e-16));
      }
    }
    const profile = this.profile;
    profile.x = this.x;
    profile.locate();
    this.atUs = Math.floor(profile.tUs); // Infinity stays Infinity
  }

  clone(): Arrivals {
    const copy = new Arrivals(this.profile.copy(), this.rng?.slice() ?? null);
    copy.x = this.x;
    copy.atUs = this.atUs;
    return copy;
  }

  /** Expected arrivals in [fromUs, toUs) µs from the start (the profile's integral, not this draw's). */
  expectedBetween(fromUs: number, toUs: number): number {
    return this.profile.expectedBetween(fromUs, toUs);
  }

}

/** xoroshiro128+ one step on, in place (pure-rand's next(), bit for bit): its 32-bit output in s[4]. */
function xoroshiro128plusNext(s: Int32Array): void {
  const s01 = s[0] as number;
  const s00 = s[1] as number;
  const s11 = s[2] as number;
  const s10 = s[3] as number;
  s[4] = (s00 + s10) | 0;
  const a0 = s10 ^ s00;
  const a1 = s11 ^ s01;
  s[1] = (s00 << 24) ^ (s01 >>> 8) ^ a0 ^ (a0 << 16);
  s[0] = (s01 << 24) ^ (s00 >>> 8) ^ a1 ^ ((a1 << 16) | (a0 >>> 16));
  s[3] = (a1 << 5) ^ (a0 >>> 27);
  s[2] = (a0 << 5) ^ (a1 >>> 27);
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
