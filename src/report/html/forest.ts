import { axis, legend, OKABE_ITO, type ChartOption, type ChartSpec } from './chart.js';

/**
 * A forest plot: one row per check, its estimate as a dot and its interval as a bar, and the limit it is
 * judged against as a black tick. A check passes when the whole bar is on the good side of its tick, fails when
 * the whole bar is beyond it, and is undecided when the bar crosses it. Used for the budgets of a run and for
 * the changes of a comparison (the limit is then the tolerance).
 */
export interface ForestRow {
  label: string;
  estimate: number;
  /** Null when the figure had no interval (it was judged on the estimate alone). */
  interval: { low: number; high: number } | null;
  /** The limit (budget or tolerance), in the figure's unit; null for none. */
  limit: number | null;
  status: 'pass' | 'fail' | 'inconclusive';
}

/** Decision → dot: shape and colour both differ, so the plot reads without colour too. */
const DECISION = {
  pass: { symbol: 'circle', color: OKABE_ITO.bluishGreen },
  fail: { symbol: 'diamond', color: OKABE_ITO.vermillion },
  inconclusive: { symbol: 'triangle', color: OKABE_ITO.orange },
} as const;

export interface ForestOptions {
  id: string;
  title: string;
  caption: string;
  /** The value axis' name with its unit, e.g. "P99 overhead (ms)". */
  axisName: string;
  /** Words for the decisions in the legend, e.g. { pass: 'within budget', … }. */
  decisions: Record<ForestRow['status'], string>;
  limitName: string;
  /** Draw a line at 0 (differences). */
  zeroLine?: boolean;
}

export function forestChart(rows: ForestRow[], o: ForestOptions): ChartSpec {
  const labels = rows.map((r) => r.label);
  const intervals = rows.flatMap((r) => (r.interval === null ? [] : [{
    type: 'line' as const,
    name: 'interval',
    data: [[r.interval.low, r.label], [r.interval.high, r.label]],
    color: '#333',
    lineStyle: { width: 2.5, color: '#333' },
    symbol: 'rect',
    symbolSize: [2, 12],
    itemStyle: { color: '#333' },
    z: 2,
  }]));
  const decided = (['pass', 'fail', 'inconclusive'] as const).map((status) => ({
    type: 'scatter' as const,
    name: o.decisions[status],
    data: rows.filter((r) => r.status === status).map((r) => [r.estimate, r.label]),
    symbol: DECISION[status].symbol,
    symbolSize: 13,
    itemStyle: { color: DECISION[status].color, borderColor: '#000', borderWidth: 0.8 },
    z: 4,
  })).filter((s) => s.data.length > 0);
  const limits = {
    type: 'scatter' as const,
    name: o.limitName,
    data: rows.filter((r) => r.limit !== null).map((r) => [r.limit, r.label]),
    symbol: 'rect',
    symbolSize: [3, 26],
    itemStyle: { color: OKABE_ITO.black },
    z: 3,
  };
  // axis labels without floating-point noise (0.30000000000000004)
  const format = (x: number) => String(Number(x.toPrecision(4)));
  const option: ChartOption = {
    legend: legend({ top: 30, left: 8, right: undefined, data: [...decided.map((d) => d.name), 'interval', ...(limits.data.length > 0 ? [o.limitName] : [])] }),
    grid: { left: 170, right: 40, top: 66, bottom: 56 },
    xAxis: axis(o.axisName, { type: 'value', nameGap: 32, scale: false, axisLabel: { color: '#333', formatter: format } }) as ChartOption['xAxis'],
    yAxis: axis('protocol · variant', { type: 'category', data: labels, inverse: true, nameGap: 150, nameTextStyle: { fontSize: 0 }, splitLine: { show: true, lineStyle: { color: '#f0f0f0' } } }) as ChartOption['yAxis'],
    series: [
      ...intervals,
      ...(limits.data.length > 0 ? [limits] : []),
      ...decided,
      ...(o.zeroLine === true ? [{ type: 'line' as const, name: 'zero', data: [], markLine: { silent: true, symbol: 'none', label: { show: false }, lineStyle: { color: '#999', type: 'dashed' as const }, data: [{ xAxis: 0 }] } }] : []),
    ],
  };
  return { id: o.id, title: o.title, caption: o.caption, option, height: 110 + 40 * rows.length };
}
