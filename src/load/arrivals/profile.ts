/**
 * A rate profile: the intended rate over time as segments of constant rate or linear ramps (k6's
 * ramping-arrival-rate), and its inverse. Λ(t) — the expected number of arrivals by t (µs from the schedule's
 * start) — is the integral of the rate; arrival x (a real count: the k-th even arrival, or the running sum of
 * unit exponential gaps for Poisson) is intended at Λ⁻¹(x). The segments live in typed arrays and the inverse
 * walks them with a cursor: nothing is allocated per arrival, and arrivals must be asked for in order.
 */
export interface Stage {
  /** 0: a step — the rate jumps to `targetRateHz` at once. */
  durationMs: number;
  targetRateHz: number;
}

export class RateProfile {
  /** Segment i starts at startUs[i] with rate r0[i], ends at startUs[i+1] with rate r1[i]; the last one never ends. */
  private readonly startUs: Float64Array;
  private readonly startCount: Float64Array;
  private readonly r0: Float64Array;
  private readonly r1: Float64Array;
  private readonly n: number;
  private cursor = 0;
  /**
   * locate()'s question and answer: fields, not an argument and a return value — a double passed to or returned
   * from a call that V8 does not inline is boxed (16 B).
   */
  x = 0;
  tUs = 0;

  /** `startRateHz`, then each stage ramps linearly to its target over its duration; the last target holds. */
  constructor(startRateHz: number, stages: readonly Stage[]) {
    const ramps = stages.filter((s) => s.durationMs > 0);
    const n = ramps.length + 1;
    this.n = n;
    this.startUs = new Float64Array(n);
    this.startCount = new Float64Array(n);
    this.r0 = new Float64Array(n);
    this.r1 = new Float64Array(n);
    let t = 0, count = 0, rate = startRateHz, i = 0;
    for (const s of stages) {
      if (s.durationMs <= 0) {
        rate = s.targetRateHz;
        continue;
      }
      const durUs = s.durationMs * 1000;
      this.startUs[i] = t;
      this.startCount[i] = count;
      this.r0[i] = rate;
      this.r1[i] = s.targetRateHz;
      count += ((rate + s.targetRateHz) / 2) * (durUs / 1e6);
      t += durUs;
      rate = s.targetRateHz;
      i++;
    }
    this.startUs[i] = t;
    this.startCount[i] = count;
    this.r0[i] = rate;
    this.r1[i] = rate;
  }

  /** An independent copy (the segments are shared: they never change; the cursor is not). */
  copy(): RateProfile {
    return Object.assign(Object.create(RateProfile.prototype) as RateProfile, this);
  }

  static constant(rateHz: number): RateProfile {
    return new RateProfile(rateHz, []);
  }

  /** Λ⁻¹(x) (see locate), returned. */
  timeOfUs(x: number): number {
    this.x = x;
    this.locate();
    return this.tUs;
  }

  /** Sets tUs to Λ⁻¹(x): µs from the start at which `x` arrivals are expected; Infinity when the rate ends at 0 before. */
  locate(): void {
    const x = this.x;
    let i = this.cursor;
    while (i + 1 < this.n && x >= (this.startCount[i + 1] as number)) i++;
    this.cursor = i;
    const c = (x - (this.startCount[i] as number)) * 1e6; // arrivals into the segment, × 1e6 (rate in Hz, time in µs)
    const r0 = this.r0[i] as number;
    const r1 = this.r1[i] as number;
    const t0 = this.startUs[i] as number;
    // Statements, not `r0 > 0 ? t0 + c / r0 : Infinity`: TurboFan gives that phi (a double and the Infinity
    // constant) a tagged representation and boxes the double — 16 B per arrival for constant profiles (Poisson).
    if (i + 1 === this.n) {
      if (r0 > 0) this.tUs = t0 + c / r0;
      else this.tUs = Infinity;
    } else if (c <= 0) this.tUs = t0; // the segment's first instant (a ramp up from rate 0 would divide 0 by 0)
    else if (r0 === r1) this.tUs = t0 + c / r0;
    else {
      // r0·τ + a·τ² = c with a = (r1 − r0) / (2T): the root in [0, T], in the form that stays exact as a → 0.
      const a = (r1 - r0) / (2 * ((this.startUs[i + 1] as number) - t0));
      this.tUs = t0 + (2 * c) / (r0 + Math.sqrt(Math.max(0, r0 * r0 + 4 * a * c)));
    }
  }

  /** Expected arrivals in [fromUs, toUs) (µs from the start). */
  expectedBetween(fromUs: number, toUs: number): number {
    return this.countAt(toUs) - this.countAt(fromUs);
  }

  /** The highest rate anywhere in the profile. */
  peakRateHz(): number {
    let peak = 0;
    for (let i = 0; i < this.n; i++) peak = Math.max(peak, this.r0[i] as number, this.r1[i] as number);
    return peak;
  }

  /** Λ(t), without moving the cursor. */
  countAt(tUs: number): number {
    if (tUs <= 0) return 0;
    let i = 0;
    while (i + 1 < this.n && tUs >= (this.startUs[i + 1] as number)) i++;
    const tau = tUs - (this.startUs[i] as number);
    const r0 = this.r0[i] as number;
    const slope = i + 1 === this.n ? 0 : ((this.r1[i] as number) - r0) / ((this.startUs[i + 1] as number) - (this.startUs[i] as number));
    return (this.startCount[i] as number) + (r0 * tau + (slope * tau * tau) / 2) / 1e6;
  }
}
