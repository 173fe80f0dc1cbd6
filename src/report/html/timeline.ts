import { decodeHistogram } from '../../histograms/index.js';
import type { ProtocolResult } from '../../result.js';
import { axis, legend, msOf, OKABE_ITO, variantColor, type ChartOption, type ChartSpec } from './chart.js';

/**
 * Latency over time, per protocol: p50 and p99 of every 1-second interval histogram of every variant, across
 * the rounds; under it, on the same time axis, what the harness itself cost meanwhile — the generator's largest
 * send lag per interval and the worst hiccup of each metered process per round. A spike in the upper panel that
 * lines up with one below is the harness's, not the mesh's.
 */

type Point = [number, number] | [number, null];

interface Span {
  label: string;
  startS: number;
  endS: number;
}

export function timelineChart(id: string, p: ProtocolResult, variants: readonly string[], timePaired: boolean): ChartSpec {
  const present = variants.filter((v) => p.variants[v] !== undefined);
  const starts = present.flatMap((v) => p.variants[v]?.rounds.flatMap((r) => r.intervals.map((i) => i.startMs)) ?? []);
  const t0 = starts.length === 0 ? 0 : Math.min(...starts);
  const s = (epochMs: number) => Math.round(epochMs - t0) / 1000;

  const lines: { name: string; index: number; p50: Point[]; p99: Point[] }[] = [];
  // The generator's largest send lag per interval (time-paired variants share their intervals: the larger).
  const lagByStart = new Map<number, { midS: number; us: number }>();
  // Hiccup records by source and histogram: under time pairing every round of a continuous load carries the same
  // record (the whole load's), drawn once across the rounds it covers; per-round records each across their round.
  const hiccups = new Map<string, { source: string; maxMs: number; startS: number; endS: number }>();
  const spans = new Map<string, Span>();
  present.forEach((name, index) => {
    const v = p.variants[name];
    if (v === undefined) return;
    const line = { name, index, p50: [] as Point[], p99: [] as Point[] };
    lines.push(line);
    for (const round of [...v.rounds].sort((a, b) => a.round - b.round)) {
      const intervals = [...round.intervals].sort((a, b) => a.startMs - b.startMs);
      const first = intervals[0];
      const last = intervals[intervals.length - 1];
      if (first === undefined || last === undefined) continue;
      for (const i of intervals) {
        const h = decodeHistogram(i.histogram);
        if (h.totalCount === 0) continue;
        const midS = s((i.startMs + i.endMs) / 2);
        line.p50.push([midS, msOf(h.getValueAtPercentile(50))]);
        line.p99.push([midS, msOf(h.getValueAtPercentile(99))]);
        if (i.counts !== undefined) lagByStart.set(i.startMs, { midS, us: Math.max(lagByStart.get(i.startMs)?.us ?? 0, i.counts.maxLagUs) });
      }
      // Rounds are separate samples: the lines break between them.
      line.p50.push([s(last.endMs), null]);
      line.p99.push([s(last.endMs), null]);
      const span: Span = { label: timePaired ? `round ${round.round + 1}` : `${name} ${round.round + 1}`, startS: s(first.startMs), endS: s(last.endMs) };
      spans.set(`${span.startS}-${span.endS}`, span);
      for (const hiccup of round.hiccups) {
        const key = `${hiccup.source}\n${hiccup.histogram}`;
        const seen = hiccups.get(key);
        hiccups.set(key, {
          source: hiccup.source,
          maxMs: msOf(hiccup.latencyUs.max),
          startS: Math.min(seen?.startS ?? Infinity, span.startS),
          endS: Math.max(seen?.endS ?? -Infinity, span.endS),
        });
      }
    }
  });

  // The rounds as shaded bands behind the latency lines, drawn with the first series.
  const rounds = {
    silent: true,
    label: { color: '#666', fontSize: 11, position: 'insideTop' as const },
    data: [...spans.values()].sort((a, b) => a.startS - b.startS).map((r, i): [object, object] => [
      { xAxis: r.startS, name: r.label, itemStyle: { color: i % 2 === 0 ? 'rgba(0,0,0,0.045)' : 'rgba(0,0,0,0.015)' } },
      { xAxis: r.endS },
    ]),
  };
  const latency: NonNullable<ChartOption['series']> = lines.flatMap(({ name, index, p50, p99 }, position) => {
    const color = variantColor(index);
    return [
      { type: 'line' as const, name: `${name} p99`, data: p99, color, symbol: 'circle', symbolSize: 5, lineStyle: { width: 2, color }, xAxisIndex: 0, yAxisIndex: 0, ...(position === 0 ? { markArea: rounds } : {}) },
      { type: 'line' as const, name: `${name} p50`, data: p50, color, symbol: 'emptyCircle', symbolSize: 4, lineStyle: { width: 1.2, type: 'dotted' as const, color }, xAxisIndex: 0, yAxisIndex: 0 },
    ];
  });

  const lag = [...lagByStart.entries()].sort((a, b) => a[0] - b[0]).map(([, { midS, us }]): Point => [midS, msOf(us)]);
  const bySource = new Map<string, Point[]>();
  for (const h of [...hiccups.values()].sort((a, b) => a.startS - b.startS)) {
    bySource.set(h.source, [...(bySource.get(h.source) ?? []), [h.startS, h.maxMs], [h.endS, h.maxMs], [h.endS, null]]);
  }
  const meterColors = [OKABE_ITO.reddishPurple, OKABE_ITO.skyBlue, OKABE_ITO.bluishGreen, OKABE_ITO.black, OKABE_ITO.yellow];
  const costs: NonNullable<ChartOption['series']> = [
    { type: 'line', name: 'send lag (max per 1 s)', data: lag, color: OKABE_ITO.orange, symbol: 'triangle', symbolSize: 6, lineStyle: { width: 1.5, color: OKABE_ITO.orange }, xAxisIndex: 1, yAxisIndex: 1 },
    ...[...bySource.entries()].map(([source, data], i) => {
      const color = meterColors[i % meterColors.length] ?? OKABE_ITO.black;
      return {
        type: 'line' as const, name: `hiccup max: ${source}`, data, color, symbol: 'rect', symbolSize: 5,
        lineStyle: { width: 2, color, type: i === 0 ? 'solid' as const : 'dashed' as const }, xAxisIndex: 1, yAxisIndex: 1,
      };
    }),
  ];

  const names = (series: NonNullable<ChartOption['series']>) => (Array.isArray(series) ? series : [series]).map((x) => String(x.name));
  const endS = Math.max(0, ...[...spans.values()].map((r) => r.endS));
  const xCommon = { type: 'value', min: 0, max: Math.ceil(endS), nameGap: 28 };
  const option: ChartOption = {
    legend: [
      legend({ top: 30, left: 8, right: undefined, data: names(latency) }),
      legend({ top: 318, left: 8, right: undefined, itemGap: 30, data: names(costs) }),
    ],
    grid: [{ left: 70, right: 30, top: 64, height: 210 }, { left: 70, right: 30, top: 350, height: 110 }],
    xAxis: [
      axis('time (s)', { ...xCommon, gridIndex: 0, nameGap: 24 }),
      axis('time since the protocol\'s first round (s)', { ...xCommon, gridIndex: 1 }),
    ] as ChartOption['xAxis'],
    yAxis: [
      axis('latency (ms)', { type: 'value', gridIndex: 0, min: 0, nameGap: 44 }),
      axis('lag, hiccup (ms)', { type: 'value', gridIndex: 1, min: 0, nameGap: 44, splitNumber: 3 }),
    ] as ChartOption['yAxis'],
    series: [...latency, ...costs],
  };
  return {
    id,
    title: `${p.name}: latency over time, and what the harness cost meanwhile`,
    caption: `Upper panel: p99 (solid) and p50 (dotted) of each 1-second interval, per variant; shaded bands are the rounds. ` +
      `Lower panel: the generator's largest send lag in each interval (how late it sent after the intended time) and the worst hiccup ` +
      `(how late a 1 ms timer woke) of each metered process, over the span its record covers — a round, or the whole continuous load under time pairing. ` +
      `A latency spike that lines up with one below is the harness's stall, not the mesh's.`,
    option,
    height: 500,
  };
}
