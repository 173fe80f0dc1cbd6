import type { DrillResult } from '../../result.js';
import { DRILL_METHOD, drillsTable, drillTimelineTable, drillTitle, type DrillsView } from '../drills.js';
import { describeDrillCheck } from '../wording.js';
import { axis, legend, msOf, OKABE_ITO, renderChart, variantColor, type ChartOption, type ChartSpec } from './chart.js';
import { escapeHtml, htmlTable, para, type Section } from './page.js';

/**
 * One event's timeline: each variant's p99 per interval (line) and errors per interval (bars), time 0 at the
 * event's start, with a line where each variant's p99 recovered. The variants ran through the same event side
 * by side (time pairing), so what differs between them is the mesh path's.
 */
export function drillChart(id: string, title: string, d: DrillResult, variants: readonly string[]): ChartSpec {
  const present = variants.filter((v) => d.variants[v] !== undefined);
  const half = d.timelineMs / 2000;
  const series: NonNullable<ChartOption['series']> = present.flatMap((name) => {
    const v = d.variants[name];
    if (v === undefined) return [];
    const color = variantColor(variants.indexOf(name));
    const at = (offsetMs: number) => offsetMs / 1000 + half; // an interval is drawn at its middle
    return [
      {
        type: 'line' as const, name: `${name} p99`, color, symbol: 'circle', symbolSize: 5, lineStyle: { width: 2, color },
        data: v.timeline.map((p): [number, number | null] => [at(p.offsetMs), p.count > 0 ? msOf(p.p99Us) : null]), connectNulls: false,
        xAxisIndex: 0, yAxisIndex: 0,
        markLine: {
          silent: true, symbol: 'none', lineStyle: { color, type: 'dashed' as const, width: 1.5 },
          label: { formatter: `${name} recovered`, color, fontSize: 11, position: 'insideEndTop' as const },
          data: v.recoveryS === null ? [] : [{ xAxis: v.recoveryS }],
        },
      },
      {
        type: 'bar' as const, name: `${name} errors`, color, barGap: '0%', itemStyle: { color, opacity: 0.45 },
        data: v.timeline.map((p): [number, number] => [at(p.offsetMs), p.errors]), xAxisIndex: 0, yAxisIndex: 1,
      },
    ];
  });
  const first = series[0];
  if (first !== undefined && first.type === 'line') {
    first.markArea = {
      silent: true, itemStyle: { color: 'rgba(213,94,0,0.10)' }, label: { color: OKABE_ITO.vermillion, fontSize: 11, position: 'insideTop' as const },
      data: [[{ xAxis: 0, name: 'action' }, { xAxis: Math.max(d.actionMs / 1000, 0.02) }]],
    };
  }
  const option: ChartOption = {
    legend: legend({ top: 30, left: 8, right: undefined }),
    grid: { left: 70, right: 70, top: 70, bottom: 56 },
    xAxis: axis('time since the event started (s)', { type: 'value', nameGap: 30 }) as ChartOption['xAxis'],
    yAxis: [
      axis('p99 latency (ms)', { type: 'value', min: 0, nameGap: 44 }),
      axis('errors per interval (count)', { type: 'value', min: 0, nameGap: 44, splitLine: { show: false } }),
    ] as ChartOption['yAxis'],
    series,
  };
  return {
    id,
    title,
    caption: `Per ${d.timelineMs} ms interval: each variant's p99 (line; gaps: nothing answered) and its errors (bars). ` +
      `The shaded band is the env's action (${(d.actionMs / 1000).toFixed(2)} s); dashed lines mark where each variant's p99 recovered.`,
    option,
    height: 380,
  };
}

/** A drill (a run's, or a pilot's): the events' table with their budgets' decisions, then per event its timeline, the variants side by side. */
export function drillsSection(view: DrillsView): Section | null {
  const table = drillsTable(view);
  if (table === null) return null;
  const checks = view.checks.filter((c) => c.status !== 'pass');
  const events = view.drills.flatMap((d, i) => d.detail === null ? [] : [
    renderChart(drillChart(`drill-${i + 1}`, drillTitle(view, d), d, view.variants)),
    para(`${d.detail}.`, 'small'),
    `<details><summary>Interval by interval</summary>${htmlTable(drillTimelineTable(view, d))}</details>`,
  ]);
  const verdict = checks.length === 0 ? '' : `<ul class="small">${checks.map((c) => `<li>${escapeHtml(`${c.status}: ${describeDrillCheck(c)}`)}</li>`).join('')}</ul>`;
  return { id: 'drills', title: 'Drills', body: [para(DRILL_METHOD), htmlTable(table), verdict, ...events].filter((b) => b !== '').join('\n') };
}
