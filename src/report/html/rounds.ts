import type { ProtocolResult } from '../../result.js';
import { axis, legend, msOf, variantColor, type ChartOption, type ChartSpec } from './chart.js';

/**
 * The rounds as dots: each variant's P99 in each round, and (dashed) its P99 over all rounds. The verdict's
 * intervals come from this spread: rounds that scatter widely give wide intervals, and a round far from the
 * others points at something that happened then (see latency over time).
 */
export function roundsChart(id: string, p: ProtocolResult, variants: readonly string[]): ChartSpec {
  const present = variants.filter((v) => p.variants[v] !== undefined);
  const count = Math.max(0, ...present.map((v) => p.variants[v]?.rounds.length ?? 0));
  const categories = Array.from({ length: count }, (_, i) => `round ${i + 1}`);
  const series: NonNullable<ChartOption['series']> = present.map((name, index) => {
    const v = p.variants[name];
    const color = variantColor(index);
    return {
      type: 'scatter' as const,
      name,
      data: (v?.rounds ?? []).map((r) => [`round ${r.round + 1}`, msOf(r.latencyUs.p99)]),
      color,
      symbol: index === 0 ? 'circle' : index === 1 ? 'diamond' : 'triangle',
      symbolSize: 12,
      itemStyle: { color, borderColor: '#000', borderWidth: 0.6, opacity: 0.9 },
      markLine: {
        silent: true,
        symbol: 'none',
        lineStyle: { color, type: 'dashed' as const, width: 1.5 },
        label: { formatter: `${name} P99, all rounds`, position: 'insideEndTop' as const, color, fontSize: 11 },
        data: [{ yAxis: msOf(v?.latencyUs.p99 ?? 0) }],
      },
    };
  });
  const option: ChartOption = {
    legend: legend(),
    grid: { left: 70, right: 30, top: 60, bottom: 56 },
    xAxis: axis('round', { type: 'category', data: categories, nameGap: 30, boundaryGap: true }) as ChartOption['xAxis'],
    yAxis: axis('P99 latency (ms)', { type: 'value', min: 0, nameGap: 44 }) as ChartOption['yAxis'],
    series,
  };
  return {
    id,
    title: `${p.name}: P99 of each round`,
    caption: 'Each dot is one round of one variant; the dashed lines are each variant\'s P99 over all rounds. The verdict\'s intervals are built from this spread between rounds.',
    option,
    height: 320,
  };
}
