import { Worker } from 'node:worker_threads';
import { distPath } from '../paths.js';
import { nowUs, toSharedUs } from './clock.js';

/**
 * Precise wake-ups for the open-loop schedule. Node timers have 1 ms granularity (a request due at
 * t fires anywhere in [t, t+1 ms+)), which would swamp a 0.2 ms mesh overhead. A ticker thread
 * (ticker.ts) instead sleeps in `Atomics.wait` with a fractional timeout, wakes a little early (an
 * adaptive margin ≤ maxEarlyUs), spins the remaining few µs, then bumps WAKE; the loop thread awaits
 * WAKE with `Atomics.waitAsync`, which wakes its event loop at once. Measured on 2 cores at 1–5 kHz:
 * send lateness p50 ≈ 5–10 µs (setTimeout: ≈ 530 µs) for ≈ 20 µs of CPU per wake-up.
 *
 * Shared control block (Int32, index → meaning). The loop writes DUE/ARMED then bumps GEN (the ticker
 * waits on GEN); the ticker bumps WAKE (the loop waits on WAKE). DUE is the shared-clock µs modulo 2^32:
 * both sides compare it with a signed 32-bit difference, valid while |due − now| < 35 min.
 *
 * Only what the ticker must be woken for bumps GEN (a futex wake, a system call on the loop thread): arming
 * after a wake-up or a disarm, or moving the due time earlier. Moving it later while armed — what the
 * loop does after nearly every send at high rates — only stores DUE, and disarming only stores ARMED: the
 * ticker re-reads both before it fires, so at worst it wakes for nothing. A spurious WAKE is harmless too:
 * the loop then finds nothing due and arms again.
 */
export const CTL_GEN = 0;
export const CTL_WAKE = 1;
export const CTL_ARMED = 2;
export const CTL_DUE = 3;
export const CTL_STOP = 4;
const CTL_SLOTS = 8;

export interface TickerData {
  sab: SharedArrayBuffer;
  maxEarlyUs: number;
}

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
// Atomics.waitAsync is in Node 20 (V8 11) but not in the ES2023 lib typings.
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): WaitAsyncResult }).waitAsync;

export class Waker {
  private readonly ctl: Int32Array;
  private readonly ticker: Worker;
  private seen = 0;
  private armed = false;
  private armedDueUs = -1;
  private closed = false;
  private readonly leadUs: number;

  /**
   * `onWake` runs on this thread's event loop whenever an armed due time is reached. `leadUs`: waking this
   * thread from the ticker (a futex wake, then the promise of Atomics.waitAsync) takes ≈ 15–25 µs, with a
   * tail on a loaded 2-core machine; the ticker fires this much before the due time and this thread spins
   * the rest, so its own wake-up latency is not added to what it does at the due time.
   */
  constructor(
    private readonly onWake: () => void,
    onFailure: (err: Error) => void,
    maxEarlyUs: number,
    leadUs = 0,
  ) {
    this.leadUs = leadUs;
    const sab = new SharedArrayBuffer(CTL_SLOTS * 4);
    this.ctl = new Int32Array(sab);
    const data: TickerData = { sab, maxEarlyUs };
    this.ticker = new Worker(distPath('timing/ticker.js'), { workerData: data });
    this.ticker.unref();
    this.ticker.on('error', (err) => {
      if (!this.closed) onFailure(err);
    });
    this.listen();
  }

  /** Wake the loop at `dueUs` (loop clock). Re-arming with the same or a later time is (nearly) free. */
  arm(atUs: number): void {
    const dueUs = atUs - this.leadUs;
    if (this.armed && dueUs >= this.armedDueUs) {
      if (dueUs !== this.armedDueUs) {
        this.armedDueUs = dueUs;
        Atomics.store(this.ctl, CTL_DUE, toSharedUs(dueUs) | 0);
      }
      return;
    }
    this.armed = true;
    this.armedDueUs = dueUs;
    Atomics.store(this.ctl, CTL_DUE, toSharedUs(dueUs) | 0);
    Atomics.store(this.ctl, CTL_ARMED, 1);
    Atomics.add(this.ctl, CTL_GEN, 1);
    Atomics.notify(this.ctl, CTL_GEN);
  }

  /** No wake-up until the next arm(). The ticker is not woken for it: it checks ARMED before it fires. */
  disarm(): void {
    if (!this.armed) return;
    this.armed = false;
    Atomics.store(this.ctl, CTL_ARMED, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, CTL_STOP, 1);
    Atomics.add(this.ctl, CTL_GEN, 1);
    Atomics.notify(this.ctl, CTL_GEN);
    // Resolve our own pending waitAsync so nothing stays queued on this thread.
    Atomics.add(this.ctl, CTL_WAKE, 1);
    Atomics.notify(this.ctl, CTL_WAKE);
    await this.ticker.terminate();
  }

  private listen(): void {
    for (;;) {
      const result = waitAsync(this.ctl, CTL_WAKE, this.seen);
      if (result.async) {
        void result.value.then(this.woken);
        return;
      }
      // WAKE moved before we started waiting: handle it now and wait again.
      if (!this.handle()) return;
    }
  }

  private readonly woken = (): void => {
    if (this.handle()) this.listen();
  };

  private handle(): boolean {
    if (this.closed) return false;
    this.seen = Atomics.load(this.ctl, CTL_WAKE);
    // The ticker fired and now waits for a new GEN: the next arm() must publish even if the time is equal.
    const wasArmed = this.armed;
    this.armed = false;
    if (wasArmed && this.leadUs > 0) {
      // Spin to the due time (never longer than the lead: a wake-up for a due time moved later just returns).
      const dueUs = this.armedDueUs + this.leadUs;
      let now = nowUs();
      if (dueUs - now <= this.leadUs) while (now < dueUs) now = nowUs();
    }
    this.onWake();
    return true;
  }
}
