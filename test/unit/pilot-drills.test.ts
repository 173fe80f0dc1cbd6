import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { scenarioSchema, type DrillEvent, type Scenario } from '../../src/config/schema.js';
import { analyzeWindowDrills } from '../../src/drills/analyze.js';
import { eventsInWindow, nextWindowOf, WindowDrills, type WindowOccurrence } from '../../src/drills/windows.js';
import type { DrillOutcome, RunningEnv } from '../../src/envs/env.js';
import { MeshbenchError } from '../../src/errors.js';
import type { WindowRecord } from '../../src/pilot-record.js';
import { summarizePilot } from '../../src/pilot/documents.js';
import { checkPilotEvents } from '../../src/pilot/run.js';
import { renderPilotFiles } from '../../src/report/pilot.js';
import { runScenario } from '../../src/run/run-scenario.js';
import { pilotMeta, records } from '../fixtures/pilot-folder.js';
import { syntheticInterval } from '../fixtures/pilot-records.js';

const pause = (extra: Partial<DrillEvent> & { atS: number }): DrillEvent => ({ action: 'sidecar-pause', sidecar: 'both', pauseMs: 10, budgets: {}, ...extra }) as DrillEvent;

describe('which windows an event happens in (src/drills/windows.ts)', () => {
  const event = fc.record({ window: fc.integer({ min: 1, max: 12 }), every: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }), atS: fc.double({ min: 0.5, max: 9.9, noNaN: true }) });

  it('an event is in the window it names and, with every: K, in every K-th after it — never before (property)', () => {
    fc.assert(fc.property(fc.array(event, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 40 }), (specs, w) => {
      const events = specs.map((s) => pause({ window: s.window, atS: s.atS, ...(s.every === undefined ? {} : { every: s.every }) }));
      const listed = eventsInWindow(events, w);
      expect(new Set(listed).size).toBe(listed.length); // at most once per window
      events.forEach((e, i) => {
        const first = (e.window ?? 1) - 1;
        const expected = w === first || (e.every !== undefined && w > first && (w - first) % e.every === 0);
        expect(listed.includes(i)).toBe(expected);
        const next = nextWindowOf(e, w);
        if (next !== null) expect(next).toBeGreaterThanOrEqual(Math.max(w, first)); // never before its window, nor before `from`
      });
      // in the order they start
      const at = listed.map((i) => events[i]?.atS ?? 0);
      expect(at).toEqual([...at].sort((a, b) => a - b));
    }));
  });

  it('a round\'s event is in no window', () => {
    expect(eventsInWindow([pause({ atS: 1, round: 1 })], 0)).toEqual([]);
  });
});

/** A pair whose drill() records when it ran: the scheduler is under test here, the real pair in test/e2e/pilot-drills.test.ts. */
function recordingEnv(actionMs = 0): { env: RunningEnv; calls: { atMs: number }[] } {
  const calls: { atMs: number }[] = [];
  const env = {
    kind: 'local',
    drill: async (): Promise<DrillOutcome> => {
      const startedAtMs = Date.now();
      calls.push({ atMs: startedAtMs });
      if (actionMs > 0) await new Promise((r) => setTimeout(r, actionMs));
      return { startedAtMs, finishedAtMs: Date.now(), detail: 'paused', facts: {} };
    },
  } as unknown as RunningEnv;
  return { env, calls };
}

describe('WindowDrills: each event at its window\'s start + atS on the pilot\'s grid', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_800_000_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('runs each event once per window it names, never before the window\'s start + atS, never overlapping; a resume skips earlier windows (property)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ window: fc.integer({ min: 1, max: 6 }), every: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), atMs: fc.integer({ min: 500, max: 3900 }) }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 400 }),
      async (specs, firstWindow, actionMs) => {
        // atS doubles as the event's id in the calls (distinct per event)
        const events = specs.map((s, i) => pause({ window: s.window, atS: s.atMs / 1000 + i * 1e-6, ...(s.every === undefined ? {} : { every: s.every }) }));
        const { env, calls } = recordingEnv(actionMs);
        const windowS = 4;
        const gridMs = Date.now() + 300;
        const lastWindow = firstWindow + 5;
        const stop = new AbortController();
        const drills = new WindowDrills(env, events, windowS, firstWindow, gridMs + (lastWindow - firstWindow + 1) * windowS * 1000, stop.signal);
        drills.anchor(gridMs);
        const closed: WindowOccurrence[] = [];
        for (let w = firstWindow; w <= lastWindow; w++) {
          await vi.advanceTimersByTimeAsync(gridMs + (w - firstWindow + 1) * windowS * 1000 - Date.now());
          const closing = drills.close(w);
          await vi.advanceTimersByTimeAsync(actionMs + 1);
          const got = await closing;
          expect(got.map((o) => o.index).sort()).toEqual(eventsInWindow(events, w).sort());
          closed.push(...got);
        }
        await drills.finish();
        for (const o of closed) {
          const startMs = gridMs + (o.window - firstWindow) * windowS * 1000;
          expect(o.window).toBeGreaterThanOrEqual(firstWindow);
          if (o.outcome !== undefined) expect(o.outcome.startedAtMs).toBeGreaterThanOrEqual(startMs + o.event.atS * 1000 - 1);
        }
        // never two at once
        const spans = closed.flatMap((o) => (o.outcome === undefined ? [] : [o.outcome])).sort((a, b) => a.startedAtMs - b.startedAtMs);
        spans.forEach((s, i) => { if (i > 0) expect(s.startedAtMs).toBeGreaterThanOrEqual(spans[i - 1]?.finishedAtMs ?? 0); });
        expect(calls.length).toBe(spans.length);
        // nothing of a window before the first one (a resumed segment's) ran
        expect(closed.every((o) => o.window >= firstWindow)).toBe(true);
      },
    ), { numRuns: 40 });
  });

  it('a stopped pilot starts no more events; the window\'s remaining events are marked as never reached', async () => {
    const events = [pause({ window: 1, atS: 1 }), pause({ window: 1, atS: 3 })];
    const { env, calls } = recordingEnv();
    const stop = new AbortController();
    const gridMs = Date.now();
    const drills = new WindowDrills(env, events, 5, 0, gridMs + 60_000, stop.signal);
    drills.anchor(gridMs);
    await vi.advanceTimersByTimeAsync(2000);
    stop.abort();
    await vi.advanceTimersByTimeAsync(5000);
    const got = await drills.close(0);
    expect(calls).toHaveLength(1);
    expect(got.map((o) => [o.index, o.outcome !== undefined, o.error ?? null])).toEqual([[0, true, null], [1, false, 'did not happen: the pilot was stopped first']]);
  });

  it('a window closed before its event was due (the pilot ended inside it) never starts it; the next window\'s still runs', async () => {
    const { env, calls } = recordingEnv();
    const gridMs = Date.now();
    const drills = new WindowDrills(env, [pause({ window: 1, every: 1, atS: 3 })], 4, 0, gridMs + 60_000, new AbortController().signal);
    drills.anchor(gridMs);
    await vi.advanceTimersByTimeAsync(2000);
    const early = await drills.close(0); // cut at 2 s (e.g. a generator restart handed it over partial)
    expect(early.map((o) => o.error)).toEqual(['did not happen: its window closed first']);
    await vi.advanceTimersByTimeAsync(1500); // 3.5 s: window 0's time passes, nothing starts
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(4000); // window 1 at 4 s + 3 s
    expect(calls.map((c) => c.atMs - gridMs)).toEqual([7000]);
    expect((await drills.close(1)).map((o) => o.outcome?.detail)).toEqual(['paused']);
  });

  it('the grid moves with a better anchor until the event starts; an event past the pilot\'s end is not started', async () => {
    const { env, calls } = recordingEnv();
    const gridMs = Date.now();
    const drills = new WindowDrills(env, [pause({ window: 1, every: 1, atS: 2 })], 3, 0, gridMs + 7_000, new AbortController().signal);
    drills.anchor(gridMs);
    drills.anchor(gridMs + 500); // the first progress report: the warm-up ended later than estimated
    await vi.advanceTimersByTimeAsync(2400);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls.map((c) => c.atMs - gridMs)).toEqual([2500]);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(calls.map((c) => c.atMs - gridMs)).toEqual([2500, 5500]); // window 2 (starts 6.5 s) would start its event at 8.5 s > the end
  });
});

describe('analyzeWindowDrills: a pilot window\'s events on its own 1 s intervals', () => {
  const T0 = 1_800_000_000_000;
  // 8 intervals; the event at 3.2 s: the meshed variant fails 30 in interval 3 and is slow in 4; healthy again from 5
  const series = (['unmeshed', 'meshed'] as const).map((variant) => ({
    protocol: 'http1' as const, variant,
    intervals: Array.from({ length: 8 }, (_, i) => syntheticInterval(T0 + i * 1000, 100, variant === 'meshed' && i === 4 ? 50_000 : 300, 0, i, variant === 'meshed' && i === 3 ? 30 : 0)),
  }));
  const occ = (index: number, atMs: number, extra: Partial<WindowOccurrence> = {}): WindowOccurrence => ({
    index, event: pause({ window: 3, atS: atMs / 1000 }), window: 2, dueMs: T0 + atMs,
    outcome: { startedAtMs: T0 + atMs, finishedAtMs: T0 + atMs + 10, detail: 'paused both sidecars', facts: {} }, ...extra,
  });

  it.each([
    { name: 'one event: errors by kind, recovery where the healthy second begins, the window\'s p99 before it as reference', occurrences: [occ(0, 3200)], meshedErrors: [30], recoveryS: [1.8], windowS: [4.8] },
    { name: 'two events: the first\'s window ends where the second starts', occurrences: [occ(1, 6500), occ(0, 3200)], meshedErrors: [30, 0], recoveryS: [1.8, 0], windowS: [3.3, 1.5] },
    { name: 'an event that never happened has no figures', occurrences: [occ(0, 3200, { outcome: undefined, error: 'did not happen: its window closed first', erroredAtMs: T0 + 7000 })], meshedErrors: [undefined], recoveryS: [undefined], windowS: [1] },
  ])('$name', ({ occurrences, meshedErrors, recoveryS, windowS }) => {
    const drills = analyzeWindowDrills(occurrences, series);
    expect(drills.map((d) => d.variants['meshed']?.errors)).toEqual(meshedErrors);
    expect(drills.map((d) => d.variants['meshed']?.recoveryS)).toEqual(recoveryS);
    expect(drills.map((d) => d.windowS)).toEqual(windowS);
    expect(drills.every((d) => d.window === 2 && d.round === 2 && d.timelineMs === 1000)).toBe(true);
    const first = drills[0];
    if (first?.detail !== null) {
      expect(first?.variants['meshed']?.errorsByKind).toEqual({ timeout: 30 });
      expect(first?.variants['unmeshed']?.errors).toBe(0); // the control, side by side
      expect(first?.variants['meshed']?.timeline[0]?.offsetMs).toBe(-2200); // from 2 s before the event, at the intervals' 1 s resolution
    }
  });
});

describe('pilot events in the scenario (schema, `meshbench pilot`, `meshbench run`)', () => {
  const base = { name: 'p', protocols: [{ name: 'http1' }], budgets: { p99OverheadMs: 1 }, pilot: { windowS: 10 } };
  const parse = (events: unknown[], extra: object = {}) => scenarioSchema.safeParse({ ...base, ...extra, events });

  it('a pilot\'s events keep the latency budgets (the windows without events are judged on them)', () => {
    const r = parse([{ action: 'restart-sidecars', window: 2, every: 3, atS: 5, budgets: { maxErrors: 0 } }]);
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    expect(r.data?.events[0]).toMatchObject({ window: 2, every: 3 });
    expect(r.data?.events[0]?.round).toBeUndefined();
  });
  it.each([
    { name: 'window and round together', events: [{ action: 'restart-sidecars', window: 1, round: 1, atS: 1 }], message: /not both: remove round/ },
    { name: 'a round\'s event among window events', events: [{ action: 'restart-sidecars', window: 1, atS: 1 }, { action: 'rotate-certs', atS: 1 }], message: /give this one a window/ },
    { name: 'atS past the window', events: [{ action: 'restart-sidecars', window: 1, atS: 10 }], message: /below pilot.windowS \(10\)/ },
    { name: 'no latency budget', events: [{ action: 'restart-sidecars', window: 1, atS: 1 }], extra: { budgets: {} }, message: /no latency budget/ },
  ])('refuses $name', ({ events, extra, message }) => {
    const r = parse(events, extra);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(message);
  });

  const scenario = (events: unknown[], extra: object = {}): Scenario => scenarioSchema.parse({ ...base, ...extra, events });
  it.each([
    { name: 'a round\'s event', s: scenario([{ action: 'restart-sidecars', atS: 1 }], { budgets: {} }), forS: 60, message: /names no window: .*give it window: N/ },
    { name: 'a window past the pilot\'s end', s: scenario([{ action: 'restart-sidecars', window: 7, atS: 1 }]), forS: 60, message: /window 7 is past the pilot's last window \(--for 60 s in windows of 10 s: 6\)/ },
    { name: 'atS past a window shortened by --window', s: { ...scenario([{ action: 'restart-sidecars', window: 1, atS: 8 }]), pilot: { windowS: 5, blocksPerWindow: 12 } }, forS: 60, message: /atS 8 must fall inside the window: below its length \(5 s\)/ },
  ])('meshbench pilot refuses $name before anything starts (exit 3)', ({ s, forS, message }) => {
    expect(() => checkPilotEvents(s, forS)).toThrow(message);
    try {
      checkPilotEvents(s, forS);
    } catch (err) {
      expect(err).toBeInstanceOf(MeshbenchError);
      expect((err as MeshbenchError).code).toBe('MB_BAD_SCENARIO');
    }
  });
  it('meshbench pilot takes its window events; meshbench run refuses them before starting anything', async () => {
    const s = scenario([{ action: 'restart-sidecars', window: 6, atS: 9 }]);
    expect(() => checkPilotEvents(s, 60)).not.toThrow();
    await expect(runScenario(s, { scenarioPath: 'p.yaml' })).rejects.toThrow(/events\[0\] names a pilot window .*meshbench pilot/);
  });
});

describe('a drilled window in the pilot\'s documents and reports', () => {
  const meta = pilotMeta(10, { events: [{ action: 'restart-sidecars', window: 2, atS: 4, budgets: { maxErrors: 0, recoveryS: 5 } }] });
  const HOUR = 3_600_000;
  const plans = Array.from({ length: 4 }, (_, k) => ({ startMs: meta.startMs + k * HOUR, overheadUs: 200, errors: k === 1 ? 3 : 0 }));
  const recs = records(meta, plans);
  const drilled = recs.find((r): r is WindowRecord => r.type === 'window' && r.index === 1) as WindowRecord;
  // the drilled window's own intervals, as the fixture built them (same seeds): 3 meshed errors in each
  const series = (['unmeshed', 'meshed'] as const).map((variant) => ({
    protocol: 'http1' as const, variant,
    intervals: Array.from({ length: 10 }, (_, i) => syntheticInterval(drilled.startMs + i * 1000, 100, 300, variant === 'meshed' ? 200 : 0, i + 1 + (variant === 'meshed' ? 1 : 0), variant === 'meshed' ? 3 : 0)),
  }));
  const at = drilled.startMs + 4000;
  drilled.drills = analyzeWindowDrills([{ index: 0, event: meta.scenario.events[0] as DrillEvent, window: 1, dueMs: at, outcome: { startedAtMs: at, finishedAtMs: at + 40, detail: 'hitless reload of both sidecars', facts: {} } }], series);
  const summary = summarizePilot(meta, recs);

  it('the window is marked `drill` and left out of the steady-state verdicts; the event is judged by its budgets', () => {
    expect(summary.windows[1]?.marks).toContain('drill');
    expect(summary.whole.windows).toEqual([0, 2, 3]);
    expect(summary.whole.excluded.find((e) => e.index === 1)?.marks).toContain('drill');
    expect(summary.drills.checks.map((c) => `${c.variant} ${c.budget} ${c.status} ${c.actual}`)).toEqual(['meshed maxErrors fail 18', 'meshed recoveryS fail null']);
    expect(summary.drills.status).toBe('fail');
  });

  it('pilot.md and report.html show the event, the same bytes every time', () => {
    const files = renderPilotFiles(summary);
    expect(renderPilotFiles(summarizePilot(meta, JSON.parse(JSON.stringify(recs))))).toEqual(files);
    const md = files.get('pilot.md') ?? '';
    expect(md).toMatch(/^## Drill: FAIL$/m);
    expect(md).toMatch(/^- fail: event 1 restart-sidecars \(http1, window #1\) meshed: 18 errors > maxErrors 0$/m);
    expect(md).toMatch(/^#### event 1 · restart-sidecars \(hitless, both\) · http1 · window #1$/m);
    expect(md).toMatch(/\*\*drill\*\* — a drill event ran in it/);
    const html = files.get('report.html') ?? '';
    expect(html).toMatch(/<section[^>]*id="drills"/);
    expect(html).toContain('hitless reload of both sidecars.');
  });

  it('a pilot without events has no drill', () => {
    const plain = pilotMeta(10);
    const s = summarizePilot(plain, records(plain, plans.map((p) => ({ ...p, errors: 0 }))));
    expect(s.drills).toEqual({ events: [], results: [], checks: [], status: null });
    expect(renderPilotFiles(s).get('pilot.md')).not.toMatch(/## Drill/);
  });
});
