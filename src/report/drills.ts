import type { DrillEvent } from '../config/schema.js';
import type { DrillCheck, DrillResult, DrillVariantFigures, ResultDocument } from '../result.js';
import { md, ms } from './format.js';
import type { Table } from './tables.js';
import { drillPlace } from './wording.js';

/**
 * A drill's tables (pure functions of a run's result.json `drills` and `verdict.drills`, or of a pilot's
 * summary): one row per event and variant — what the env did, the errors by kind, the p99 before and at worst,
 * and how long it took to recover — and per event the timeline with the variants side by side.
 */

/** What the tables read: the scenario's events, the variants in their order, the events as they happened, their checks. */
export interface DrillsView {
  events: readonly DrillEvent[];
  variants: readonly string[];
  drills: readonly DrillResult[];
  checks: readonly DrillCheck[];
}

export function runDrills(doc: ResultDocument): DrillsView {
  return { events: doc.scenario.events ?? [], variants: doc.environment.variants, drills: doc.drills ?? [], checks: doc.verdict.drills ?? [] };
}

/** "event 1 · restart-sidecars (hitless) · http1 · round 1" (in a pilot: "· window #4"). */
export function drillTitle(view: DrillsView, d: DrillResult): string {
  const e = view.events[d.event];
  const how = e === undefined ? '' : e.action === 'restart-sidecars' ? ` (${e.mode}, ${e.sidecar})` : e.action === 'sidecar-pause' ? ` (${e.sidecar}, ${e.pauseMs} ms)` : e.action === 'kill-echo' ? ` (replica ${e.replica})` : '';
  return `event ${d.event + 1} · ${d.action}${how} · ${d.protocol} · ${drillPlace(d)}`;
}

/** "reset 3, connect 12" or "none". */
export function errorKinds(v: DrillVariantFigures): string {
  const seen = Object.entries(v.errorsByKind).filter(([, n]) => (n ?? 0) > 0).map(([k, n]) => `${k} ${n ?? 0}`);
  return seen.length === 0 ? 'none' : seen.join(', ');
}

function decision(checks: readonly DrillCheck[], d: DrillResult, variant: string, budget: DrillCheck['budget']): string {
  const c = checks.find((x) => x.event === d.event && x.protocol === d.protocol && x.round === d.round && x.variant === variant && x.budget === budget);
  return c === undefined ? '' : ` (≤ ${c.limit ?? ''}: ${c.status})`;
}

/** Every event and variant: errors, p99 reference and peak, max, recovery, each with its budget's decision. */
export function drillsTable(view: DrillsView): Table | null {
  const { drills, checks } = view;
  if (drills.length === 0) return null;
  const rows = drills.flatMap((d) => {
    const variants = view.variants.filter((v) => d.variants[v] !== undefined);
    if (variants.length === 0 || d.error !== undefined) return [[drillTitle(view, d), '—', d.error ?? 'no figures', '', '', '', '', '', '']];
    return variants.map((name) => {
      const v = d.variants[name] as DrillVariantFigures;
      return [
        drillTitle(view, d), name,
        `${v.errors}${decision(checks, d, name, 'maxErrors')}`, errorKinds(v),
        v.referenceP99Us === null ? '—' : ms(v.referenceP99Us), ms(v.peakP99Us), ms(v.maxUs),
        v.recoveryS === null ? `not within ${d.windowS.toFixed(1)} s${decision(checks, d, name, 'recoveryS')}` : `${v.recoveryS.toFixed(2)}${decision(checks, d, name, 'recoveryS')}`,
        `${(d.actionMs / 1000).toFixed(2)}`,
      ];
    });
  });
  return { header: ['event', 'variant', '>errors', 'by kind', '>p99 before ms', '>peak p99 ms', '>max ms', '>recovery s', '>action s'], rows };
}

/** One event's timeline: per interval, each variant's responses, errors and p99 side by side. */
export function drillTimelineTable(view: DrillsView, d: DrillResult): Table {
  const variants = view.variants.filter((v) => d.variants[v] !== undefined);
  const offsets = [...new Set(variants.flatMap((v) => d.variants[v]?.timeline.map((p) => p.offsetMs) ?? []))].sort((a, b) => a - b);
  return {
    header: ['>t s', ...variants.flatMap((v) => [`>${v} ok`, `>${v} errors`, `>${v} p99 ms`])],
    rows: offsets.map((offsetMs) => [
      (offsetMs / 1000).toFixed(2),
      ...variants.flatMap((v) => {
        const p = d.variants[v]?.timeline.find((x) => x.offsetMs === offsetMs);
        return p === undefined ? ['', '', ''] : [p.count, p.errors, p.count > 0 ? ms(p.p99Us) : '—'];
      }),
    ]),
  };
}

/** How the drill's figures are defined, for every report (src/drills/analyze.ts states it as code). */
export const DRILL_METHOD =
  'Each event is placed on the load\'s own interval histograms. Its window runs from the interval holding its start to the next event, or the end of the load (in a pilot: of its window); ' +
  'errors count every failure in it. The p99 has recovered at the start of the first second-long run of intervals that answered, failed nothing and kept p99 ' +
  'within max(2 × the round\'s (in a pilot: the window\'s) p99 before the event, that + 1 ms); recovery counts from the event\'s start. Budgets judge every variant but the unmeshed one, which ran through the same event as the control.';

/** The "## Drills" section of report.md and pilot.md: the method, the table, each event's timeline. */
export function drillsMarkdown(view: DrillsView): string[] {
  const table = drillsTable(view);
  if (table === null) return [];
  const out = ['## Drills', '', DRILL_METHOD, '', md(table), ''];
  for (const d of view.drills) {
    if (d.detail !== null) out.push(`### ${drillTitle(view, d)}`, '', `${d.detail}.`, '', md(drillTimelineTable(view, d)), '');
  }
  return out;
}
