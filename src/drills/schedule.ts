import type { DrillEvent } from '../config/schema.js';
import type { DrillOutcome, RunningEnv } from '../envs/env.js';
import type { LoadProgress } from '../load/pool.js';
import type { Protocol, VariantName } from '../protocols.js';

/**
 * When a drill's events happen: during one load (one protocol, the rounds `firstRound` … `firstRound + rounds − 1`),
 * each event of those rounds at `atS` into its round's measured window. The load's first progress report anchors
 * the clock (it says how long ago the warm-up began), so worker start-up does not shift the events; a load that
 * reports none here (kubernetes: the generators run in pods) keeps the estimate `begin` made. What each
 * event did and when is recorded by the env (DrillOutcome) and placed on the load's own intervals afterwards
 * (analyze.ts), so a late timer moves an event, never mislabels it. Events run one after another, never overlapping.
 */

/** One event in one load: planned, then done (outcome), failed or never reached (error). */
export interface Occurrence {
  index: number;
  event: DrillEvent;
  protocol: Protocol;
  /** The variants the load drove (under time pairing, all of them). */
  variants: VariantName[];
  /** 0-based round. */
  round: number;
  /** The rounds the load ran, 0-based, first and count: an event's window may run on to the end of the load. */
  loadRounds: { first: number; count: number };
  outcome?: DrillOutcome;
  error?: string;
  /** When the error was seen (epoch ms): an event that never happened is placed there. */
  erroredAtMs?: number;
}

export interface LoadShape {
  protocol: Protocol;
  variants: VariantName[];
  firstRound: number;
  rounds: number;
  warmupMs: number;
  /** Measured ms of one round. */
  roundMs: number;
}

export class DrillTimer {
  private readonly pending: Occurrence[];
  private readonly timers: NodeJS.Timeout[] = [];
  private chain: Promise<void> = Promise.resolve();
  private anchored = false;
  private started = false;

  constructor(
    private readonly env: RunningEnv,
    events: readonly DrillEvent[],
    private readonly shape: LoadShape,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.pending = events.flatMap((event, index) => {
      const round = (event.round ?? 1) - 1;
      if (round < shape.firstRound || round >= shape.firstRound + shape.rounds) return [];
      return [{ index, event, protocol: shape.protocol, variants: shape.variants, round, loadRounds: { first: shape.firstRound, count: shape.rounds } }];
    });
  }

  /** Has events in this load (else the load needs no progress hook). */
  get active(): boolean {
    return this.pending.length > 0;
  }

  /**
   * Call as the load is started: schedules the events from an estimate (the env's start lead, then the warm-up),
   * which the load's first progress report replaces while no event has started yet.
   */
  begin(): void {
    this.schedule(Date.now() + (this.env.loadStartLeadMs ?? 0) + this.shape.warmupMs);
  }

  /** Call with every progress report of the load; the first one anchors the clock (its elapsedMs counts from the warm-up's start). */
  onProgress(p: LoadProgress): void {
    if (this.anchored) return;
    this.anchored = true;
    if (!this.started) this.schedule(Date.now() - p.elapsedMs + this.shape.warmupMs);
  }

  private schedule(measureStartMs: number): void {
    for (const t of this.timers.splice(0)) clearTimeout(t);
    for (const o of this.pending) {
      const atMs = measureStartMs + (o.round - this.shape.firstRound) * this.shape.roundMs + o.event.atS * 1000;
      this.timers.push(setTimeout(() => this.start(o), Math.max(0, atMs - Date.now())));
    }
  }

  /** After the load: events that never started are marked so; resolves once every started action is over. */
  async finish(): Promise<Occurrence[]> {
    for (const t of this.timers) clearTimeout(t);
    await this.chain;
    for (const o of this.pending) {
      if (o.outcome === undefined && o.error === undefined) {
        o.error = 'did not happen: the load ended first';
        o.erroredAtMs = Date.now();
      }
    }
    return this.pending;
  }

  private start(o: Occurrence): void {
    this.started = true;
    const drill = this.env.drill?.bind(this.env);
    this.chain = this.chain.then(async () => {
      if (drill === undefined) {
        o.error = `the ${this.env.kind} environment cannot apply drills`;
      } else if (this.signal?.aborted !== true) {
        try {
          o.outcome = await drill(o.event, this.signal);
        } catch (err) {
          o.error = `${o.event.action} failed: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      if (o.error !== undefined) o.erroredAtMs = Date.now();
    });
  }
}
