import { sumErrors, zeroErrors, type ErrorKind } from '../drivers/driver.js';
import { createLatencyHistogram, encodeHistogram, recordLatency, type LatencyHistogram } from '../histograms/index.js';
import { epochMsOf } from '../timing/clock.js';
import type { LoadWindow } from './schedule.js';
import type { IntervalCounts, IntervalHistogram } from '../histograms/index.js';
import type { LoadResult } from './types.js';

/** A loop's result: a LoadResult without the job's identity and hiccups, plus what an exact merge needs. */
export interface LoopResult extends Omit<LoadResult, 'protocol' | 'target' | 'model' | 'hiccupHistogram'> {
  /** Measured-window requests sent more than lateThresholdUs late or never sent, and all of them (lateShare = late / sent). */
  lateCount: number;
  sentCount: number;
}

/**
 * What a load loop measured: latency histograms, interval histograms, counts and lateness. Every method
 * is allocation-free except at interval boundaries (one encode per interval).
 *
 * Interval clock: intervals tile the measured window from its start, `intervalMs` each; a response lands
 * in the interval of its completion time; the interval holding the window's end also takes the responses
 * that complete while in-flight requests drain. The run's `histogram` is the exact sum of its intervals.
 * During warm-up the current interval collects warm-up latencies (progress display only) and is cleared
 * when the window opens.
 */
export class LoopRecorder {
  count = 0;
  readonly errors = zeroErrors();
  /** All completions (warm-up too), for the progress rate. */
  completions = 0;
  private sentCount = 0;
  private behindUs = 0;
  private maxLagUs = 0;
  private lateCount = 0;
  private readonly total: LatencyHistogram = createLatencyHistogram();
  private readonly service: LatencyHistogram = createLatencyHistogram();
  /** How late each measured-window request went out (open loop; closed loop sends on time by definition). */
  private readonly lag: LatencyHistogram = createLatencyHistogram();
  private readonly interval: LatencyHistogram = createLatencyHistogram();
  private readonly intervals: IntervalHistogram[] = [];
  /**
   * Streaming (a pilot's endless load): each closed interval goes here instead of into `intervals`, so what the
   * recorder holds stays bounded however long it runs; the result then carries no intervals.
   */
  private onInterval: ((interval: IntervalHistogram) => void) | undefined;
  /** The current interval's counts (IntervalCounts), reset when it closes. */
  private ivErrors = 0;
  private ivSent = 0;
  private ivLate = 0;
  private ivMaxLagUs = 0;
  /** The current interval's errors by kind; null until one occurs (errors are rare: no object per interval). */
  private ivErrorsByKind: Record<string, number> | null = null;
  private readonly intervalUs: number;
  private win: LoadWindow = { startUs: 0, measureStartUs: 0, measureEndUs: 0 };
  private inWarmup = true;
  private intervalStartUs = 0;
  /** Next boundary at which the slow path (advance) must run. */
  private intervalEndUs = Infinity;
  /** End of the measured window: measureEndUs unless a request cap or an abort cut it short. */
  windowEndUs = 0;

  constructor(
    private readonly open: boolean,
    intervalMs: number,
    private readonly lateThresholdUs: number,
  ) {
    this.intervalUs = Math.max(1, intervalMs) * 1000;
  }

  /** Hands every closed interval to `fn` instead of keeping it (call before begin). */
  streamTo(fn: (interval: IntervalHistogram) => void): void {
    this.onInterval = fn;
  }

  begin(win: LoadWindow): void {
    this.win = win;
    this.windowEndUs = win.measureEndUs;
    this.intervalEndUs = win.measureStartUs;
  }

  /** Cuts the measured window short at `atUs` (never before its start). */
  cutWindow(atUs: number): void {
    this.windowEndUs = Math.min(this.windowEndUs, Math.max(this.win.measureStartUs, atUs));
  }

  /** A measured-window request went out `lagUs` after its intended time. */
  sent(lagUs: number): void {
    this.noteSend(lagUs, lagUs > this.lateThresholdUs);
  }

  response(now: number, intendedUs: number, sentUs: number, measured: boolean): void {
    this.completions++;
    if (now >= this.intervalEndUs) this.advance(now);
    if (measured) {
      this.count++;
      recordLatency(this.interval, now - intendedUs);
      if (this.open) recordLatency(this.service, now - sentUs);
    } else if (this.inWarmup) {
      recordLatency(this.interval, now - intendedUs);
    }
  }

  /**
   * An open-loop request intended at `intendedUs` inside the window that was never sent (the window ended
   * first): recorded as a response at `now` (the end of the drain) and counted late.
   */
  unsent(now: number, intendedUs: number): void {
    if (now >= this.intervalEndUs) this.advance(now);
    this.noteSend(now - intendedUs, true);
    recordLatency(this.interval, now - intendedUs);
  }

  /** One measured-window request's send (or non-send) into the run's and the current interval's lag figures. */
  private noteSend(lagUs: number, late: boolean): void {
    this.sentCount++;
    this.ivSent++;
    this.behindUs += lagUs;
    if (lagUs > this.maxLagUs) this.maxLagUs = lagUs;
    if (lagUs > this.ivMaxLagUs) this.ivMaxLagUs = lagUs;
    if (late) {
      this.lateCount++;
      this.ivLate++;
    }
    recordLatency(this.lag, lagUs);
  }

  error(kind: ErrorKind, measured: boolean): void {
    this.completions++;
    if (measured) {
      this.errors[kind]++;
      this.ivErrors++;
      const byKind = (this.ivErrorsByKind ??= {});
      byKind[kind] = (byKind[kind] ?? 0) + 1;
    }
  }

  /** Interval clock from timers, so intervals without responses are closed too. */
  tick(now: number): void {
    if (now >= this.intervalEndUs) this.advance(now);
  }

  /** p99 of the current interval so far (µs), 0 if it is empty. */
  currentP99Us(): number {
    return this.interval.totalCount > 0 ? this.interval.getValueAtPercentile(99) : 0;
  }

  private advance(now: number): void {
    if (this.inWarmup) {
      if (now < this.win.measureStartUs) return;
      this.inWarmup = false;
      this.interval.reset();
      this.intervalStartUs = this.win.measureStartUs;
      this.intervalEndUs = this.intervalStartUs + this.intervalUs;
    }
    while (now >= this.intervalEndUs && this.intervalEndUs < this.windowEndUs) {
      this.closeInterval(this.intervalEndUs);
      this.intervalStartUs = this.intervalEndUs;
      this.intervalEndUs += this.intervalUs;
    }
    if (this.intervalEndUs >= this.windowEndUs) this.intervalEndUs = Infinity; // the last one stays open
  }

  private closeInterval(endUs: number): void {
    const counts: IntervalCounts = { errors: this.ivErrors, sent: this.ivSent, late: this.ivLate, maxLagUs: this.ivMaxLagUs };
    if (this.ivErrorsByKind !== null) counts.errorsByKind = this.ivErrorsByKind;
    const closed: IntervalHistogram = { startMs: epochMsOf(this.intervalStartUs), endMs: epochMsOf(endUs), histogram: encodeHistogram(this.interval), counts };
    if (this.onInterval !== undefined) this.onInterval(closed);
    else this.intervals.push(closed);
    this.total.add(this.interval);
    this.interval.reset();
    this.ivErrors = this.ivSent = this.ivLate = this.ivMaxLagUs = 0;
    this.ivErrorsByKind = null;
  }

  /** Closes the intervals and builds the result; call once, after the last completion. */
  result(now: number, dropped: number, intendedRateHz: number): LoopResult {
    const endUs = this.windowEndUs;
    const measuredUs = Math.max(0, endUs - this.win.measureStartUs);
    if (measuredUs > 0) {
      this.advance(Math.max(this.win.measureStartUs, Math.min(now, endUs)));
      if (!this.inWarmup && this.intervalStartUs < endUs) this.closeInterval(Math.min(endUs, this.intervalStartUs + this.intervalUs));
    }
    const errorCount = sumErrors(this.errors);
    const histogram = encodeHistogram(this.total);
    return {
      count: this.count,
      errors: { ...this.errors },
      dropped,
      intendedRateHz,
      achievedRateHz: measuredUs > 0 ? (this.count + errorCount) / (measuredUs / 1e6) : 0,
      measuredMs: measuredUs / 1000,
      behindUs: this.behindUs,
      maxLagUs: this.maxLagUs,
      lateShare: this.sentCount > 0 ? this.lateCount / this.sentCount : 0,
      histogram,
      serviceHistogram: this.open ? encodeHistogram(this.service) : histogram,
      lagHistogram: encodeHistogram(this.lag),
      intervals: this.intervals.splice(0),
      startedAtMs: epochMsOf(this.win.measureStartUs),
      lateCount: this.lateCount,
      sentCount: this.sentCount,
    };
  }
}
