import type { IntervalHistogram } from '../../histograms/index.js';
import { mergeIntervals } from '../../load/pool.js';
import type { Protocol, VariantName } from '../../protocols.js';
import type { StreamedWindow } from '../env.js';
import type { PilotGeneratorRecord } from './pilot-generator.js';

type WindowRecordOfPod = Extract<PilotGeneratorRecord, { kind: 'window' }>;

interface Source {
  /** Highest window index delivered; -1 before the first. */
  latest: number;
  done: boolean;
}

interface Pending {
  /** Per source, its record of this window (first one wins: a window is never counted twice). */
  parts: Map<string, WindowRecordOfPod>;
}

/**
 * Joins the generator pods' windows (each pod = one source: variant × shard) into the pilot's windows. Window w
 * is handed over once every source has delivered it, moved past it (a restarted pod skips the window it lost)
 * or ended — or, failing that, `graceMs` after the window's end on the grid, with what arrived (a pod that
 * never comes back must not stall the pilot). The same grid second of several shards is one interval, merged
 * exactly. Holds only windows not yet handed over.
 */
export class PilotWindowJoin {
  private readonly sources = new Map<string, Source>();
  private readonly pending = new Map<number, Pending>();
  /** Restarts noticed, to attach to the window the source lost (its first window not delivered). */
  private readonly restartsAt = new Map<number, { what: string; atMs: number }[]>();
  private emittedUpTo: number;

  constructor(
    sources: readonly string[],
    private readonly grid: { gridStartMs: number; firstWindow: number; windowS: number; graceMs: number },
    private readonly now: () => number = Date.now,
  ) {
    for (const s of sources) this.sources.set(s, { latest: grid.firstWindow - 1, done: false });
    this.emittedUpTo = grid.firstWindow - 1;
  }

  /** A window record of `source`; returns the windows now complete. */
  add(source: string, record: WindowRecordOfPod): StreamedWindow[] {
    const s = this.sources.get(source);
    if (s === undefined || record.window <= this.emittedUpTo) return this.ready(this.now());
    let p = this.pending.get(record.window);
    if (p === undefined) this.pending.set(record.window, (p = { parts: new Map() }));
    if (!p.parts.has(source)) p.parts.set(source, record);
    s.latest = Math.max(s.latest, record.window);
    return this.ready(this.now());
  }

  /** `source` restarted: the window after its last delivered one is lost to it, and carries the restart. */
  restarted(source: string, what: string, atMs: number): void {
    const lost = Math.max(this.emittedUpTo + 1, (this.sources.get(source)?.latest ?? this.grid.firstWindow - 1) + 1);
    const list = this.restartsAt.get(lost) ?? [];
    list.push({ what, atMs });
    this.restartsAt.set(lost, list);
  }

  /** `source` will deliver nothing more. */
  ended(source: string): StreamedWindow[] {
    const s = this.sources.get(source);
    if (s !== undefined) s.done = true;
    return this.ready(this.now());
  }

  /** Windows complete now, or overdue at `nowMs`. */
  ready(nowMs: number): StreamedWindow[] {
    const out: StreamedWindow[] = [];
    for (const w of [...this.pending.keys()].sort((a, b) => a - b)) {
      const complete = [...this.sources.values()].every((s) => s.done || s.latest >= w);
      if (!complete && nowMs < this.endOf(w) + this.grid.graceMs) break; // windows go out in order
      out.push(this.take(w));
    }
    return out;
  }

  /** Everything still held (the pilot ends or stops), as it is. */
  flush(): StreamedWindow[] {
    return [...this.pending.keys()].sort((a, b) => a - b).map((w) => this.take(w));
  }

  private endOf(window: number): number {
    return this.grid.gridStartMs + (window - this.grid.firstWindow + 1) * this.grid.windowS * 1000;
  }

  private take(window: number): StreamedWindow {
    const p: Pending = this.pending.get(window) ?? { parts: new Map() };
    this.pending.delete(window);
    const restarts: { what: string; atMs: number }[] = [];
    for (const [w, list] of this.restartsAt) {
      if (w > window) continue;
      restarts.push(...list);
      this.restartsAt.delete(w);
    }
    this.emittedUpTo = window;
    const bySeries = new Map<string, { protocol: Protocol; variant: VariantName; seconds: Map<number, IntervalHistogram[]> }>();
    for (const record of p.parts.values()) {
      for (const proto of record.protocols) {
        const key = `${proto.name}/${record.variant}`;
        let series = bySeries.get(key);
        if (series === undefined) bySeries.set(key, (series = { protocol: proto.name, variant: record.variant, seconds: new Map() }));
        proto.intervals.forEach((iv, i) => {
          const second = proto.seconds[i] ?? -1;
          const parts = series.seconds.get(second) ?? [];
          parts.push(iv);
          series.seconds.set(second, parts);
        });
      }
    }
    const series = [...bySeries.values()].map((s) => ({
      protocol: s.protocol,
      variant: s.variant,
      intervals: [...s.seconds.entries()].sort((a, b) => a[0] - b[0]).map(([, parts]) => mergeIntervals(parts)),
    }));
    const sourcesMissing = [...this.sources.keys()].some((k) => !p.parts.has(k));
    const partial = sourcesMissing || series.some((s) => s.intervals.length < this.grid.windowS);
    return { index: window, partial, series, restarts };
  }
}
