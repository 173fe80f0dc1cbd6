import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countInWindow, firstIndexAtOrAfter, intendedUs, loadWindow, phaseOffsetUs, shareOf } from '../../src/load/schedule.js';

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

  it('puts rate × window (±1) intended sends in any window', () => {
    fc.assert(fc.property(start, rate, fc.integer({ min: 0, max: 1e10 }), fc.integer({ min: 0, max: 1e8 }), (s, r, from, len) => {
      const n = countInWindow(s, r, s + from, s + from + len);
      expect(Math.abs(n - (r * len) / 1e6)).toBeLessThanOrEqual(1 + 1e-9 * r * len);
    }));
  });

  it('finds the first index at or after a time', () => {
    fc.assert(fc.property(start, rate, fc.integer({ min: -1e6, max: 1e10 }), (s, r, d) => {
      const k = firstIndexAtOrAfter(s, r, s + d);
      expect(intendedUs(s, r, k)).toBeGreaterThanOrEqual(s + d);
      if (k > 0) expect(intendedUs(s, r, k - 1)).toBeLessThan(s + d);
    }));
  });

  it('counts exactly by enumeration on small windows', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 50_000 }), fc.integer({ min: 0, max: 5e5 }), fc.integer({ min: 0, max: 5e4 }), (s, r, from, len) => {
      let enumerated = 0;
      for (let k = 0; intendedUs(s, r, k) < s + from + len; k++) if (intendedUs(s, r, k) >= s + from) enumerated++;
      expect(countInWindow(s, r, s + from, s + from + len)).toBe(enumerated);
    }), { numRuns: 50 });
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
