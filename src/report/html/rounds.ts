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

/** Sidecar CPU per request, per protocol and proxy (null when no variant had proxies). */
export function sidecarChart(id: string, protocols: readonly ProtocolResult[]): ChartSpec | null {
  const proxies = [...new Set(protocols.flatMap((p) => Object.values(p.variants).flatMap((v) => v.proxies.map((x) => x.name))))];
  if (proxies.length === 0) return null;
  const option: ChartOption = {
    legend: legend(),
    grid: { left: 70, right: 30, top: 60, bottom: 56 },
    xAxis: axis('protocol', { type: 'category', data: protocols.map((p) => p.name), nameGap: 30 }) as ChartOption['xAxis'],
    yAxis: axis('sidecar CPU per request (µs)', { type: 'value', min: 0, nameGap: 44 }) as ChartOption['yAxis'],
    series: proxies.map((proxy, i) => ({
      type: 'bar' as const,
      name: proxy,
      color: variantColor(i + 2),
      barMaxWidth: 48,
      label: { show: true, position: 'top' as const, formatter: (x: { value: unknown }) => (typeof x.value === 'number' ? x.value.toFixed(1) : ''), fontSize: 11, color: '#222' },
      data: protocols.map((p) => {
        const cost = Object.values(p.variants).flatMap((v) => v.proxies).find((x) => x.name === proxy);
        return cost === undefined ? null : Number(cost.cpuUsPerRequest.toFixed(2));
      }),
    })),
  };
  return {
    id,
    title: 'Sidecar CPU per request',
    caption: 'CPU time each proxy of the meshed path spent per completed request or message (CPU seconds over the rounds ÷ responses). This is what every request pays in CPU on top of the service.',
    option,
    height: 320,
  };
}
