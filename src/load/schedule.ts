/**
 * The run's time windows and the workers' shares: pure integer arithmetic, no clocks. When requests are intended
 * is arrivals/'s (constant, poisson, stages). All times are integer microseconds on one clock (the load loop
 * uses its own `performance.now()` µs).
 */

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
