import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateProfile } from '../../src/load/arrivals/index.js';
import { loadWindow, phaseOffsetUs, shareOf } from '../../src/load/schedule.js';

/** Constant arrival k of a schedule starting at s (arrivals/: request k at floor(k · 1e6 / rate), from k directly). */
const intendedUs = (s: number, r: number, k: number): number => s + Math.floor(RateProfile.constant(r).timeOfUs(k));

const start = fc.integer({ min: 0, max: 1e12 });
const rate = fc.oneof(fc.integer({ min: 1, max: 200_000 }), fc.double({ min: 0.5, max: 200_000, noNaN: true }));
const index = fc.integer({ min: 0, max: 1e9 });

describe('open-loop schedule', () => {
  it('starts at the start, with integer times', () => {
    fc.assert(fc.property(start, rate, index, (s, r, k) => {
      expect(intendedUs(s, r, 0)).toBe(s);
      expect(Number.isInteger(intendedUs(s, r, k))).toBe(true);
    }));
  });

  it('is monotone', () => {
    fc.assert(fc.property(start, rate, index, fc.integer({ min: 1, max: 1000 }), (s, r, k, step) => {
      expect(intendedUs(s, r, k + step)).toBeGreaterThanOrEqual(intendedUs(s, r, k));
      expect(intendedUs(s, r, k + 1)).toBeGreaterThanOrEqual(intendedUs(s, r, k));
    }));
  });

  it('does not drift: request k is within 1 µs of k/rate however large k is', () => {
    fc.assert(fc.property(start, rate, index, (s, r, k) => {
      const exactUs = (k * 1e6) / r;
      const offset = intendedUs(s, r, k) - s;
      expect(offset).toBeLessThanOrEqual(exactUs + 1e-6 * exactUs);
      expect(offset).toBeGreaterThan(exactUs - 1 - 1e-9 * exactUs);
    }));
    // a day at 10 kHz: the last request is exactly where it should be
    expect(intendedUs(0, 10_000, 864_000_000)).toBe(86_400_000_000);
  });

  it('staggers workers so their union is the evenly spaced schedule', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 100, max: 50_000 }), (workers, total) => {
      const times: number[] = [];
      for (let w = 0; w < workers; w++) {
        for (let k = 0; k < 50; k++) times.push(intendedUs(phaseOffsetUs(w, total), total / workers, k));
      }
      times.sort((a, b) => a - b);
      for (let i = 0; i < times.length; i++) {
        const even = Math.floor((i * 1e6) / total);
        expect(Math.abs((times[i] ?? 0) - even)).toBeLessThanOrEqual(1);
      }
    }));
  });
});

describe('windows and shares', () => {
  it('places warm-up before the measured window', () => {
    expect(loadWindow(1_000, 500, 2_000)).toEqual({ startUs: 1_000, measureStartUs: 501_000, measureEndUs: 2_501_000 });
    expect(loadWindow(0, 0, 1)).toEqual({ startUs: 0, measureStartUs: 0, measureEndUs: 1_000 });
  });

  it('splits integers into shares that differ by at most one and add up', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 64 }), (total, parts) => {
      const shares = Array.from({ length: parts }, (_, i) => shareOf(total, parts, i));
      expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
    }));
  });
});
