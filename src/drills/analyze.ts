import { decodeHistogram, mergeEncoded, summarizeEncoded, type IntervalHistogram } from '../histograms/index.js';
import type { DrillResult, DrillTimelinePoint, DrillVariantFigures, ProtocolResult, RoundFigures } from '../result.js';
import type { ErrorKind } from '../drivers/driver.js';
import type { Protocol, VariantName } from '../protocols.js';
import type { Occurrence } from './schedule.js';
import type { WindowOccurrence } from './windows.js';

/**
 * What each event cost, from the load's own interval histograms (the generator recorded them; nothing is
 * sampled twice). Per variant the load drove:
 * - the window: from the interval holding the event's start to the next event of the same load, or the load's
 *   end (what an event sets off — a drained process cut minutes later — is its own, whatever round it lands in):
 *   its errors by kind, responses, worst interval p99 and largest latency;
 * - the timeline: every interval from TIMELINE_BEFORE_MS before the event to the window's end;
 * - recovery: the reference is the p99 of the round's intervals before the event. An interval is healthy when
 *   it answered something, failed nothing and its p99 is at most max(RECOVERY_FACTOR × reference, reference +
 *   RECOVERY_SLACK_US); the p99 has recovered at the start of the first run of healthy intervals that lasts
 *   STABLE_MS — recoveryS counts from the event's start to there (0 when the event did not disturb it), and is
 *   null when no such run fits in the window.
 */

export const TIMELINE_BEFORE_MS = 2000;
export const RECOVERY_FACTOR = 2;
export const RECOVERY_SLACK_US = 1000;
export const STABLE_MS = 1000;

export function analyzeDrills(occurrences: readonly Occurrence[], protocols: readonly ProtocolResult[], timelineMs: number): DrillResult[] {
  const sorted = [...occurrences].sort((a, b) => startOf(a) - startOf(b));
  return sorted.map((o) => {
    const startedAtMs = startOf(o);
    const p = protocols.find((x) => x.name === o.protocol);
    // The window ends at the next event of the same load (same protocol, same variants).
    const next = sorted.find((x) => x !== o && x.protocol === o.protocol && x.variants.join() === o.variants.join() && startOf(x) > startedAtMs);
    const variants: Record<string, DrillVariantFigures> = {};
    const covered = new Set<number>([o.round]);
    let windowS = 0;
    for (const name of o.variants) {
      const { first, count } = o.loadRounds;
      const rounds = (p?.variants[name]?.rounds ?? []).filter((r) => r.round >= first && r.round < first + count);
      const round = roundAt(rounds, startedAtMs) ?? rounds.find((r) => r.round === o.round);
      if (round === undefined) continue;
      const endMs = Math.min(next === undefined ? Infinity : startOf(next), Math.max(...rounds.map(lastEnd)));
      windowS = Math.max(windowS, Math.max(0, endMs - startedAtMs) / 1000);
      for (const r of rounds) if (r.intervals.some((i) => i.endMs > startedAtMs && i.startMs < endMs)) covered.add(r.round);
      variants[name] = variantFigures(round.intervals, rounds.flatMap((r) => r.intervals), startedAtMs, endMs);
    }
    const result: DrillResult = {
      event: o.index, action: o.event.action, protocol: o.protocol, round: o.round,
      startedAtMs, actionMs: o.outcome === undefined ? 0 : o.outcome.finishedAtMs - o.outcome.startedAtMs,
      detail: o.outcome?.detail ?? null, facts: o.outcome?.facts ?? {},
      windowS, rounds: [...covered].sort((a, b) => a - b), timelineMs, variants,
    };
    if (o.error !== undefined) result.error = o.error;
    return result;
  });
}

function startOf(o: Occurrence): number {
  return o.outcome?.startedAtMs ?? o.erroredAtMs ?? 0;
}

function lastEnd(round: RoundFigures): number {
  return Math.max(...round.intervals.map((i) => i.endMs));
}

function roundAt(rounds: readonly RoundFigures[], atMs: number): RoundFigures | undefined {
  return rounds.find((r) => r.intervals.some((i) => i.startMs <= atMs && atMs < i.endMs));
}

/**
 * One variant's figures: the reference from `referenceIntervals` (the event's round, or pilot window) before
 * the event, the rest from the load's intervals up to `endMs`.
 */
export function variantFigures(referenceIntervals: readonly IntervalHistogram[], loadIntervals: readonly IntervalHistogram[], eventMs: number, endMs: number): DrillVariantFigures {
  const intervals = [...loadIntervals].sort((a, b) => a.startMs - b.startMs);
  const before = referenceIntervals.filter((i) => i.endMs <= eventMs);
  // An interval holding the next event's start is the next event's: no failure is counted twice.
  const window = intervals.filter((i) => i.endMs > eventMs && (i.endMs <= endMs || i.startMs <= eventMs));
  const shown = intervals.filter((i) => i.endMs > eventMs - TIMELINE_BEFORE_MS && (i.endMs <= endMs || i.startMs <= eventMs));
  const reference = before.length === 0 ? null : summarizeEncoded(mergeEncoded(before.map((i) => i.histogram))).p99;
  const points = new Map<IntervalHistogram, DrillTimelinePoint>(shown.map((i) => [i, point(i, eventMs)]));
  const errorsByKind: Partial<Record<ErrorKind, number>> = {};
  let count = 0, errors = 0, peakP99Us = 0, maxUs = 0;
  for (const i of window) {
    const pt = points.get(i) ?? point(i, eventMs);
    count += pt.count;
    errors += pt.errors;
    peakP99Us = Math.max(peakP99Us, pt.p99Us);
    maxUs = Math.max(maxUs, pt.maxUs);
    for (const [kind, n] of Object.entries(i.counts?.errorsByKind ?? {})) errorsByKind[kind as ErrorKind] = (errorsByKind[kind as ErrorKind] ?? 0) + n;
  }
  return {
    count, errors, errorsByKind, referenceP99Us: reference, peakP99Us, maxUs,
    recoveryS: recovery(window.map((i) => ({ startMs: i.startMs, endMs: i.endMs, ...(points.get(i) ?? point(i, eventMs)) })), reference, eventMs),
    timeline: shown.map((i) => points.get(i) ?? point(i, eventMs)),
  };
}

function point(i: IntervalHistogram, eventMs: number): DrillTimelinePoint {
  const h = decodeHistogram(i.histogram);
  const has = h.totalCount > 0;
  return {
    offsetMs: Math.round(i.startMs - eventMs),
    count: h.totalCount,
    errors: i.counts?.errors ?? 0,
    p50Us: has ? h.getValueAtPercentile(50) : 0,
    p99Us: has ? h.getValueAtPercentile(99) : 0,
    maxUs: has ? h.maxValue : 0,
  };
}

/** Seconds from the event to the start of the first STABLE_MS run of healthy intervals in the window; null when none. */
export function recovery(window: readonly (DrillTimelinePoint & { startMs: number; endMs: number })[], referenceP99Us: number | null, eventMs: number): number | null {
  const limitUs = referenceP99Us === null ? Infinity : Math.max(RECOVERY_FACTOR * referenceP99Us, referenceP99Us + RECOVERY_SLACK_US);
  let runStartMs: number | null = null;
  for (const i of window) {
    const healthy = i.count > 0 && i.errors === 0 && i.p99Us <= limitUs;
    if (!healthy) {
      runStartMs = null;
      continue;
    }
    runStartMs ??= i.startMs;
    if (i.endMs - runStartMs >= STABLE_MS) return Math.max(0, runStartMs - eventMs) / 1000;
  }
  return null;
}

/**
 * The events of one pilot window, each on the window's own intervals as a round's events are on the round's: per
 * protocol (a pilot drives every protocol at once, so each event disrupts them all) and variant, from the event
 * to the next event of the window or the window's end; the reference is the window's intervals before it. The
 * timeline is as fine as the pilot's intervals (1 s). An event that never happened has no figures.
 */
export function analyzeWindowDrills(occurrences: readonly WindowOccurrence[], series: readonly { protocol: Protocol; variant: VariantName; intervals: readonly IntervalHistogram[] }[]): DrillResult[] {
  const startOf = (o: WindowOccurrence): number => o.outcome?.startedAtMs ?? o.erroredAtMs ?? o.dueMs;
  const sorted = [...occurrences].sort((a, b) => startOf(a) - startOf(b) || a.index - b.index);
  const happened = sorted.filter((o) => o.outcome !== undefined);
  const all = series.flatMap((s) => s.intervals);
  const windowEndMs = Math.max(...all.map((i) => i.endMs));
  const timelineMs = Math.min(...all.map((i) => i.endMs - i.startMs));
  const protocols = [...new Set(series.map((s) => s.protocol))];
  return sorted.flatMap((o) => protocols.map((protocol) => {
    const startedAtMs = startOf(o);
    const next = happened.find((x) => startOf(x) > startedAtMs);
    const endMs = Math.min(next === undefined ? Infinity : startOf(next), windowEndMs);
    const variants: Record<VariantName, DrillVariantFigures> = {};
    if (o.outcome !== undefined) {
      for (const s of series) if (s.protocol === protocol && s.intervals.length > 0) variants[s.variant] = variantFigures(s.intervals, s.intervals, startedAtMs, endMs);
    }
    const result: DrillResult = {
      event: o.index, action: o.event.action, protocol, round: o.window, window: o.window,
      startedAtMs, actionMs: o.outcome === undefined ? 0 : o.outcome.finishedAtMs - o.outcome.startedAtMs,
      detail: o.outcome?.detail ?? null, facts: o.outcome?.facts ?? {},
      windowS: Math.max(0, endMs - startedAtMs) / 1000, rounds: [], timelineMs: Number.isFinite(timelineMs) ? timelineMs : 1000, variants,
    };
    if (o.error !== undefined) result.error = o.error;
    return result;
  }));
}
