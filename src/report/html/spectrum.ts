import { decodeHistogram } from '../../histograms/index.js';
import { axis, legend, msOf, type ChartOption, type ChartSpec } from './chart.js';

/**
 * The percentile spectrum as HdrHistogram's plotter draws it: latency against percentile on a log axis of
 * 1/(1−q), so p90, p99, p99.9 and p99.99 are evenly spaced and the tail gets the room it deserves.
 */

/** The deepest percentile plotted: p99.99, i.e. 1/(1−q) = 10⁴. */
export const SPECTRUM_MAX_X = 10_000;
const POINTS_PER_DECADE = 25;

/** x = 1/(1−q) → the percentile label HdrHistogram's plots use ("99.9%"). */
export function percentileLabel(x: number): string {
  const q = 100 * (1 - 1 / x);
  return `${Number(q.toFixed(4))}%`;
}

/** Where the curve is sampled: an even log grid from q = 0 to p99.99, plus p50 and p75 (x = 2, 4) exactly. */
const GRID_X: readonly number[] = [
  ...Array.from({ length: Math.round(Math.log10(SPECTRUM_MAX_X) * POINTS_PER_DECADE) + 1 }, (_, i) => Number((10 ** (i / POINTS_PER_DECADE)).toPrecision(6))),
  2, 4,
].sort((a, b) => a - b);

/**
 * [1/(1−q), latency ms] of an encoded histogram (µs), from q = 0 (the minimum) to p99.99: each value is the
 * histogram's own `getValueAtPercentile`, so the curve passes through exactly the p50, p90, p99, p99.9 the
 * tables report. Empty for an empty histogram.
 */
export function spectrumPoints(encodedUs: string): [number, number][] {
  const h = decodeHistogram(encodedUs);
  if (h.totalCount === 0) return [];
  return GRID_X.map((x) => [x, msOf(h.getValueAtPercentile(x === 1 ? 0 : 100 * (1 - 1 / x)))]);
}

export interface SpectrumCurve {
  name: string;
  color: string;
  /** Compressed base64 HDR histogram, µs. */
  histogram: string;
  /** Drawn dashed (e.g. the service time beside the latency, or a baseline beside its candidate). */
  dashed?: boolean;
}

/** The percentiles marked with a dot on every curve: p50, p90, p99, p99.9, p99.99 (the figures of the tables). */
const MARKED_X = new Set([2, 10, 100, 1000, 10_000]);

export function spectrumChart(id: string, title: string, caption: string, curves: SpectrumCurve[]): ChartSpec {
  const option: ChartOption = {
    legend: legend({ top: 30, left: 8, right: undefined }),
    grid: { left: 70, right: 30, top: 70, bottom: 60 },
    xAxis: axis('percentile (log scale of 1/(1−q))', {
      type: 'log', logBase: 10, min: 1, max: SPECTRUM_MAX_X, nameGap: 32,
      axisLabel: { color: '#333', formatter: (x: number) => percentileLabel(x) },
      minorTick: { show: true }, minorSplitLine: { show: true, lineStyle: { color: '#f3f3f3' } },
    }) as ChartOption['xAxis'],
    // Log latency too: the body (tenths of a ms) and the tail (ms) both stay readable.
    yAxis: axis('latency (ms, log scale)', {
      type: 'log', logBase: 10, nameGap: 48,
      // from the decade below the fastest value, not ECharts' default of one more
      min: (extent: { min: number }) => 10 ** Math.floor(Math.log10(Math.max(extent.min, 0.001))),
      minorTick: { show: true }, minorSplitLine: { show: true, lineStyle: { color: '#f3f3f3' } },
    }) as ChartOption['yAxis'],
    series: curves.map((c) => ({
      type: 'line',
      name: c.name,
      data: spectrumPoints(c.histogram).map(([x, y]) => (MARKED_X.has(x) ? [x, y] : { value: [x, y], symbol: 'none' })),
      symbol: c.dashed === true ? 'emptyCircle' : 'circle',
      symbolSize: 6,
      showAllSymbol: true,
      color: c.color,
      lineStyle: { width: c.dashed === true ? 1.5 : 2.2, type: c.dashed === true ? 'dashed' : 'solid', color: c.color },
    })),
  };
  return { id, title, caption, option, height: 400 };
}
