import { mergeEncoded, summarizeEncoded, type IntervalHistogram, type TaggedInterval } from '../histograms/index.js';
import { mergeIntervals } from '../load/pool.js';
import type { WindowRecord, WindowVariant } from '../pilot-record.js';
import type { DrillResult } from '../result.js';
import type { Protocol, VariantName } from '../protocols.js';
import { hlogName } from './store.js';

/** The 1 s intervals of one window, per protocol and variant, before they are written. */
export interface WindowDraft {
  index: number;
  partial: boolean;
  /** Key: `${protocol}/${variant}`. */
  intervals: Map<string, IntervalHistogram[]>;
}

export const keyOf = (protocol: Protocol, variant: VariantName): string => `${protocol}/${variant}`;

/**
 * Cuts the pilot's continuous loads into windows, as aggregate.ts cuts a run's load into rounds: window k is the
 * k-th run of `windowS` consecutive 1 s intervals of every protocol × variant (each protocol's lanes are paired
 * in time, interval by interval). A window is complete when every series has its intervals; what it holds is
 * then handed over and dropped — the assembler never holds more than one window and the intervals that arrived
 * ahead of it.
 */
export class WindowAssembler {
  private readonly queues = new Map<string, IntervalHistogram[]>();
  private next: number;

  constructor(
    series: readonly { protocol: Protocol; variant: VariantName }[],
    private readonly windowS: number,
    firstIndex: number,
  ) {
    for (const s of series) this.queues.set(keyOf(s.protocol, s.variant), []);
    this.next = firstIndex;
  }

  /** Adds one closed interval; returns the windows it completed (zero or one). */
  add(protocol: Protocol, variant: VariantName, interval: IntervalHistogram): WindowDraft[] {
    this.queues.get(keyOf(protocol, variant))?.push(interval);
    const out: WindowDraft[] = [];
    while ([...this.queues.values()].every((q) => q.length >= this.windowS)) out.push(this.take(this.windowS, false));
    return out;
  }

  /** What is left when the loads ended: a partial window, or null when no series has an interval. */
  flush(): WindowDraft | null {
    const most = Math.max(0, ...[...this.queues.values()].map((q) => q.length));
    return most === 0 ? null : this.take(most, true);
  }

  private take(n: number, partial: boolean): WindowDraft {
    const intervals = new Map<string, IntervalHistogram[]>();
    for (const [key, q] of this.queues) intervals.set(key, q.splice(0, n));
    return { index: this.next++, partial, intervals };
  }
}

/** A series' intervals as the window's figures, with at most `blocks` blocks of consecutive intervals. */
export function windowVariant(intervals: readonly IntervalHistogram[], blocks: number): WindowVariant {
  const histogram = mergeEncoded(intervals.map((i) => i.histogram));
  const latencyUs = summarizeEncoded(histogram);
  const errorsByKind: Record<string, number> = {};
  let errors = 0, sent = 0, late = 0, maxLagUs = 0, measuredMs = 0;
  for (const { counts, startMs, endMs } of intervals) {
    measuredMs += endMs - startMs;
    errors += counts?.errors ?? 0;
    sent += counts?.sent ?? 0;
    late += counts?.late ?? 0;
    maxLagUs = Math.max(maxLagUs, counts?.maxLagUs ?? 0);
    for (const [kind, n] of Object.entries(counts?.errorsByKind ?? {})) errorsByKind[kind] = (errorsByKind[kind] ?? 0) + n;
  }
  const groups = Math.min(blocks, intervals.length);
  const out: IntervalHistogram[] = [];
  for (let g = 0; g < groups; g++) {
    out.push(mergeIntervals(intervals.slice(Math.floor((g * intervals.length) / groups), Math.floor(((g + 1) * intervals.length) / groups))));
  }
  return { count: latencyUs.count, errors, errorsByKind, sent, late, maxLagUs, measuredMs, latencyUs, histogram, blocks: out };
}

/** The record of a window and its .hlog lines (by file name, each interval tagged-less: one series per file). */
export function windowRecord(
  draft: WindowDraft,
  segment: number,
  blocks: number,
  proxies: WindowRecord['proxies'],
  drills: readonly DrillResult[] = [],
): { record: WindowRecord; hlogLines: Map<string, TaggedInterval[]> } {
  const protocols: WindowRecord['protocols'] = [];
  const hlogLines = new Map<string, TaggedInterval[]>();
  let startMs = Infinity, endMs = -Infinity;
  for (const [key, intervals] of draft.intervals) {
    const [protocol, variant] = key.split('/') as [Protocol, VariantName];
    if (intervals.length === 0) continue;
    let entry = protocols.find((p) => p.name === protocol);
    if (entry === undefined) protocols.push((entry = { name: protocol, variants: {} }));
    entry.variants[variant] = windowVariant(intervals, blocks);
    hlogLines.set(hlogName(protocol, variant), intervals);
    startMs = Math.min(startMs, intervals[0]?.startMs ?? Infinity);
    endMs = Math.max(endMs, intervals[intervals.length - 1]?.endMs ?? -Infinity);
  }
  const record: WindowRecord = { type: 'window', index: draft.index, segment, startMs, endMs, partial: draft.partial, protocols, proxies };
  if (drills.length > 0) record.drills = [...drills];
  return { record, hlogLines };
}
