import { isPilotEvent, type DrillEvent } from '../config/schema.js';
import type { DrillOutcome, RunningEnv } from '../envs/env.js';

/**
 * A pilot's drill events (scenario `events` with `window`/`every`): event e happens in window `window − 1`
 * (0-based, as the records number them) and, with `every: K`, in every K-th window after it, `atS` seconds after
 * the window's start. Windows lie on the pilot's grid — window w starts `(w − firstWindow) × windowS` after the
 * segment's measured start — so the timer needs only that start (anchor()); what each event did, and when, is
 * the env's DrillOutcome, placed on the window's own intervals afterwards (src/drills/analyze.ts), so a late timer
 * moves an event, never mislabels it. One timer at a time, for the next event due; events run one after another,
 * never overlapping; every action gets the pilot's stop signal. A resumed segment starts at the window after
 * the last one on disk, so an event of an earlier window never runs again.
 */

/** The first window (0-based) at or after `from` that event `e` happens in; null when none. */
export function nextWindowOf(e: DrillEvent, from: number): number | null {
  if (!isPilotEvent(e)) return null;
  const first = (e.window ?? 1) - 1;
  if (from <= first) return first;
  if (e.every === undefined) return null;
  return first + Math.ceil((from - first) / e.every) * e.every;
}

/** Indexes into `events` of those that happen in window `index`, in the order they start (by atS, then by place in the list). */
export function eventsInWindow(events: readonly DrillEvent[], index: number): number[] {
  return events
    .flatMap((e, i) => (nextWindowOf(e, index) === index ? [i] : []))
    .sort((a, b) => (events[a]?.atS ?? 0) - (events[b]?.atS ?? 0) || a - b);
}

/** One event in one window: started (outcome or error), or never reached (error). */
export interface WindowOccurrence {
  /** Index into scenario.events. */
  index: number;
  event: DrillEvent;
  /** 0-based window. */
  window: number;
  /** When the grid said it was due (epoch ms). */
  dueMs: number;
  outcome?: DrillOutcome;
  error?: string;
  /** When the error was seen (epoch ms): an event that never happened is placed there. */
  erroredAtMs?: number;
}

export class WindowDrills {
  private gridStartMs: number | null = null;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** The next event to start: its window and its place in eventsInWindow(window). */
  private cursor: { window: number; at: number };
  /** Windows below this one are closed: their events are over or marked as not reached. */
  private closedBelow: number;
  private readonly occurrences = new Map<number, WindowOccurrence[]>();

  constructor(
    private readonly env: RunningEnv,
    private readonly events: readonly DrillEvent[],
    private readonly windowS: number,
    private readonly firstWindow: number,
    /** The pilot's end (epoch ms): nothing is started after it. */
    private readonly endMs: number,
    private readonly signal: AbortSignal,
  ) {
    this.cursor = { window: firstWindow, at: 0 };
    this.closedBelow = firstWindow;
    signal.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
  }

  /** The pilot has events for its windows (else it needs no timer). */
  get active(): boolean {
    return this.events.some(isPilotEvent);
  }

  /** When window `firstWindow` starts (epoch ms): a first estimate, then as often as a better one is known. */
  anchor(gridStartMs: number): void {
    if (!this.active || this.gridStartMs === gridStartMs) return;
    this.gridStartMs = gridStartMs;
    this.arm();
  }

  private startOf(window: number): number {
    return (this.gridStartMs ?? 0) + (window - this.firstWindow) * this.windowS * 1000;
  }

  /** The next event due from the cursor on: its window and indexes, or null when none is left. */
  private due(): { window: number; list: number[] } | null {
    let window = this.cursor.window;
    for (;;) {
      const list = eventsInWindow(this.events, window);
      if (this.cursor.window === window && this.cursor.at < list.length) return { window, list };
      const next = Math.min(...this.events.map((e) => nextWindowOf(e, window + 1) ?? Infinity));
      if (!Number.isFinite(next)) return null;
      this.cursor = { window: next, at: 0 };
      window = next;
    }
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.gridStartMs === null || this.finished || this.signal.aborted) return;
    const next = this.due();
    if (next === null) return;
    const atMs = this.startOf(next.window) + (this.events[next.list[this.cursor.at] ?? 0]?.atS ?? 0) * 1000;
    if (atMs >= this.endMs) return;
    const armed = { ...this.cursor };
    this.timer = setTimeout(() => this.fire(armed, atMs), Math.max(0, atMs - Date.now()));
  }

  private fire(armed: { window: number; at: number }, dueMs: number): void {
    this.timer = undefined;
    const next = this.due();
    if (next === null) return;
    // The window closed (and the cursor moved on) while the timer waited: the next event has its own time.
    if (next.window !== armed.window || this.cursor.at !== armed.at) return this.arm();
    // Its window is closing (close() marks it as never reached): none of the window's events starts now.
    if (next.window < this.closedBelow) {
      this.cursor = { window: next.window + 1, at: 0 };
      return this.arm();
    }
    const index = next.list[this.cursor.at] ?? 0;
    this.cursor = { ...this.cursor, at: this.cursor.at + 1 };
    const o: WindowOccurrence = { index, event: this.events[index] as DrillEvent, window: next.window, dueMs };
    this.occurrences.set(next.window, [...(this.occurrences.get(next.window) ?? []), o]);
    const drill = this.env.drill?.bind(this.env);
    this.chain = this.chain.then(async () => {
      // queued behind a long action that outlasted this event's window
      if (next.window < this.closedBelow) o.error = 'did not happen: its window closed first';
      else if (this.signal.aborted) o.error = 'did not happen: the pilot was stopped first';
      else if (drill === undefined) o.error = `the ${this.env.kind} environment cannot apply drills`;
      else {
        try {
          o.outcome = await drill(o.event, this.signal);
        } catch (err) {
          o.error = `${o.event.action} failed: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      if (o.error !== undefined) o.erroredAtMs = Date.now();
    });
    this.arm();
  }

  /**
   * Window `window` closed: resolves, once every event started in it is over, with all its events — those it
   * never reached (the pilot ended or was stopped inside it, or the timer came too late) marked so. Call for
   * every window as it closes, in order.
   */
  async close(window: number): Promise<WindowOccurrence[]> {
    this.closedBelow = Math.max(this.closedBelow, window + 1);
    await this.chain;
    const started = this.occurrences.get(window) ?? [];
    this.occurrences.delete(window);
    const missed = eventsInWindow(this.events, window).filter((i) => !started.some((o) => o.index === i));
    const nowMs = Date.now();
    const out = [
      ...started,
      ...missed.map((index) => ({
        index, event: this.events[index] as DrillEvent, window, dueMs: this.startOf(window) + (this.events[index]?.atS ?? 0) * 1000,
        error: this.signal.aborted ? 'did not happen: the pilot was stopped first' : 'did not happen: its window closed first', erroredAtMs: nowMs,
      })),
    ];
    if (this.cursor.window <= window) {
      this.cursor = { window: window + 1, at: 0 };
      this.arm();
    }
    return out;
  }

  /** After the load: no new event starts; resolves once the one running is over. */
  async finish(): Promise<void> {
    this.finished = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }
}
