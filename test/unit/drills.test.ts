import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeDrills, recovery, STABLE_MS, variantFigures } from '../../src/drills/analyze.js';
import type { Occurrence } from '../../src/drills/schedule.js';
import { scenarioSchema, type DrillEvent } from '../../src/config/schema.js';
import { createLatencyHistogram, encodeHistogram, recordLatency, type IntervalHistogram } from '../../src/histograms/index.js';
import { judgeRun } from '../../src/run/judge.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderSummary } from '../../src/report/summary.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderHtmlReport } from '../../src/report/html/index.js';
import { drillChecks } from '../../src/verdict/drills.js';
import type { DrillResult, ResultDocument, RoundFigures } from '../../src/result.js';

const T0 = 1_700_000_000_000;
const STEP = 250;

/** An interval of `n` responses all at `latencyUs`, and `errors` failures (all of `kind`). */
function interval(i: number, n: number, latencyUs: number, errors = 0, kind = 'connect'): IntervalHistogram {
  const h = createLatencyHistogram();
  for (let k = 0; k < n; k++) recordLatency(h, latencyUs);
  return {
    startMs: T0 + i * STEP, endMs: T0 + (i + 1) * STEP, histogram: encodeHistogram(h),
    counts: { errors, sent: n + errors, late: 0, maxLagUs: 0, ...(errors > 0 ? { errorsByKind: { [kind]: errors } } : {}) },
  };
}

function round(intervals: IntervalHistogram[], r = 0): RoundFigures {
  return { round: r, order: 0, startedAt: new Date(T0).toISOString(), count: 0, errors: 0, achievedRateHz: 0, latencyUs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0, mean: 0, count: 0 }, maxLagUs: 0, lateShare: 0, proxies: [], intervals, hiccups: [] };
}

type Shape = [count: number, latencyUs: number, errors: number];

describe('drill figures from the load\'s intervals (src/drills/analyze.ts)', () => {
  // The event starts at interval 8 (2 s into the round); 16 intervals (4 s) in all.
  const healthy: Shape = [100, 500, 0];
  const cases: { name: string; shapes: Shape[]; errors: number; recoveryS: number | null }[] = [
    { name: 'an event that disturbed nothing recovers at once', shapes: Array<Shape>(16).fill(healthy), errors: 0, recoveryS: 0 },
    {
      name: 'errors, then slow answers, then healthy: recovery where the healthy second begins',
      shapes: [...Array<Shape>(8).fill(healthy), [10, 500, 90], [50, 900_000, 0], ...Array<Shape>(6).fill(healthy)],
      errors: 90, recoveryS: 0.5,
    },
    {
      name: 'an interval that answered nothing (a paused sidecar) is not healthy',
      shapes: [...Array<Shape>(8).fill(healthy), [0, 0, 0], [0, 0, 0], [0, 0, 0], ...Array<Shape>(5).fill(healthy)],
      errors: 0, recoveryS: 0.75,
    },
    {
      name: 'a healthy stretch shorter than a second at the end of the window is no recovery',
      shapes: [...Array<Shape>(8).fill(healthy), ...Array<Shape>(5).fill([100, 5000, 0] as Shape), ...Array<Shape>(3).fill(healthy)],
      errors: 0, recoveryS: null,
    },
  ];
  it.each(cases)('$name', ({ shapes, errors, recoveryS }) => {
    const r = round(shapes.map(([n, us, e], i) => interval(i, n, us, e)));
    const f = variantFigures(r.intervals, r.intervals, T0 + 8 * STEP, T0 + 16 * STEP);
    expect(f.errors).toBe(errors);
    expect(f.errorsByKind).toEqual(errors > 0 ? { connect: errors } : {});
    expect(f.recoveryS).toBe(recoveryS);
    expect(f.referenceP99Us).toBeGreaterThanOrEqual(499);
    expect(f.referenceP99Us).toBeLessThanOrEqual(501);
    // the timeline: 2 s before the event to the window's end, offsets relative to the event
    expect(f.timeline.map((p) => p.offsetMs)).toEqual(Array.from({ length: 16 }, (_, i) => (i - 8) * STEP));
  });

  it('recovery is null or within the window, and 0 when every interval is healthy (property)', () => {
    const shape = fc.record({ count: fc.integer({ min: 0, max: 5 }), errors: fc.integer({ min: 0, max: 2 }), p99Us: fc.integer({ min: 1, max: 10_000 }) });
    fc.assert(fc.property(fc.array(shape, { maxLength: 30 }), fc.integer({ min: 0, max: STEP - 1 }), (shapes, into) => {
      const window = shapes.map((s, i) => ({ ...s, offsetMs: 0, p50Us: 0, maxUs: 0, startMs: i * STEP, endMs: (i + 1) * STEP }));
      const r = recovery(window, 1000, into);
      if (r !== null) {
        expect(r).toBeGreaterThanOrEqual(0);
        expect(r * 1000 + STABLE_MS).toBeLessThanOrEqual(window.length * STEP);
      }
      const allHealthy = window.map((w) => ({ ...w, count: 1, errors: 0, p99Us: 1000 }));
      expect(recovery(allHealthy, 1000, into)).toBe(window.length * STEP >= STABLE_MS ? 0 : null);
    }));
  });

  it('each occurrence gets its own window: up to the next event of the same load, else the load\'s end', () => {
    const intervals = Array.from({ length: 16 }, (_, i) => interval(i, 100, 500, i === 9 || i === 12 || i === 13 ? 5 : 0));
    const variants = { unmeshed: { rounds: [round(intervals)] }, meshed: { rounds: [round(intervals)] } };
    const protocols = [{ name: 'http1', variants }] as unknown as Parameters<typeof analyzeDrills>[1];
    const event = (atS: number): DrillEvent => ({ action: 'sidecar-pause', atS, round: 1, budgets: {}, sidecar: 'both', pauseMs: 10 });
    const occ = (index: number, atMs: number): Occurrence => ({
      index, event: event(atMs / 1000), protocol: 'http1', variants: ['unmeshed', 'meshed'], round: 0, loadRounds: { first: 0, count: 1 },
      outcome: { startedAtMs: T0 + atMs, finishedAtMs: T0 + atMs + 10, detail: 'paused', facts: {} },
    });
    const [first, second] = analyzeDrills([occ(1, 3000), occ(0, 2000)], protocols, STEP);
    expect(first?.event).toBe(0);
    expect(first?.windowS).toBe(1);
    expect(first?.rounds).toEqual([0]);
    expect(first?.variants['meshed']?.errors).toBe(5); // interval 9, not 12 (it holds the second event's start) nor 13
    expect(second?.windowS).toBe(1);
    expect(second?.variants['unmeshed']?.errors).toBe(10); // intervals 12 and 13
  });
});

describe('event budgets (src/verdict/drills.ts)', () => {
  const figures = (errors: number, recoveryS: number | null) => ({ count: 100, errors, errorsByKind: {}, referenceP99Us: 500, peakP99Us: 900, maxUs: 900, recoveryS, timeline: [] });
  const drill = (meshed: ReturnType<typeof figures>, windowS = 3, error?: string): DrillResult => ({
    event: 0, action: 'restart-sidecars', protocol: 'http1', round: 0, startedAtMs: T0, actionMs: 5, detail: error === undefined ? 'reloaded' : null, facts: {},
    windowS, rounds: [0], timelineMs: STEP, variants: { unmeshed: figures(999, 0), meshed }, ...(error === undefined ? {} : { error }),
  });
  const events: DrillEvent[] = [{ action: 'restart-sidecars', atS: 1, round: 1, mode: 'hitless', sidecar: 'both', budgets: { maxErrors: 2, recoveryS: 1.5 } }];
  it.each([
    { name: 'within both budgets', d: drill(figures(2, 1.5)), statuses: ['pass', 'pass'] },
    { name: 'too many errors, recovered late', d: drill(figures(3, 1.6)), statuses: ['fail', 'fail'] },
    { name: 'not recovered in a window longer than the budget: fail', d: drill(figures(0, null), 3), statuses: ['pass', 'fail'] },
    { name: 'not recovered, but the window was shorter than the budget: undecided', d: drill(figures(0, null), 1), statuses: ['pass', 'inconclusive'] },
    { name: 'recovered late, but so did the control: the machine\'s, undecided', d: { ...drill(figures(0, 2.5)), variants: { unmeshed: figures(0, 2), meshed: figures(0, 2.5) } }, statuses: ['pass', 'inconclusive'] },
    { name: 'recovered late while the control recovered in time: fail', d: { ...drill(figures(0, 2.5)), variants: { unmeshed: figures(0, 0.5), meshed: figures(0, 2.5) } }, statuses: ['pass', 'fail'] },
    { name: 'an event that did not happen decides nothing', d: drill(figures(0, 0), 3, 'did not happen: the load ended first'), statuses: ['inconclusive'] },
  ])('$name (the unmeshed control is never judged)', ({ d, statuses }) => {
    const checks = drillChecks(events, [d]);
    expect(checks.map((c) => c.status)).toEqual(statuses);
    expect(checks.every((c) => c.variant === 'meshed')).toBe(true);
  });
});

describe('scenario events (schema)', () => {
  const base = { name: 'd', protocols: [{ name: 'http1', durationS: 4 }], rounds: 2 };
  const event = { action: 'restart-sidecars', atS: 1, budgets: { maxErrors: 0 } };
  it('a drill needs no latency budget, and fills in the defaults', () => {
    const s = scenarioSchema.parse({ ...base, events: [event, { action: 'sidecar-pause', atS: 2, round: 2, pauseMs: 100 }] });
    expect(s.events[0]).toMatchObject({ mode: 'hitless', sidecar: 'both', round: 1 });
    expect(s.timelineMs).toBe(250);
  });
  it.each([
    { name: 'latency budgets with events', extra: { budgets: { p99OverheadMs: 1 } }, events: [event], message: /judged by its events' budgets/ },
    { name: 'an event past the round', extra: {}, events: [{ ...event, atS: 4 }], message: /must fall inside the round/ },
    { name: 'an event past the last round', extra: {}, events: [{ ...event, round: 3 }], message: /past the last round/ },
    { name: 'a static pair', extra: { env: { kind: 'static', variants: { unmeshed: { targets: { http1: 'http://a:1/' } }, meshed: { targets: { http1: 'http://b:1/' } } } } }, events: [event], message: /not meshbench's to disrupt/ },
    { name: 'kill-echo with a planted delay', extra: { env: { kind: 'local', plantedDelayMs: 1 } }, events: [{ action: 'kill-echo', atS: 1 }], message: /planted delay/ },
    { name: 'an unknown action', extra: {}, events: [{ action: 'reboot', atS: 1 }], message: /action/ },
  ])('refuses $name', ({ extra, events, message }) => {
    const r = scenarioSchema.safeParse({ ...base, ...extra, events });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(message);
  });
});

describe('a drill in every report (pure functions of result.json)', () => {
  const quickstart = JSON.parse(readFileSync(new URL('../fixtures/quickstart-result.json', import.meta.url), 'utf8')) as ResultDocument;
  const p = quickstart.protocols[0];
  const r = p?.variants['meshed']?.rounds[1];
  const at = (r?.intervals[2]?.startMs ?? 0) + 100;
  const events: DrillEvent[] = [{ action: 'restart-sidecars', atS: 1, round: 2, mode: 'hard', sidecar: 'both', budgets: { maxErrors: 0, recoveryS: 1 } }];
  const occurrence: Occurrence = { index: 0, event: events[0] as DrillEvent, protocol: 'http1', variants: ['unmeshed', 'meshed'], round: 1, loadRounds: { first: 0, count: 4 }, outcome: { startedAtMs: at, finishedAtMs: at + 350, detail: 'hard restart of both sidecars', facts: {} } };
  const drills = analyzeDrills([occurrence], quickstart.protocols, 1000);
  const scenario = { ...quickstart.scenario, events, timelineMs: 1000, budgets: { errorRateOverhead: 0.001 } };
  const doc: ResultDocument = { ...quickstart, scenario, drills, verdict: judgeRun(scenario, quickstart.protocols, { drills }) };

  it('the verdict judges the event, not the latency budgets', () => {
    expect(doc.verdict.checks).toEqual([]);
    expect(doc.verdict.drills?.map((c) => `${c.variant} ${c.budget}`)).toEqual(['meshed maxErrors', 'meshed recoveryS']);
    expect(doc.verdict.reasons.join('\n')).toMatch(/event 1 restart-sidecars \(http1, round 2\) meshed/);
  });
  it('the rounds an event\'s window reaches are exempt from the validity rules; the others are not', () => {
    const failing = (round: number): ResultDocument['protocols'] => quickstart.protocols.filter((x) => x.name === 'http1').map((x) => ({
      ...x, variants: Object.fromEntries(Object.entries(x.variants).map(([n, v]) => [n, { ...v, rounds: v.rounds.map((r) => (r.round === round ? { ...r, errors: r.count } : r)) }])),
    }));
    const covered = drills[0]?.rounds ?? [];
    expect(covered).toContain(1);
    expect(judgeRun(scenario, failing(1), { drills }).validity.map((v) => v.detail)).toEqual([]);
    const untouched = [0, 1, 2, 3].find((r) => !covered.includes(r));
    if (untouched !== undefined) expect(judgeRun(scenario, failing(untouched), { drills }).validity.map((v) => v.rule)).toContain('maxErrorRate');
  });

  it('summary, report.md, junit.xml and report.html show it, the variants side by side', () => {
    expect(renderSummary(doc)).toMatch(/event 1 · restart-sidecars \(hard, both\) · http1 · round 2\s+unmeshed/);
    const md = renderMarkdown(doc);
    expect(md).toMatch(/^## Drills$/m);
    expect(md).toMatch(/^\| t s \| unmeshed ok \| unmeshed errors \| unmeshed p99 ms \| meshed ok \| meshed errors \| meshed p99 ms \|$/m);
    expect(md).toContain('hard restart of both sidecars.');
    expect(renderJunit(doc)).toMatch(/name="event 1 restart-sidecars round 2 meshed errors ≤ 0"/);
    const html = renderHtmlReport(doc);
    expect(html).toMatch(/<section[^>]*id="drills"/);
    expect(html).toMatch(/<figure class="chart" id="drill-1" data-series="0 1 2 3"/);
  });
});
