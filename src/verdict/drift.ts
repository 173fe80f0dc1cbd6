import { tQuantile } from './statistics.js';

/** A trend over time: the slope of a least-squares line through the points, with its interval. */
export interface Trend {
  /** Change of y per unit of x. */
  slope: number;
  low: number;
  high: number;
  confidence: number;
  /** Points the line was fitted to. */
  n: number;
}

/**
 * Drift of a figure over a pilot's windows (the overhead, a proxy's RSS): the ordinary least-squares slope
 * with its Student t interval (n − 2 degrees of freedom). The interval treats the windows' residuals as
 * independent; noise that lasts longer than a window (a slow leak's sawtooth, a neighbour for an hour)
 * makes it too narrow, so a slope whose interval barely excludes 0 over a few windows is a hint, not proof.
 * Null with fewer than 3 points or when every x is the same.
 */
export function linearTrend(points: readonly { x: number; y: number }[], confidence: number): Trend | null {
  const usable = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const n = usable.length;
  if (n < 3) return null;
  let mx = 0, my = 0;
  for (const p of usable) {
    mx += p.x / n;
    my += p.y / n;
  }
  let sxx = 0, sxy = 0;
  for (const p of usable) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  let sse = 0;
  for (const p of usable) sse += (p.y - my - slope * (p.x - mx)) ** 2;
  const se = Math.sqrt(sse / (n - 2) / sxx);
  const half = tQuantile(confidence, n - 2) * se;
  return { slope, low: slope - half, high: slope + half, confidence, n };
}
