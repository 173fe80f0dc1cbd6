import type { DriftEstimate, Estimate, PilotSummary, WindowSummary } from '../pilot-record.js';
import { BASELINE_VARIANT } from '../protocols.js';
import type { DrillsView } from './drills.js';
import { mib, ms } from './format.js';

/** The pilot's tables as data: pilot.md renders them as Markdown, report.html as HTML. */

/** The drift table pilot.md and report.html show. */
export function driftTable(drift: readonly DriftEstimate[]): { header: string[]; rows: string[][] } {
  return { header: ['figure', '>slope', '>interval', '>windows', 'trend'], rows: drift.map(driftRow) };
}

/** The windows table pilot.md and report.html show. */
export function windowsTable(windows: readonly WindowSummary[]): { header: string[]; rows: string[][] } {
  return { header: ['>#', '>day', 'start (UTC)', 'verdict', 'protocol', 'p99 ms', 'p99 overhead ms [interval]', '>errors', 'proxy RSS MiB', 'marks'], rows: windows.map(windowRow) };
}

export const iso = (msSinceEpoch: number): string => new Date(msSinceEpoch).toISOString().replace(/\.\d+Z$/, 'Z');

export function estimate(e: Estimate | null): string {
  return e === null ? '–' : `${ms(e.estimate)} [${ms(e.low)}, ${ms(e.high)}]`;
}

function driftRow(d: DriftEstimate): string[] {
  const what = d.protocol === null ? `${d.figure} (${d.variant})` : `${d.figure} (${d.protocol}, ${d.variant})`;
  const f = (x: number): string => x.toFixed(d.unit === 'ms' ? 4 : 2);
  return [what, `${f(d.slopePerDay)} ${d.unit}/day`, `[${f(d.low)}, ${f(d.high)}]`, String(d.windows), d.trending ? (d.slopePerDay > 0 ? 'rising' : 'falling') : 'no trend shown'];
}

function windowRow(w: WindowSummary): string[] {
  const p = w.protocols[0];
  const overhead = p === undefined ? '–' : Object.values(p.p99OverheadUs).map(estimate).join('; ');
  const p99 = p === undefined ? '–' : Object.entries(p.variants).map(([v, f]) => `${v} ${ms(f.p99Us)}`).join(', ');
  const errors = w.protocols.reduce((n, x) => n + Object.values(x.variants).reduce((m, v) => m + v.errors, 0), 0);
  const rss = Object.values(w.proxies).flat().map((x) => `${x.name} ${mib(x.rssBytes)}`).join(', ');
  return [String(w.index), String(w.day), iso(w.startMs), w.status, p === undefined ? '–' : p.name, p99, overhead, String(errors), rss || '–', w.marks.join(', ')];
}

/** The pilot's drill as the shared drill tables read it. */
export function pilotDrillsView(s: PilotSummary): DrillsView {
  const variants = [...new Set(s.drills.results.flatMap((d) => Object.keys(d.variants)))].sort((a, b) => Number(b === BASELINE_VARIANT) - Number(a === BASELINE_VARIANT));
  return { events: s.drills.events, variants, drills: s.drills.results, checks: s.drills.checks };
}

/** "3 event(s) in 2 window(s), each judged by its own budgets …; 1 of 4 event budget checks failed, 0 undecided." */
export function drillSentence(s: PilotSummary): string {
  const { results, checks } = s.drills;
  const windows = new Set(results.map((d) => d.window)).size;
  const events = new Set(results.map((d) => `${d.window}/${d.event}`)).size;
  const failed = checks.filter((c) => c.status === 'fail').length;
  const undecided = checks.filter((c) => c.status === 'inconclusive').length;
  const judged = checks.filter((c) => c.budget !== 'happened').length;
  return `${events} event(s) in ${windows} window(s), each judged by its own budgets (drilled windows are left out of the verdicts above); ` +
    (judged === 0 ? 'no event budget set (maxErrors, recoveryS): measured, not judged.' : `${failed} of ${checks.length} event budget checks failed, ${undecided} undecided.`);
}
