import { EXCLUDING_MARKS, type PeriodVerdict, type PilotSummary, type WindowSummary } from '../../pilot-record.js';
import { axis, legend, msOf, renderChart, variantColor, type ChartOption } from './chart.js';
import { forestChart, type ForestRow } from './forest.js';
import { htmlPage, htmlTable, para, type Section } from './page.js';
import { driftTable, drillSentence, pilotDrillsView, windowsTable } from '../pilot-tables.js';
import { drillsSection } from './drills.js';

/**
 * A pilot's report.html (`meshbench pilot`, `meshbench report DIR`): a pure function of pilot-summary.json.
 * The whole pilot's verdict, the daily trend of each protocol's P99 overhead (a forest plot of the days), the
 * overhead of every window over time with its interval, the proxies' memory over time (a leaking sidecar), then
 * the drift and window tables that pilot.md has.
 */
export function renderPilotHtml(s: PilotSummary): string {
  const hours = (w: WindowSummary): number => Math.round(((w.startMs - Date.parse(s.startedAt)) / 3_600_000) * 1000) / 1000;
  const protocols = [...new Set(s.windows.flatMap((w) => w.protocols.map((p) => p.name)))];
  const sections: Section[] = [];

  const dayRows: ForestRow[] = s.days.flatMap((d) => periodRows(d, d.label));
  if (dayRows.length > 0) {
    sections.push({
      id: 'days',
      title: 'Daily trend',
      body: renderChart(forestChart(dayRows, {
        id: 'day-overhead',
        title: 'P99 overhead per day, against its budget',
        caption: 'One row per day and protocol: the day\'s windows are its rounds. Dot: the estimate; bar: its interval; black tick: the budget. A day whose bar moves right from day to day is the mesh getting slower.',
        axisName: 'P99 overhead (ms)',
        decisions: { pass: 'within budget', fail: 'over budget', inconclusive: 'undecided' },
        limitName: 'budget',
        zeroLine: true,
      })),
    });
  }

  // The windows the day and pilot verdicts judge: a partial, restart, invalid or drilled window's figures are not comparable.
  const judged = s.windows.filter((w) => !w.marks.some((m) => EXCLUDING_MARKS.includes(m)));
  const overheadSeries = protocols.flatMap((name, i) => {
    const points = judged.flatMap((w) => {
      const o = Object.values(w.protocols.find((p) => p.name === name)?.p99OverheadUs ?? {})[0];
      return o === null || o === undefined ? [] : [{ x: hours(w), o }];
    });
    const color = variantColor(i);
    return [
      { type: 'line' as const, name: `${name} P99 overhead`, data: points.map((p) => [p.x, msOf(p.o.estimate)]), symbolSize: 4, lineStyle: { color, width: 1.5 }, itemStyle: { color } },
      { type: 'line' as const, name: `${name} interval`, data: points.map((p) => [p.x, msOf(p.o.high)]), symbol: 'none', lineStyle: { color, width: 1, type: 'dashed' as const } },
      { type: 'line' as const, name: `${name} interval `, data: points.map((p) => [p.x, msOf(p.o.low)]), symbol: 'none', lineStyle: { color, width: 1, type: 'dashed' as const } },
    ];
  });
  const rssSeries = [...new Set(s.windows.flatMap((w) => Object.values(w.proxies).flat().map((x) => x.name)))].map((proxy, i) => ({
    type: 'line' as const,
    name: proxy,
    data: s.windows.flatMap((w) => Object.values(w.proxies).flat().filter((x) => x.name === proxy).map((x) => [hours(w), Math.round((x.rssBytes / 1_048_576) * 10) / 10])),
    symbolSize: 4,
    itemStyle: { color: variantColor(i + 2) },
  }));
  const timeChart = (id: string, title: string, caption: string, yName: string, series: ChartOption['series'], shown?: string[]) =>
    renderChart({
      id, title, caption,
      option: {
        legend: legend({ top: 32, left: 8, right: 'auto', ...(shown === undefined ? {} : { data: shown }) }),
        grid: { left: 70, right: 30, top: 75, bottom: 55 },
        xAxis: axis('time since the pilot started (h)', { type: 'value', nameGap: 30 }) as ChartOption['xAxis'],
        yAxis: axis(yName, { type: 'value', nameGap: 50 }) as ChartOption['yAxis'],
        series,
      },
    });
  sections.push({
    id: 'windows-over-time',
    title: 'Over time',
    body: [
      timeChart('window-overhead', 'P99 overhead of every judged window', `Each window judged on its own: its P99 overhead (solid) and its interval (dashed), per protocol, at the window's start. Left out, as in the verdicts: ${s.windows.length - judged.length} partial, restart, invalid or drilled window(s) of ${s.windows.length}.`, 'P99 overhead (ms)', overheadSeries, protocols.map((n) => `${n} P99 overhead`)),
      rssSeries.length === 0 ? '' : timeChart('proxy-rss', 'Sidecar memory (RSS) at the end of every window', 'A proxy whose line keeps rising is leaking; the drift table below gives the slope per day with its interval.', 'RSS (MiB)', rssSeries),
    ].join('\n'),
  });
  const drill = drillsSection(pilotDrillsView(s));
  if (drill !== null && s.drills.status !== null) {
    sections.push({ ...drill, title: `Drill: ${s.drills.status.toUpperCase()}`, body: [para(drillSentence(s)), drill.body].join('\n') });
  }
  sections.push({ id: 'drift', title: 'Drift', body: s.drift.length === 0 ? para('Not enough judged windows (at least 3) to estimate a trend.') : htmlTable(driftTable(s.drift)) });
  sections.push({ id: 'windows', title: 'Windows', body: htmlTable(windowsTable(s.windows)) });

  const status = s.whole.verdict?.status ?? 'inconclusive';
  return htmlPage({
    title: `meshbench pilot: ${s.scenario}`,
    subtitle: `pilot ${s.pilotId} · started ${s.startedAt} · ${s.windows.length} closed window(s)${s.coveredUntil === null ? '' : ` up to ${s.coveredUntil}`}`,
    banner: { status, label: status.toUpperCase(), lines: s.whole.verdict?.reasons.slice(0, 3) ?? ['No window could be judged yet.'] },
    sections,
    footer: 'Written by meshbench from the pilot\'s folder alone (pilot-summary.json). Charts: Apache ECharts, rendered to SVG when the report was written — the page runs no script and loads nothing.',
  });
}

/** A period's P99-overhead checks as forest rows (label: the period and the protocol). */
function periodRows(p: PeriodVerdict, label: string): ForestRow[] {
  return (p.verdict?.checks ?? []).filter((c) => c.budget === 'p99OverheadMs').map((c) => ({
    label: `${label} · ${c.protocol}`,
    estimate: c.actual,
    interval: c.interval === null ? null : { low: c.interval.low, high: c.interval.high },
    limit: c.limit,
    status: c.status,
  }));
}
