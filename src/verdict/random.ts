import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/**
 * A seeded random source for the verdict's resampling: same seed and stream name → same numbers, on every
 * machine, so the same result document always gets the same verdict. Uniforms come from pure-rand
 * (xoroshiro128+); the few continuous distributions the bootstrap needs are built on them here.
 */
export class Random {
  private readonly rng: RandomGenerator;
  private spareNormal: number | null = null;

  /** `stream` names an independent sequence under one seed (e.g. "http1/verdict"), stable across orders. */
  constructor(seed: number, stream = '') {
    this.rng = xoroshiro128plus(mix(seed, stream));
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.rng);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return uniformInt(this.rng, 0, n - 1);
  }

  /** Standard normal (Marsaglia's polar method; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    for (;;) {
      const u = 2 * this.float() - 1;
      const v = 2 * this.float() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spareNormal = v * f;
        return u * f;
      }
    }
  }

  /** Gamma(shape, 1) for shape ≥ 1 (Marsaglia & Tsang 2000, "A simple method for generating gamma variables"). */
  gamma(shape: number): number {
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.float();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) for a, b ≥ 1, as Gamma(a) ÷ (Gamma(a) + Gamma(b)). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }
}

/** A 32-bit seed from the user's seed and a stream name (FNV-1a over both). */
function mix(seed: number, stream: string): number {
  let h = 0x811c9dc5;
  const text = `${seed}/${stream}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
