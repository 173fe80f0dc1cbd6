import { createLatencyHistogram, encodeHistogram, recordLatency, type LatencyHistogram } from '../histograms/index.js';
import { nowUs } from '../timing/clock.js';
import { Waker } from '../timing/waker.js';

/** How often the meter expects to wake (jHiccup's default resolution is 1 ms too). */
export const HICCUP_PERIOD_US = 1000;

/**
 * A hiccup meter, as jHiccup: this thread's event loop expects to wake every `periodUs` and records how late
 * it actually woke (µs) in an HDR histogram. Whatever stalls the thread — the platform not scheduling it
 * (both cores busy, a noisy neighbour), a GC pause, a long task — shows as a hiccup, so the harness's own
 * stalls are measured beside every latency figure instead of being guessed at.
 *
 * The wake-up comes from the ticker thread (timing/waker.ts) with no early spin (maxEarlyUs 0: a sleeping
 * thread costs no CPU), so the floor is the kernel's wake-up latency plus the hand-over to this event loop
 * (tens of µs on the 2-core class). A stall longer than the period is recorded as jHiccup does, with the
 * samples the stalled ticks would have produced (coordinated-omission correction): S, S − period, …
 * Allocation-free per tick.
 */
export class HiccupMeter {
  private readonly histogram: LatencyHistogram = createLatencyHistogram();
  private readonly waker: Waker;
  private dueUs = 0;
  private running = false;
  /**
   * The ticker thread takes tens of ms to start: the first wake-up after a start only calibrates (it is not
   * recorded), or that start-up would read as a tens-of-ms hiccup — it did, in every round, before this.
   */
  private calibrating = true;

  constructor(private readonly periodUs: number = HICCUP_PERIOD_US) {
    this.waker = new Waker(this.onWake, () => this.stop(), 0);
  }

  /** Starts (or restarts) measuring; what was recorded so far stays until the next take(). */
  start(): this {
    if (this.running) return this;
    this.running = true;
    this.calibrating = true;
    this.dueUs = nowUs() + this.periodUs;
    this.waker.arm(this.dueUs);
    return this;
  }

  stop(): void {
    this.running = false;
    this.waker.disarm();
  }

  /** The hiccups recorded since the previous take() (compressed base64, µs), and a fresh start. */
  take(): string {
    const encoded = encodeHistogram(this.histogram);
    this.histogram.reset();
    return encoded;
  }

  async close(): Promise<void> {
    this.stop();
    await this.waker.close();
  }

  private readonly onWake = (): void => {
    if (!this.running) return;
    const now = nowUs();
    const lateUs = now - this.dueUs;
    if (this.calibrating) this.calibrating = false;
    else {
      recordLatency(this.histogram, lateUs);
      for (let missed = lateUs - this.periodUs; missed > 0; missed -= this.periodUs) recordLatency(this.histogram, missed);
    }
    this.dueUs = now + this.periodUs;
    this.waker.arm(this.dueUs);
  };
}
