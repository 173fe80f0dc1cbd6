import { zeroErrors, type ErrorKind } from '../drivers/driver.js';
import { MeshbenchError } from '../errors.js';
import { mergeEncoded, summarizeEncoded } from '../histograms/index.js';
import {
  EXCLUDING_MARKS, type DriftEstimate, type Estimate, type PeriodVerdict, type PilotMeta, type PilotRecord, type PilotSummary,
  type SegmentRecord, type WindowMark, type WindowRecord, type WindowSummary, type WindowVariant,
} from '../pilot-record.js';
import { BASELINE_VARIANT, type VariantName } from '../protocols.js';
import { RESULT_SCHEMA_VERSION, type ProtocolResult, type ResultDocument, type RoundFigures, type VariantResult } from '../result.js';
import { overheads, proxyCosts } from '../run/aggregate.js';
import { judgeRun } from '../run/judge.js';
import { linearTrend } from '../verdict/drift.js';
import { drillChecks } from '../verdict/drills.js';
import { isPilotEvent } from '../config/schema.js';
import { windowVariant } from './windows.js';

/**
 * The pilot's documents, pure functions of its folder's contents (pilot.json + windows.jsonl): a result
 * document for any set of windows (what `compare DIR@day2` takes), the verdict of each window, of each day and
 * of the whole pilot, and the drift of the overhead and of the proxies' memory. Every verdict is src/verdict's,
 * on a result document built here:
 * - a window: its blocks are the rounds (the paired block bootstrap over them, and t over them);
 * - several windows: each window is a round, its blocks the time blocks.
 */

const DAY_MS = 86_400_000;
const MIB = 1024 * 1024;

/** One round of a result built from windows: a window (or a block of one), with its proxies' usage. */
interface Unit {
  startMs: number;
  figures: Map<string, WindowVariant>; // key protocol/variant
  proxies: WindowRecord['proxies'];
}

const keyOf = (protocol: string, variant: string): string => `${protocol}/${variant}`;

function windowUnit(w: WindowRecord): Unit {
  const figures = new Map<string, WindowVariant>();
  for (const p of w.protocols) for (const [variant, v] of Object.entries(p.variants)) figures.set(keyOf(p.name, variant), v);
  return { startMs: w.startMs, figures, proxies: w.proxies };
}

/** A window's blocks as rounds of their own (the window's proxies' CPU shared among them equally). */
function blockUnits(w: WindowRecord): Unit[] {
  const n = Math.max(0, ...w.protocols.flatMap((p) => Object.values(p.variants).map((v) => v.blocks.length)));
  const share = (list: { name: string; cpuSeconds: number; rssBytes: number }[]) => list.map((p) => ({ ...p, cpuSeconds: p.cpuSeconds / n }));
  const proxies = Object.fromEntries(Object.entries(w.proxies).map(([variant, list]) => [variant, share(list)]));
  return Array.from({ length: n }, (_, b) => {
    const figures = new Map<string, WindowVariant>();
    for (const p of w.protocols) {
      for (const [variant, v] of Object.entries(p.variants)) {
        const block = v.blocks[b];
        if (block !== undefined) figures.set(keyOf(p.name, variant), windowVariant([block], 1));
      }
    }
    const firstBlock = w.protocols.flatMap((p) => Object.values(p.variants).map((v) => v.blocks[b]?.startMs ?? Infinity));
    return { startMs: Math.min(...firstBlock), figures, proxies };
  });
}

function roundOf(round: number, order: number, v: WindowVariant, proxies: RoundFigures['proxies']): RoundFigures {
  return {
    round, order,
    startedAt: new Date(v.blocks[0]?.startMs ?? 0).toISOString(),
    count: v.count,
    errors: v.errors,
    achievedRateHz: v.measuredMs > 0 ? ((v.count + v.errors) * 1000) / v.measuredMs : 0,
    latencyUs: v.latencyUs,
    maxLagUs: v.maxLagUs,
    lateShare: v.sent > 0 ? v.late / v.sent : 0,
    proxies,
    intervals: v.blocks,
    hiccups: [],
  };
}

function variantResult(units: readonly { round: number; v: WindowVariant; proxies: RoundFigures['proxies'] }[], order: number, intendedRateHz: number): VariantResult {
  const errorsByKind = zeroErrors();
  let count = 0, errors = 0, sent = 0, late = 0, maxLagUs = 0, measuredMs = 0;
  for (const { v } of units) {
    count += v.count;
    errors += v.errors;
    sent += v.sent;
    late += v.late;
    measuredMs += v.measuredMs;
    maxLagUs = Math.max(maxLagUs, v.maxLagUs);
    for (const [kind, n] of Object.entries(v.errorsByKind)) errorsByKind[kind as ErrorKind] = (errorsByKind[kind as ErrorKind] ?? 0) + n;
  }
  const histogram = mergeEncoded(units.map((u) => u.v.histogram));
  const latencyUs = summarizeEncoded(histogram);
  const rounds = units.map((u) => roundOf(u.round, order, u.v, u.proxies));
  return {
    count, errors, errorsByKind, dropped: 0, intendedRateHz,
    achievedRateHz: measuredMs > 0 ? ((count + errors) * 1000) / measuredMs : 0,
    measuredMs,
    latencyUs,
    // The pilot records latency from the intended send time only.
    serviceLatencyUs: latencyUs,
    behindUs: 0,
    maxLagUs,
    lateShare: sent > 0 ? late / sent : 0,
    histogram,
    serviceHistogram: histogram,
    rounds,
    proxies: proxyCosts(rounds, count),
    hiccupsUs: {},
  };
}

/** `unitS`: seconds per unit (a window, or a block), so "N more rounds" says how long they take. */
function resultOf(meta: PilotMeta, segment: SegmentRecord | undefined, units: readonly Unit[], unitS: number, label: string, endMs: number): ResultDocument {
  const variants = segment?.environment.variants ?? [BASELINE_VARIANT, 'meshed'];
  const scenario = {
    ...meta.scenario,
    pairing: 'time' as const,
    rounds: Math.max(1, units.length),
    protocols: meta.scenario.protocols.map((p) => ({ ...p, durationS: unitS })),
  };
  const protocols: ProtocolResult[] = [];
  for (const config of meta.scenario.protocols) {
    const perVariant: Record<VariantName, VariantResult> = {};
    variants.forEach((variant, order) => {
      const list = units.flatMap((u, round) => {
        const v = u.figures.get(keyOf(config.name, variant));
        return v === undefined ? [] : [{ round, v, proxies: u.proxies[variant] ?? [] }];
      });
      if (list.length > 0) perVariant[variant] = variantResult(list, order, config.model === 'open' ? config.rateHz : 0);
    });
    if (Object.keys(perVariant).length === 0) continue;
    protocols.push({
      name: config.name, model: config.model, rateHz: config.model === 'open' ? config.rateHz : 0,
      connections: config.connections, payloadBytes: config.payloadBytes, variants: perVariant, overhead: overheads(perVariant),
    });
  }
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: meta.tool,
    scenarioPath: `${meta.scenarioPath} (pilot ${meta.pilotId}, ${label})`,
    scenario,
    startedAt: new Date(units[0]?.startMs ?? meta.startMs).toISOString(),
    finishedAt: new Date(endMs).toISOString(),
    environment: segment?.environment ?? { kind: meta.scenario.env.kind, nodeVersion: '', platform: '', cpus: 0, facts: {}, variants },
    proofs: segment?.proofs ?? [],
    protocols,
    verdict: judgeRun(scenario, protocols),
  };
}

function windowsOf(records: readonly PilotRecord[]): WindowRecord[] {
  return records.filter((r): r is WindowRecord => r.type === 'window');
}

function segmentOf(records: readonly PilotRecord[], segment: number): SegmentRecord | undefined {
  return records.find((r): r is SegmentRecord => r.type === 'segment' && r.segment === segment);
}

/** A result document of the given windows, each a round: the input `compare` takes for `DIR@day2`. */
export function resultFromWindows(meta: PilotMeta, records: readonly PilotRecord[], windows: readonly WindowRecord[], label: string): ResultDocument {
  const first = windows[0];
  return resultOf(meta, segmentOf(records, first?.segment ?? 0), windows.map(windowUnit), meta.scenario.pilot.windowS, label, windows[windows.length - 1]?.endMs ?? meta.startMs);
}

/** One window judged on its own: its blocks are the rounds. */
export function windowResult(meta: PilotMeta, records: readonly PilotRecord[], w: WindowRecord): ResultDocument {
  const units = blockUnits(w);
  return resultOf(meta, segmentOf(records, w.segment), units, (w.endMs - w.startMs) / 1000 / Math.max(1, units.length), `window ${w.index}`, w.endMs);
}

/**
 * `day2`, `windows:10-20` (inclusive), `window:7`: the windows a selector names, for `compare DIR@<selector>`.
 * A day's or a range's marked windows are left out as they are from its verdict (src/pilot-record.ts
 * EXCLUDING_MARKS).
 */
export function selectWindows(meta: PilotMeta, records: readonly PilotRecord[], selector: string): WindowRecord[] {
  const all = windowsOf(records);
  const day = /^day(\d+)$/.exec(selector);
  const range = /^windows?:(\d+)(?:-(\d+))?$/.exec(selector);
  let chosen: WindowRecord[];
  if (day !== null) chosen = all.filter((w) => dayOf(meta, w) === Number(day[1]));
  else if (range !== null) {
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    chosen = all.filter((w) => w.index >= from && w.index <= to);
  } else {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `"${selector}" names no windows: use DIR@day<N> (1-based) or DIR@windows:<from>-<to> (window indexes, inclusive)`);
  }
  const marks = baseMarks(records);
  const judged = chosen.filter((w) => {
    const m = [...(marks.get(w.index) ?? []), ...invalidMark(windowResult(meta, records, w))];
    return !m.some((x) => EXCLUDING_MARKS.includes(x));
  });
  if (judged.length === 0) throw new MeshbenchError('MB_BAD_ARGUMENT', `"${selector}" holds no judged window (${chosen.length} closed, ${all.length} in the pilot)`);
  return judged;
}

function dayOf(meta: PilotMeta, w: WindowRecord): number {
  return Math.floor((w.startMs - meta.startMs) / DAY_MS) + 1;
}

/** The window's own verdict found it invalid (errors, rate not achieved, generator behind). */
function invalidMark(windowDoc: ResultDocument): WindowMark[] {
  return windowDoc.verdict.validity.length > 0 ? ['invalid'] : [];
}

/** Marks from the records alone (`invalid` needs the window's verdict: invalidMark). */
export function baseMarks(records: readonly PilotRecord[]): Map<number, WindowMark[]> {
  const out = new Map<number, WindowMark[]>();
  const seenSegment = new Set<number>();
  for (const w of windowsOf(records)) {
    const marks: WindowMark[] = [];
    if (w.partial) marks.push('partial');
    if (w.segment > 0 && !seenSegment.has(w.segment)) marks.push('restart');
    seenSegment.add(w.segment);
    if (w.protocols.some((p) => Object.values(p.variants).some((v) => v.errors > 0))) marks.push('errors');
    if ((w.drills ?? []).length > 0) marks.push('drill');
    out.set(w.index, marks);
  }
  return out;
}

function overheadEstimate(doc: ResultDocument, protocol: string, variant: string): Estimate | null {
  const e = doc.verdict.statistics?.estimates.find((x) => x.protocol === protocol)?.overhead[variant]?.p99Us;
  return e == null ? null : { estimate: e.estimate, low: e.low, high: e.high };
}

function periodVerdict(meta: PilotMeta, records: readonly PilotRecord[], windows: readonly WindowSummary[], label: string): PeriodVerdict {
  const excluded = windows.filter((w) => w.marks.some((m) => EXCLUDING_MARKS.includes(m)));
  const judged = windows.filter((w) => !excluded.includes(w));
  const byIndex = new Map(windowsOf(records).map((w) => [w.index, w]));
  const chosen = judged.flatMap((w) => byIndex.get(w.index) ?? []);
  return {
    label,
    windows: judged.map((w) => w.index),
    excluded: excluded.map((w) => ({ index: w.index, marks: w.marks })),
    verdict: chosen.length === 0 ? null : resultFromWindows(meta, records, chosen, label).verdict,
  };
}

function drift(meta: PilotMeta, windows: readonly WindowSummary[], confidence: number): DriftEstimate[] {
  const judged = windows.filter((w) => !w.marks.some((m) => EXCLUDING_MARKS.includes(m)));
  const atDays = (w: WindowSummary): number => ((w.startMs + w.endMs) / 2 - meta.startMs) / DAY_MS;
  const series = new Map<string, Omit<DriftEstimate, 'slopePerDay' | 'low' | 'high' | 'confidence' | 'windows' | 'trending'> & { points: { x: number; y: number }[] }>();
  const add = (key: string, base: Omit<DriftEstimate, 'slopePerDay' | 'low' | 'high' | 'confidence' | 'windows' | 'trending'> , x: number, y: number): void => {
    const s = series.get(key) ?? { ...base, points: [] };
    s.points.push({ x, y });
    series.set(key, s);
  };
  for (const w of judged) {
    for (const p of w.protocols) {
      for (const variant of Object.keys(p.p99OverheadUs)) {
        const v = p.variants[variant];
        const base = p.variants[BASELINE_VARIANT];
        if (v === undefined || base === undefined) continue;
        add(`o/${p.name}/${variant}`, { figure: 'p99 overhead', unit: 'ms', protocol: p.name, variant }, atDays(w), (v.p99Us - base.p99Us) / 1000);
      }
    }
    for (const [variant, proxies] of Object.entries(w.proxies)) {
      for (const proxy of proxies) add(`m/${variant}/${proxy.name}`, { figure: `${proxy.name} RSS`, unit: 'MiB', protocol: null, variant }, atDays(w), proxy.rssBytes / MIB);
    }
  }
  const out: DriftEstimate[] = [];
  for (const s of series.values()) {
    const t = linearTrend(s.points, confidence);
    if (t === null) continue;
    out.push({ figure: s.figure, unit: s.unit, protocol: s.protocol, variant: s.variant, slopePerDay: t.slope, low: t.low, high: t.high, confidence, windows: t.n, trending: t.low > 0 || t.high < 0 });
  }
  return out;
}

/**
 * A window with its own verdict; `marks` are those its records give (baseMarks; `invalid` is added here). The
 * records need to hold the window's segment.
 */
export function summarizeWindow(meta: PilotMeta, records: readonly PilotRecord[], w: WindowRecord, marks: readonly WindowMark[]): WindowSummary {
  const doc = windowResult(meta, records, w);
  return {
    index: w.index, segment: w.segment, day: dayOf(meta, w), startMs: w.startMs, endMs: w.endMs,
    marks: [...marks, ...invalidMark(doc)],
    status: doc.verdict.status, reasons: doc.verdict.reasons, checks: doc.verdict.checks,
    protocols: w.protocols.map((p) => ({
      name: p.name,
      variants: Object.fromEntries(Object.entries(p.variants).map(([variant, v]) => [variant, { count: v.count, errors: v.errors, p50Us: v.latencyUs.p50, p99Us: v.latencyUs.p99 }])),
      p99OverheadUs: Object.fromEntries(Object.keys(p.variants).filter((v) => v !== BASELINE_VARIANT).map((v) => [v, overheadEstimate(doc, p.name, v)])),
    })),
    proxies: w.proxies,
  };
}

/** The pilot's drill: its windows' events and their budgets' checks, judged as a run's drill is (src/verdict/drills.ts). */
function pilotDrills(meta: PilotMeta, windows: readonly WindowRecord[]): PilotSummary['drills'] {
  const events = (meta.scenario.events ?? []).filter(isPilotEvent).length === 0 ? [] : meta.scenario.events;
  const results = windows.flatMap((w) => w.drills ?? []);
  const checks = drillChecks(events, results);
  const judged = checks.filter((c) => c.budget !== 'happened');
  const status = events.length === 0 ? null
    : checks.some((c) => c.status === 'fail') ? 'fail'
    : judged.length === 0 || checks.some((c) => c.status === 'inconclusive') ? 'inconclusive'
    : 'pass';
  return { events, results, checks, status };
}

/** Everything the pilot's reports show (pilot-summary.json), from its folder's contents alone. */
export function summarizePilot(meta: PilotMeta, records: readonly PilotRecord[]): PilotSummary {
  const all = windowsOf(records);
  const marks = baseMarks(records);
  const windows = all.map((w) => summarizeWindow(meta, records, w, marks.get(w.index) ?? []));
  const days = [...new Set(windows.map((w) => w.day))].sort((a, b) => a - b).map((day) => periodVerdict(meta, records, windows.filter((w) => w.day === day), `day ${day}`));
  let lastEndMs: number | null = null;
  const segments: PilotSummary['segments'] = [];
  for (const r of records) {
    if (r.type === 'segment') segments.push({ segment: r.segment, startedAt: r.startedAt, gapS: lastEndMs === null ? null : Math.max(0, (r.startMs - lastEndMs) / 1000) });
    else lastEndMs = r.endMs;
  }
  const last = all[all.length - 1];
  return {
    kind: 'meshbench-pilot-summary',
    pilotId: meta.pilotId,
    scenario: meta.scenario.name,
    startedAt: meta.startedAt,
    forS: meta.forS,
    windowS: meta.scenario.pilot.windowS,
    coveredUntil: last === undefined ? null : new Date(last.endMs).toISOString(),
    segments,
    windows,
    days,
    whole: periodVerdict(meta, records, windows, 'whole pilot'),
    drift: drift(meta, windows, meta.scenario.statistics.confidence),
    drills: pilotDrills(meta, all),
  };
}
