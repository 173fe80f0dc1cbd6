import type { ProtocolResult } from '../../result.js';
import { axis, legend, variantColor, type ChartOption, type ChartSpec } from './chart.js';

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
