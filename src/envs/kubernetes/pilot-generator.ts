import { setTimeout as sleep } from 'node:timers/promises';
import type { IntervalHistogram } from '../../histograms/index.js';
import { runLoads } from '../../load/pool.js';
import type { LoadSpec } from '../../load/types.js';
import type { Protocol, VariantName } from '../../protocols.js';
import { chunkLines } from './chunks.js';

/**
 * A pilot's generator pod (`k8s generate --job '{"kind":"pilot",…}'` in a Deployment): drives its shard of one
 * variant's loads, every protocol at once, until the pilot's end, and prints each window as it closes — one
 * chunked record (chunks.ts) per window — so a window is in the log, and so with meshbench, as soon as it is
 * closed; a container that dies loses only the window it had open.
 *
 * Windows are cut on the pilot's grid, not on the pod's clock of its own start: the 1 s interval starting
 * nearest to `gridStartMs + s × 1000` is second `s`, and window `firstWindow + ⌊s / windowS⌋` holds seconds
 * of that window. So every shard and both variants number seconds and windows alike, and a restarted pod —
 * which starts again at the next whole second of the grid — carries on the same numbering.
 *
 * Records (seq counts the records of this container from 0):
 *   { kind: 'window', window, shard, variant, protocols: [{ name, seconds: number[], intervals }] }
 *   { kind: 'end', shard, variant, reason }  — the pod is done; it then idles until deleted, so the
 *   Deployment does not restart it.
 *
 * This module must not import @kubernetes/client-node: it is bundled into the in-cluster code.
 */

export interface PilotGeneratorJob {
  kind: 'pilot';
  variant: VariantName;
  /** The variant's whole load per protocol (warmupMs is used; durationMs is set from the pilot's end). */
  specs: LoadSpec[];
  shards: number;
  shard: number;
  /** Epoch ms of second 0 of the grid (the segment's first window starts there). */
  gridStartMs: number;
  firstWindow: number;
  windowS: number;
  /** Epoch ms at which the pilot ends; absent (a rendered pilot, deployed by hand): a week after the pod's start. */
  endMs?: number;
  readyTimeoutMs: number;
}

export type PilotGeneratorRecord =
  | { kind: 'window'; window: number; shard: number; variant: VariantName; protocols: { name: Protocol; seconds: number[]; intervals: IntervalHistogram[] }[] }
  | { kind: 'end'; shard: number; variant: VariantName; reason: string };

/** Lead from deciding the start to the first request of warm-up (threads start, connections open). */
const START_LEAD_MS = 1000;
/** How long a pilot without an end runs (the longest `--for`). */
const DEFAULT_PILOT_MS = 7 * 86_400_000;

/** Grid second of an interval: the one its start is nearest to. */
export function gridSecond(gridStartMs: number, startMs: number): number {
  return Math.round((startMs - gridStartMs) / 1000) || 0; // never -0
}

/**
 * Collects intervals by grid window and hands a window over once every protocol has moved past it (or the
 * loads ended): at most the open window and intervals that arrived ahead of it are held.
 */
export class GridWindows {
  private readonly open = new Map<number, Map<Protocol, { seconds: number[]; intervals: IntervalHistogram[] }>>();
  private readonly latest = new Map<Protocol, number>();

  constructor(
    private readonly protocols: readonly Protocol[],
    private readonly gridStartMs: number,
    private readonly windowS: number,
    private readonly firstWindow: number,
  ) {}

  add(protocol: Protocol, interval: IntervalHistogram): { window: number; protocols: { name: Protocol; seconds: number[]; intervals: IntervalHistogram[] }[] }[] {
    const second = gridSecond(this.gridStartMs, interval.startMs);
    if (second < 0) return [];
    const window = this.firstWindow + Math.floor(second / this.windowS);
    let byProtocol = this.open.get(window);
    if (byProtocol === undefined) this.open.set(window, (byProtocol = new Map()));
    let series = byProtocol.get(protocol);
    if (series === undefined) byProtocol.set(protocol, (series = { seconds: [], intervals: [] }));
    series.seconds.push(second);
    series.intervals.push(interval);
    this.latest.set(protocol, Math.max(this.latest.get(protocol) ?? -1, window));
    const passed = Math.min(...this.protocols.map((p) => this.latest.get(p) ?? -1));
    return this.take((w) => w < passed);
  }

  /** Everything still held (the loads ended), in window order. */
  flush(): ReturnType<GridWindows['add']> {
    return this.take(() => true);
  }

  private take(ready: (window: number) => boolean): ReturnType<GridWindows['add']> {
    const windows = [...this.open.keys()].filter(ready).sort((a, b) => a - b);
    return windows.map((window) => {
      const byProtocol = this.open.get(window) ?? new Map<Protocol, { seconds: number[]; intervals: IntervalHistogram[] }>();
      this.open.delete(window);
      return { window, protocols: [...byProtocol].map(([name, s]) => ({ name, ...s })) };
    });
  }
}

/**
 * Runs the pod's part of the pilot and writes its records as chunk lines through `write`; resolves when the
 * pilot's end has passed (or `signal` aborts) and the last window is written.
 */
export async function runPilotGenerator(job: PilotGeneratorJob, specs: readonly LoadSpec[], write: (line: string) => void, signal?: AbortSignal): Promise<void> {
  let seq = 0;
  const emit = (record: PilotGeneratorRecord): void => {
    for (const line of chunkLines(seq++, record)) write(line);
  };
  const warmupMs = Math.max(0, ...specs.map((s) => s.warmupMs));
  // The first whole grid second at which the measured part can start.
  const earliest = Date.now() + START_LEAD_MS + warmupMs;
  const startMs = job.gridStartMs + Math.max(0, Math.ceil((earliest - job.gridStartMs) / 1000)) * 1000;
  const durationMs = Math.floor(((job.endMs ?? startMs + DEFAULT_PILOT_MS) - startMs) / 1000) * 1000;
  if (durationMs < 1000) {
    emit({ kind: 'end', shard: job.shard, variant: job.variant, reason: 'the pilot has ended' });
    return;
  }
  const waitMs = startMs - warmupMs - Date.now();
  const stopped = (): boolean => signal?.aborted === true;
  if (waitMs > 0) await sleep(waitMs, undefined, { signal }).catch(() => undefined);
  if (stopped()) return;
  const grid = new GridWindows(specs.map((s) => s.protocol), job.gridStartMs, job.windowS, job.firstWindow);
  const send = (windows: ReturnType<GridWindows['add']>): void => {
    for (const w of windows) emit({ kind: 'window', window: w.window, shard: job.shard, variant: job.variant, protocols: w.protocols });
  };
  await Promise.all(
    specs.map((spec) =>
      runLoads([{ ...spec, warmupMs, durationMs }], signal, undefined, (_lane, interval) => send(grid.add(spec.protocol, interval))),
    ),
  );
  if (stopped()) return; // stopped: the open window is lost, as it would be to a kill
  send(grid.flush());
  emit({ kind: 'end', shard: job.shard, variant: job.variant, reason: 'the pilot has ended' });
}
