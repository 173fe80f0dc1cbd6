import { describe, expect, it } from 'vitest';
import { EXCLUDING_MARKS } from '../../src/pilot-record.js';
import { resultFromWindows, selectWindows, summarizePilot } from '../../src/pilot/documents.js';
import { renderPilotFiles } from '../../src/report/pilot.js';
import { linearTrend } from '../../src/verdict/drift.js';
import { PILOT_START_MS, pilotMeta, records } from '../fixtures/pilot-folder.js';

const HOUR = 3_600_000;
const meta = pilotMeta(20);
const at = (hours: number) => PILOT_START_MS + hours * HOUR;

describe('summarizePilot', () => {
  // 30 windows over 2 days: a steady 200 µs overhead; a restart after window 9; errors in window 20; a partial last window
  const plans = Array.from({ length: 30 }, (_, k) => ({
    startMs: at(k * 1.6),
    overheadUs: 200,
    segment: k < 10 ? 0 : 1,
    errors: k === 20 ? 40 : 0,
    rssBytes: (40 + k) * 1024 * 1024, // the client sidecar grows 1 MiB per window (= per 1.6 h): a leak
    ...(k === 29 ? { intervals: 7 } : {}),
  }));
  const recs = records(meta, plans);
  const summary = summarizePilot(meta, recs);

  it('judges every window on its own and marks partial, restart, errors and invalid windows', () => {
    expect(summary.windows).toHaveLength(30);
    expect(summary.windows[29]?.marks).toContain('partial');
    expect(summary.windows[10]?.marks).toContain('restart');
    expect(summary.windows[20]?.marks).toEqual(expect.arrayContaining(['errors', 'invalid'])); // 40 of 140 failed > maxErrorRate 5 %
    expect(summary.windows.filter((w) => w.marks.length === 0)).toHaveLength(27);
    const clean = summary.windows[3];
    expect(clean?.status, clean?.reasons.join('\n')).toBe('pass');
    const o = clean?.protocols[0]?.p99OverheadUs.meshed;
    expect(o).not.toBeNull();
    expect(o!.low).toBeLessThanOrEqual(200 + 30);
    expect(o!.high).toBeGreaterThanOrEqual(200 - 30);
  });

  it('days and the whole pilot: one round per judged window, the excluded ones listed, not averaged in', () => {
    expect(summary.days.map((d) => d.label)).toEqual(['day 1', 'day 2']);
    expect(summary.whole.windows).toHaveLength(27);
    expect(summary.whole.excluded.map((e) => e.index).sort((a, b) => a - b)).toEqual([10, 20, 29]);
    expect(summary.whole.excluded.every((e) => e.marks.some((m) => EXCLUDING_MARKS.includes(m)))).toBe(true);
    expect(summary.whole.verdict?.status).toBe('pass');
    const check = summary.whole.verdict?.checks.find((c) => c.budget === 'p99OverheadMs');
    expect(check?.interval?.low).toBeLessThan(0.2 + 0.02);
    expect(check?.interval?.high).toBeGreaterThan(0.2 - 0.02);
    expect(summary.days.reduce((n, d) => n + d.windows.length + d.excluded.length, 0)).toBe(30);
  });

  it('drift: the leaking sidecar is rising at its true rate; the steady overhead shows no trend', () => {
    const rss = summary.drift.find((d) => d.figure === 'client-sidecar RSS');
    const perDay = 24 / 1.6; // MiB per day
    expect(rss?.trending).toBe(true);
    expect(rss?.slopePerDay).toBeCloseTo(perDay, 6);
    const overhead = summary.drift.find((d) => d.figure === 'p99 overhead');
    expect(overhead?.low).toBeLessThanOrEqual(0.0001);
    expect(overhead?.high).toBeGreaterThanOrEqual(-0.0001);
  });

  it('records the gap of every resume', () => {
    expect(summary.segments.map((s) => s.segment)).toEqual([0, 1]);
    expect(summary.segments[0]?.gapS).toBeNull();
    expect(summary.segments[1]?.gapS).toBeGreaterThan(0);
  });

  it('reports are a pure function of the folder: the same records give the same bytes', () => {
    const again = renderPilotFiles(summarizePilot(meta, JSON.parse(JSON.stringify(recs))));
    expect(again).toEqual(renderPilotFiles(summary));
    const md = again.get('pilot.md') ?? '';
    expect(md).toMatch(/## Verdict over the whole pilot/);
    expect(md).toMatch(/client-sidecar RSS \(meshed\) \| [\d.]+ MiB\/day .* \| rising/);
  });
});

describe('selectWindows and resultFromWindows (compare DIR@day1, DIR@windows:a-b)', () => {
  const recs = records(meta, Array.from({ length: 8 }, (_, k) => ({ startMs: at(k * 5), overheadUs: k < 4 ? 100 : 600 })));
  it.each([
    ['day1', [0, 1, 2, 3, 4]],
    ['day2', [5, 6, 7]],
    ['windows:2-4', [2, 3, 4]],
    ['window:6', [6]],
  ])('%s selects %j', (selector, indexes) => {
    expect(selectWindows(meta, recs, selector).map((w) => w.index)).toEqual(indexes);
  });

  it.each(['day9', 'weeks:1', 'windows:50-60'])('%s is bad input naming what it takes', (selector) => {
    expect(() => selectWindows(meta, recs, selector)).toThrow(/day|windows/);
  });

  it('a selection is a result document whose rounds are its windows, judged as a run would be', () => {
    const doc = resultFromWindows(meta, recs, selectWindows(meta, recs, 'windows:4-7'), 'windows:4-7');
    const meshed = doc.protocols[0]?.variants.meshed;
    expect(meshed?.rounds).toHaveLength(4);
    expect(meshed?.count).toBe(4 * 20 * 100);
    expect(doc.scenario.rounds).toBe(4);
    expect(doc.protocols[0]?.overhead.meshed?.p99Us).toBeGreaterThan(500);
    expect(doc.verdict.statistics?.estimates[0]?.overhead.meshed?.p99Us).not.toBeNull();
  });
});

describe('linearTrend', () => {
  it.each([
    [[{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }, { x: 3, y: 7 }], 2, 0],
    [[{ x: 0, y: 5 }, { x: 1, y: 5 }, { x: 2, y: 5 }], 0, 0],
  ])('an exact line: slope %#, zero-width interval', (points, slope, width) => {
    const t = linearTrend(points, 0.95);
    expect(t?.slope).toBeCloseTo(slope, 12);
    expect((t?.high ?? NaN) - (t?.low ?? NaN)).toBeCloseTo(width, 12);
  });

  it('noise around a line: the interval holds the slope; fewer than 3 points or one x: none', () => {
    const points = Array.from({ length: 40 }, (_, i) => ({ x: i, y: 0.5 * i + (i % 2 === 0 ? 1 : -1) }));
    const t = linearTrend(points, 0.95);
    expect(t!.low).toBeLessThan(0.5);
    expect(t!.high).toBeGreaterThan(0.5);
    expect(linearTrend(points.slice(0, 2), 0.95)).toBeNull();
    expect(linearTrend([{ x: 1, y: 1 }, { x: 1, y: 2 }, { x: 1, y: 3 }], 0.95)).toBeNull();
  });
});
