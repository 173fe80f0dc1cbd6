import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import { createLatencyHistogram, decodeHistogram, encodeHistogram, recordLatency } from '../../src/histograms/index.js';
import { renderCiSummary } from '../../src/report/ci-summary.js';
import { renderComparisonFiles, renderReportFiles } from '../../src/report/index.js';
import { renderChart, renderHtmlReport, spectrumPoints, timelineChart } from '../../src/report/html/index.js';
import { niceCeiling, renderP99Chart } from '../../src/report/mermaid.js';
import type { ResultDocument } from '../../src/result.js';
import { compareRuns } from '../../src/run/judge.js';
import { QUICKSTART_MODEL, syntheticDocument, syntheticProtocol } from '../fixtures/noise-model.js';

/** A real quickstart result (meshbench run, 4 rounds × 6 s, three protocols, local HAProxy pair). */
const quickstart = JSON.parse(readFileSync(new URL('../fixtures/quickstart-result.json', import.meta.url), 'utf8')) as ResultDocument;

/** The SVG of each chart of a page, with its id. */
function charts(html: string): { id: string; svg: string; caption: string }[] {
  return [...html.matchAll(/<figure class="chart" id="([^"]+)" data-series="[\d ]*">(<svg[\s\S]*?<\/svg>)<figcaption>([\s\S]*?)<\/figcaption><\/figure>/g)]
    .map((m) => ({ id: m[1] ?? '', svg: m[2] ?? '', caption: m[3] ?? '' }));
}

/** Every id of a page (HTML and inside its SVGs): each must be unique for links and clip paths to work. */
function duplicateIds(html: string): string[] {
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1] ?? '');
  return ids.filter((id, i) => ids.indexOf(id) !== i);
}

/** The text elements of an SVG, unescaped. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => (m[1] ?? '').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'"));
}

describe('report.html of a run', () => {
  const html = renderHtmlReport(quickstart);

  it('is written by every run, self-contained, small, and the same bytes for the same document', () => {
    expect(renderReportFiles(quickstart).get('report.html')).toBe(html);
    expect(renderHtmlReport(structuredClone(quickstart))).toBe(html);
    expect(Buffer.byteLength(html)).toBeLessThan(2 * 1024 * 1024);
    // Nothing to fetch: no script, stylesheet link, frame or remote URL in any src/href; a CSP forbids loads.
    expect(html).not.toMatch(/<script|<link|<iframe|<img/i);
    expect([...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]).filter((u) => u !== undefined && /^[a-z]+:/i.test(u))).toEqual([]);
    expect(html).toContain("default-src 'none'");
    expect(duplicateIds(html)).toEqual([]);
  });

  it('has a verdict banner with the conclusion, and sections for budgets, each protocol, sidecars, proofs, environment', () => {
    expect(html).toMatch(/<div class="banner pass" role="status">\n<div class="verdict"><span class="mark" aria-hidden="true">✓<\/span> PASS<\/div>\n<p>On HTTP\/1\.1 the mesh adds 0\.37 ms \[-0\.19, 0\.93\] to p99/);
    const sections = [...html.matchAll(/<section id="([^"]+)">/g)].map((m) => m[1]);
    expect(sections).toEqual(['budgets', 'protocol-http1', 'protocol-grpc-bidi', 'protocol-websocket', 'sidecar-cost', 'path-proofs', 'environment', 'method']);
    expect(html).toContain('x-forwarded-client-cert');
    expect(html).toContain('HAProxy version 2.6.12');
  });

  it('charts each budget kind, and per protocol its spectrum, latency over time and rounds; every chart titled, axes named with units', () => {
    const found = charts(html);
    const kinds = [...new Set(quickstart.verdict.checks.map((c) => c.budget))];
    expect(found.map((c) => c.id)).toEqual([
      ...kinds.map((k) => `budget-${k}`),
      ...quickstart.protocols.flatMap((p) => [`spectrum-${p.name}`, `timeline-${p.name}`, `rounds-${p.name}`]),
      'sidecar-cpu',
    ]);
    for (const c of found) {
      const title = /aria-label="([^"]+)"/.exec(c.svg)?.[1];
      expect(title, c.id).toBeTruthy();
      expect(texts(c.svg), c.id).toContain(title?.replaceAll('&amp;', '&').replaceAll('&#39;', "'"));
      expect(c.caption.length, c.id).toBeGreaterThan(40);
      // ids inside each SVG are the chart's own (zrender's process-wide counter is replaced)
      expect(c.svg).not.toMatch(/\bzr\d+-/);
    }
    const spectrum = texts(found.find((c) => c.id === 'spectrum-http1')?.svg ?? '');
    expect(spectrum).toEqual(expect.arrayContaining(['latency (ms, log scale)', 'percentile (log scale of 1/(1−q))', '90%', '99%', '99.9%', '99.99%', 'unmeshed', 'meshed service time']));
    const timeline = texts(found.find((c) => c.id === 'timeline-grpc-bidi')?.svg ?? '');
    expect(timeline).toEqual(expect.arrayContaining(['latency (ms)', 'lag, hiccup (ms)', 'round 1', 'round 4', 'hiccup max: generator', 'hiccup max: echo (meshed)', 'send lag (max per 1 s)']));
    expect(texts(found.find((c) => c.id === 'budget-p99OverheadMs')?.svg ?? '')).toEqual(expect.arrayContaining(['P99 overhead (ms)', 'http1 · meshed', 'within budget', 'budget']));
    expect(texts(found.find((c) => c.id === 'budget-errorRateOverhead')?.svg ?? '')).toContain('error-rate overhead (%)');
  });

  it('a failed run shows FAIL and its checks over budget', () => {
    const scenario = parseScenario({ name: 'gate', rounds: 3, protocols: [{ name: 'http1', rateHz: 1000, durationS: 3 }], budgets: { p99OverheadMs: 0.5 } }, 'test');
    const failing = syntheticDocument([syntheticProtocol({ ...QUICKSTART_MODEL, stallsPerS: 2, rounds: 3, durationS: 3, meshedExtraUs: 3000 }, 7)], scenario);
    expect(failing.verdict.status).toBe('fail');
    const page = renderHtmlReport(failing);
    expect(page).toMatch(/<div class="banner fail" role="status">\n<div class="verdict"><span class="mark" aria-hidden="true">✗<\/span> FAIL/);
    expect(texts(charts(page).find((c) => c.id === 'budget-p99OverheadMs')?.svg ?? '')).toContain('over budget');
    // no proxies, no sidecar section; no interval counts or hiccups, still a timeline
    expect(page).not.toContain('id="sidecar-cost"');
    expect(charts(page).map((c) => c.id)).toContain('timeline-http1');
  });

  it('renders a run cut short: a variant without rounds or samples, no statistics, no hiccups', () => {
    const cut = structuredClone(quickstart);
    cut.interrupted = true;
    delete cut.verdict.statistics;
    const v = cut.protocols[2]?.variants['meshed'];
    if (v === undefined) throw new Error('fixture without websocket/meshed');
    const empty = encodeHistogram(createLatencyHistogram());
    Object.assign(v, { rounds: [], histogram: empty, serviceHistogram: empty, count: 0, hiccupsUs: {} });
    const page = renderHtmlReport(cut);
    expect(page).toContain('(interrupted)');
    const spectrum = charts(page).find((c) => c.id === 'spectrum-websocket');
    expect(spectrum?.svg).toContain('websocket: latency by percentile');
    // the empty variant draws nothing (series 2, 3); the other still does
    expect(/id="spectrum-websocket" data-series="([\d ]*)"/.exec(page)?.[1]).toBe('0 1');
  });
});

describe('the percentile spectrum', () => {
  it('passes through the p50, p90 and p99 the tables report (x = 1/(1−q) = 2, 10, 100)', () => {
    for (const p of quickstart.protocols) {
      for (const v of Object.values(p.variants)) {
        const at = new Map(spectrumPoints(v.histogram));
        expect(at.get(2)).toBe(v.latencyUs.p50 / 1000);
        expect(at.get(10)).toBe(v.latencyUs.p90 / 1000);
        expect(at.get(100)).toBe(v.latencyUs.p99 / 1000);
        expect(at.get(1000)).toBe(v.latencyUs.p999 / 1000);
      }
    }
  });

  it('runs from the minimum to p99.99 and never falls (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 5_000_000 }), { minLength: 1, maxLength: 400 }), (values) => {
      const h = createLatencyHistogram();
      for (const v of values) recordLatency(h, v);
      const encoded = encodeHistogram(h);
      const points = spectrumPoints(encoded);
      const decoded = decodeHistogram(encoded);
      expect(points[0]).toEqual([1, Math.round(decoded.getValueAtPercentile(0)) / 1000]);
      expect(points.at(-1)?.[0]).toBe(10_000);
      for (let i = 1; i < points.length; i++) {
        expect(points[i]?.[0]).toBeGreaterThan(points[i - 1]?.[0] ?? Infinity);
        expect(points[i]?.[1]).toBeGreaterThanOrEqual(points[i - 1]?.[1] ?? Infinity);
      }
      expect(points.at(-1)?.[1]).toBeLessThanOrEqual(decoded.getValueAtPercentile(100) / 1000);
    }), { numRuns: 40 });
  });
});

describe('latency over time', () => {
  it('has one p50 and one p99 point per 1-second interval of each variant, the lag per interval, and each hiccup record once', () => {
    const p = quickstart.protocols[0];
    if (p === undefined) throw new Error('fixture without protocols');
    const series = timelineChart('t', p, quickstart.environment.variants, true).option.series as { name: string; data: [number, number | null][] }[];
    const points = (name: string) => series.find((s) => s.name === name)?.data.filter(([, y]) => y !== null) ?? [];
    for (const variant of ['unmeshed', 'meshed']) {
      const intervals = p.variants[variant]?.rounds.flatMap((r) => r.intervals) ?? [];
      expect(intervals.length).toBe(24);
      expect(points(`${variant} p99`)).toHaveLength(intervals.length);
      expect(points(`${variant} p50`)).toHaveLength(intervals.length);
      expect(Math.max(...points(`${variant} p99`).map(([, y]) => y ?? 0))).toBe(Math.max(...intervals.map((i) => decodeHistogram(i.histogram).getValueAtPercentile(99))) / 1000);
    }
    // time pairing: both variants' intervals share their start; the lag is each interval's larger one
    const lag = points('send lag (max per 1 s)');
    expect(lag).toHaveLength(24);
    expect(Math.max(...lag.map(([, y]) => y ?? 0))).toBe(Math.max(...Object.values(p.variants).flatMap((v) => v.rounds.flatMap((r) => r.intervals.map((i) => i.counts?.maxLagUs ?? 0)))) / 1000);
    // time pairing: every round of both variants holds the whole load's record — drawn once, across all rounds
    const hiccup = points('hiccup max: generator');
    expect(hiccup).toEqual([[0, 4.571], [24, 4.571]]);
  });

  it('draws per-round hiccup records each across its own round', () => {
    const p = structuredClone(quickstart.protocols[0]);
    if (p === undefined) throw new Error('fixture without protocols');
    for (const v of Object.values(p.variants)) {
      for (const r of v.rounds) {
        const h = createLatencyHistogram();
        recordLatency(h, 1000 * (r.round + 1));
        r.hiccups = [{ source: 'generator', histogram: encodeHistogram(h), latencyUs: { ...r.latencyUs, max: 1000 * (r.round + 1) } }];
      }
    }
    const series = timelineChart('t', p, quickstart.environment.variants, true).option.series as { name: string; data: [number, number | null][] }[];
    expect(series.find((s) => s.name === 'hiccup max: generator')?.data).toEqual([
      [0, 1], [6, 1], [6, null], [6, 2], [12, 2], [12, null], [12, 3], [18, 3], [18, null], [18, 4], [24, 4], [24, null],
    ]);
  });
});

describe('charts', () => {
  it('refuse an axis without its unit', () => {
    expect(() => renderChart({ id: 'x', title: 't', caption: 'c', option: { xAxis: { type: 'value', name: 'latency' }, yAxis: { type: 'value', name: 'count (1)' }, series: [] } }))
      .toThrow(/axis "latency" needs a name/);
  });
});

describe('report.html of a comparison', () => {
  it.each([[0.5, 'inconclusive', 'INCONCLUSIVE'], [1.5, 'pass', 'NO REGRESSION']])('shows the change of each figure against the tolerance (%d ms: %s) and both spectra per protocol', (toleranceMs, status, label) => {
    // The same real run as baseline and candidate: every change is 0, its interval as wide as the two runs' spread.
    const doc = compareRuns(quickstart, quickstart, { toleranceMs, toleranceRatio: 0, baselinePath: 'a/result.json', candidatePath: 'b/result.json' });
    expect(doc.verdict.status).toBe(status);
    const files = renderComparisonFiles(doc, { baseline: quickstart, candidate: quickstart });
    const page = files.get('report.html') ?? '';
    expect(page).toContain(`<div class="banner ${status}" role="status">`);
    expect(page).toMatch(new RegExp(`<div class="verdict"><span class="mark" aria-hidden="true">.</span> ${label}</div>`));
    const found = charts(page);
    expect(found.map((c) => c.id)).toEqual(['forest-changes', ...quickstart.protocols.map((p) => `spectrum-${p.name}`)]);
    expect(texts(found[1]?.svg ?? '')).toEqual(expect.arrayContaining(['unmeshed baseline', 'unmeshed candidate', 'meshed baseline', 'meshed candidate']));
    expect(texts(found[0]?.svg ?? '')).toEqual(expect.arrayContaining(['change in P99 (ms)', 'tolerance', status === 'pass' ? 'no regression' : 'inconclusive']));
    expect(duplicateIds(page)).toEqual([]);
    expect(renderComparisonFiles(doc, null).has('report.html')).toBe(false);
  });
});

describe('the CI summary chart (Mermaid xychart-beta)', () => {
  it('has a bar per protocol × variant with its P99 and the budget as a line', () => {
    const chart = renderP99Chart(quickstart);
    expect(chart).toBe([
      '```mermaid',
      'xychart-beta',
      '    title "P99 latency (bars) and its budget (line)"',
      '    x-axis ["http1 unmeshed", "http1 meshed", "grpc-bidi unmeshed", "grpc-bidi meshed", "websocket unmeshed", "websocket meshed"]',
      '    y-axis "P99 (ms)" 0 --> 5',
      `    bar [${quickstart.protocols.flatMap((p) => [p.variants['unmeshed']?.latencyUs.p99, p.variants['meshed']?.latencyUs.p99]).map((us) => (us ?? 0) / 1000).join(', ')}]`,
      '    line [5, 5, 5, 5, 5, 5]',
      '```',
    ].join('\n'));
    expect(renderCiSummary(quickstart)).toContain(chart);
  });

  it.each([[0.62, 1], [1, 1], [1.01, 2], [3, 5], [7.2, 10], [0.031, 0.05], [0, 1]])('axis end for %d is %d', (x, end) => {
    expect(niceCeiling(x)).toBe(end);
  });
});
