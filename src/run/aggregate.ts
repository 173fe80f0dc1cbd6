import { ERROR_KINDS, sumErrors, zeroErrors } from '../drivers/driver.js';
import type { ProxySample } from '../envs/env.js';
import { mergeEncoded, summarizeEncoded } from '../histograms/index.js';
import type { LoadResult } from '../load/types.js';
import { BASELINE_VARIANT } from '../protocols.js';
import type { ChurnFigures, HiccupRecord, LatencySummaryUs, Overhead, ProxyCost, RoundFigures, VariantResult } from '../result.js';

/** One variant's run in one round, as the orchestrator collected it. */
export interface RoundRecord {
  round: number;
  order: number;
  startedAt: string;
  load: LoadResult;
  /** Proxy usage before and after the round's load (same names, same order). */
  proxiesBefore: ProxySample[];
  proxiesAfter: ProxySample[];
  /** Encoded hiccup histograms by source (the generator's and the env's processes') over the round. */
  hiccups: Record<string, string>;
  /**
   * Time pairing: the load ran continuously and holds this many rounds (`round` … `round + rounds − 1`), each
   * an equal run of consecutive 1 s intervals — so no round pays the restart a separate load would (a new
   * generator thread's JIT and new connections: the first 1–2 s of every restarted round had a p99 several
   * times the rest, measured). Absent: one round.
   */
  rounds?: number;
}

function proxyDeltas(record: RoundRecord): RoundFigures['proxies'] {
  return record.proxiesAfter.map((after) => {
    const before = record.proxiesBefore.find((b) => b.name === after.name);
    return { name: after.name, cpuSeconds: Math.max(0, after.cpuSeconds - (before?.cpuSeconds ?? 0)), rssBytes: after.rssBytes };
  });
}

function roundFigures(record: RoundRecord): RoundFigures[] {
  const rounds = record.rounds ?? 1;
  return rounds > 1 && record.load.intervals.every((i) => i.counts !== undefined) ? splitRounds(record, rounds) : [wholeRound(record)];
}

function hiccupRecords(record: RoundRecord): HiccupRecord[] {
  return Object.entries(record.hiccups).map(([source, histogram]): HiccupRecord => ({ source, histogram, latencyUs: summarizeEncoded(histogram) }));
}

/**
 * A continuous load's rounds: its intervals split into `rounds` runs of consecutive intervals, each round's
 * figures from its intervals and their counts. Requests left unsent at the end (recorded as late) belong to
 * the last round. The proxies were sampled around the whole load: each round gets an equal share of their
 * CPU. Hiccups too were taken over the whole load: every round lists them (the variant's summary counts them
 * once).
 */
function splitRounds(record: RoundRecord, rounds: number): RoundFigures[] {
  const { load } = record;
  const n = load.intervals.length;
  const proxies = proxyDeltas(record).map((p) => ({ ...p, cpuSeconds: p.cpuSeconds / rounds }));
  const hiccups = hiccupRecords(record);
  const out: RoundFigures[] = [];
  for (let r = 0; r < rounds; r++) {
    const intervals = load.intervals.slice(Math.floor((r * n) / rounds), Math.floor(((r + 1) * n) / rounds));
    const first = intervals[0];
    const last = intervals[intervals.length - 1];
    if (first === undefined || last === undefined) continue;
    const latencyUs = summarizeEncoded(mergeEncoded(intervals.map((i) => i.histogram)));
    let errors = 0, sent = 0, late = 0, maxLagUs = 0;
    for (const { counts } of intervals) {
      errors += counts?.errors ?? 0;
      sent += counts?.sent ?? 0;
      late += counts?.late ?? 0;
      maxLagUs = Math.max(maxLagUs, counts?.maxLagUs ?? 0);
    }
    const count = latencyUs.count - (r === rounds - 1 ? load.dropped : 0);
    const seconds = (last.endMs - first.startMs) / 1000;
    out.push({
      round: record.round + r,
      order: record.order,
      startedAt: new Date(first.startMs).toISOString(),
      count, errors,
      achievedRateHz: seconds > 0 ? (count + errors) / seconds : 0,
      intendedRateHz: seconds > 0 ? sent / seconds : 0,
      latencyUs, maxLagUs,
      lateShare: sent > 0 ? late / sent : 0,
      proxies, intervals, hiccups,
    });
  }
  return out;
}

function wholeRound(record: RoundRecord): RoundFigures {
  const { load } = record;
  return {
    round: record.round,
    order: record.order,
    startedAt: record.startedAt,
    count: load.count,
    errors: sumErrors(load.errors),
    achievedRateHz: load.achievedRateHz,
    intendedRateHz: load.intendedRateHz,
    latencyUs: summarizeEncoded(load.histogram),
    maxLagUs: load.maxLagUs,
    lateShare: load.lateShare,
    proxies: proxyDeltas(record),
    intervals: load.intervals,
    hiccups: hiccupRecords(record),
    ...(load.generatorStartLagsMs === undefined ? {} : { generatorStartLagsMs: load.generatorStartLagsMs }),
  };
}

/** Per source, the summary of its hiccup histograms merged over the records (loads). */
function hiccupSummaries(records: readonly RoundRecord[]): Record<string, LatencySummaryUs> {
  const bySource = new Map<string, string[]>();
  for (const r of records) for (const [source, histogram] of Object.entries(r.hiccups)) bySource.set(source, [...(bySource.get(source) ?? []), histogram]);
  return Object.fromEntries([...bySource].map(([source, list]) => [source, summarizeEncoded(mergeEncoded(list))]));
}

/** Merges a variant's rounds exactly: histograms added, counts summed, rates over the summed window. */
export function aggregateVariant(records: RoundRecord[]): VariantResult {
  const errorsByKind = zeroErrors();
  let count = 0, dropped = 0, measuredMs = 0, behindUs = 0, maxLagUs = 0, lateWeighted = 0, intendedRateHz = 0;
  for (const { load } of records) {
    count += load.count;
    dropped += load.dropped;
    measuredMs += load.measuredMs;
    behindUs += load.behindUs;
    maxLagUs = Math.max(maxLagUs, load.maxLagUs);
    const total = load.count + sumErrors(load.errors);
    lateWeighted += load.lateShare * total;
    intendedRateHz = load.intendedRateHz;
    for (const kind of ERROR_KINDS) errorsByKind[kind] += load.errors[kind];
  }
  const errors = sumErrors(errorsByKind);
  const histogram = mergeEncoded(records.map((r) => r.load.histogram));
  const serviceHistogram = mergeEncoded(records.map((r) => r.load.serviceHistogram));
  const rounds = records.flatMap(roundFigures);
  return {
    count,
    errors,
    errorsByKind,
    dropped,
    intendedRateHz,
    achievedRateHz: measuredMs > 0 ? ((count + errors) * 1000) / measuredMs : 0,
    measuredMs,
    latencyUs: summarizeEncoded(histogram),
    serviceLatencyUs: summarizeEncoded(serviceHistogram),
    behindUs,
    maxLagUs,
    lateShare: count + errors > 0 ? lateWeighted / (count + errors) : 0,
    lagUs: summarizeEncoded(mergeEncoded(records.map((r) => r.load.lagHistogram))),
    histogram,
    serviceHistogram,
    rounds,
    proxies: proxyCosts(rounds, count),
    hiccupsUs: hiccupSummaries(records),
    ...churnFigures(records, summarizeEncoded(serviceHistogram).p50),
  };
}

/** The records' churn figures merged exactly (none when the load did not churn). */
function churnFigures(records: readonly RoundRecord[], serviceP50Us: number): { churn?: ChurnFigures } {
  const churned = records.flatMap((r) => (r.load.churn === undefined ? [] : [r.load.churn]));
  if (churned.length === 0) return {};
  const connectHistogram = mergeEncoded(churned.map((c) => c.connectHistogram));
  const firstResponseHistogram = mergeEncoded(churned.map((c) => c.firstResponseHistogram));
  const firstResponseUs = summarizeEncoded(firstResponseHistogram);
  return {
    churn: {
      opened: churned.reduce((n, c) => n + c.opened, 0),
      connectUs: summarizeEncoded(connectHistogram),
      firstResponseUs,
      newConnectionCostUs: firstResponseUs.count > 0 ? firstResponseUs.p50 - serviceP50Us : 0,
      connectHistogram,
      firstResponseHistogram,
    },
  };
}

/** Per proxy over the rounds: CPU seconds summed, CPU µs per measured request, peak RSS. */
export function proxyCosts(rounds: readonly RoundFigures[], requests: number): ProxyCost[] {
  const byName = new Map<string, ProxyCost>();
  for (const round of rounds) {
    for (const p of round.proxies) {
      const cost = byName.get(p.name) ?? { name: p.name, cpuSeconds: 0, cpuUsPerRequest: 0, peakRssBytes: 0 };
      cost.cpuSeconds += p.cpuSeconds;
      cost.peakRssBytes = Math.max(cost.peakRssBytes, p.rssBytes);
      byName.set(p.name, cost);
    }
  }
  // The proxies also carry warm-up traffic; the per-request figure divides by measured requests only,
  // so it is an upper bound (warm-up is short next to the measured window).
  return [...byName.values()].map((c) => ({ ...c, cpuUsPerRequest: requests > 0 ? (c.cpuSeconds * 1e6) / requests : 0 }));
}

/** Overhead of every non-baseline variant against the baseline. */
export function overheads(variants: Record<string, VariantResult>): Record<string, Overhead> {
  const base = variants[BASELINE_VARIANT];
  const out: Record<string, Overhead> = {};
  if (base === undefined) return out;
  for (const [name, v] of Object.entries(variants)) {
    if (name === BASELINE_VARIANT) continue;
    out[name] = {
      p50Us: v.latencyUs.p50 - base.latencyUs.p50,
      p90Us: v.latencyUs.p90 - base.latencyUs.p90,
      p99Us: v.latencyUs.p99 - base.latencyUs.p99,
      p999Us: v.latencyUs.p999 - base.latencyUs.p999,
      p99Ratio: base.latencyUs.p99 > 0 ? v.latencyUs.p99 / base.latencyUs.p99 : 0,
    };
  }
  return out;
}
