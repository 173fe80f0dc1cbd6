/**
 * The open-loop schedule and the run's time windows: pure integer arithmetic, no clocks.
 *
 * Request k of a schedule that starts at `startUs` with rate `rateHz` is intended at
 *   startUs + floor(k · 1e6 / rateHz)
 * computed from k directly, so nothing accumulates: request 10^9 is exactly as on time as request 1.
 * All times are integer microseconds on one clock (the load loop uses its own `performance.now()` µs).
 */

export function intendedUs(startUs: number, rateHz: number, k: number): number {
  return startUs + Math.floor((k * 1e6) / rateHz);
}

/** The smallest k ≥ 0 whose intended time is at or after `tUs`. */
export function firstIndexAtOrAfter(startUs: number, rateHz: number, tUs: number): number {
  const offsetUs = tUs - startUs;
  if (offsetUs <= 0) return 0;
  // floor(k·1e6/r) ≥ d ⇔ k·1e6/r ≥ d ⇔ k ≥ d·r/1e6 (d integer); the estimate is exact up to rounding,
  // which the two loops below settle.
  let k = Math.max(0, Math.ceil((offsetUs * rateHz) / 1e6));
  while (k > 0 && intendedUs(startUs, rateHz, k - 1) >= tUs) k--;
  while (intendedUs(startUs, rateHz, k) < tUs) k++;
  return k;
}

/** How many intended sends fall in [fromUs, toUs). */
export function countInWindow(startUs: number, rateHz: number, fromUs: number, toUs: number): number {
  if (toUs <= fromUs) return 0;
  return firstIndexAtOrAfter(startUs, rateHz, toUs) - firstIndexAtOrAfter(startUs, rateHz, fromUs);
}

/** The phases of one load job, on the loop's clock: warm-up [startUs, measureStartUs), measured [measureStartUs, measureEndUs). */
export interface LoadWindow {
  startUs: number;
  measureStartUs: number;
  measureEndUs: number;
}

export function loadWindow(startUs: number, warmupMs: number, durationMs: number): LoadWindow {
  const measureStartUs = startUs + Math.round(warmupMs * 1000);
  return { startUs, measureStartUs, measureEndUs: measureStartUs + Math.round(durationMs * 1000) };
}

/**
 * Integer share `index` of `total` split over `parts`: floor(total/parts), plus one for the first
 * `total % parts` shares. The shares add up to `total`.
 */
export function shareOf(total: number, parts: number, index: number): number {
  const base = Math.floor(total / parts);
  return base + (index < total % parts ? 1 : 0);
}

/**
 * Offset of worker `index`'s open-loop schedule when `workers` workers share `totalRateHz` equally:
 * each runs at totalRateHz/workers, shifted by index/totalRateHz, so the union is (to within 1 µs) the
 * evenly spaced schedule at totalRateHz instead of `workers` requests in a burst at every tick.
 */
export function phaseOffsetUs(index: number, totalRateHz: number): number {
  return totalRateHz > 0 ? Math.floor((index * 1e6) / totalRateHz) : 0;
}
