import { workerData } from 'node:worker_threads';
import { sharedNowUs } from './clock.js';
import { CTL_ARMED, CTL_DUE, CTL_GEN, CTL_STOP, CTL_WAKE, type TickerData } from './waker.js';

/**
 * Ticker thread (entry point; see waker.ts for the protocol). Sleeps until `early` µs before the armed
 * due time, then spins the rest. `early` adapts: +2 µs after a wake-up that overslept the due time,
 * −1 µs after one that did not, so about a third of wake-ups land late (by a few µs) and the spin stays
 * short; it is capped at maxEarlyUs (≤ a quarter of the schedule period) so the spin never dominates.
 */
const { sab, maxEarlyUs } = workerData as TickerData;
const ctl = new Int32Array(sab);
let early = Math.min(50, maxEarlyUs);

const untilDue = (due: number): number => (due - (sharedNowUs() | 0)) | 0;

for (;;) {
  const gen = Atomics.load(ctl, CTL_GEN);
  if (Atomics.load(ctl, CTL_STOP) !== 0) break;
  if (Atomics.load(ctl, CTL_ARMED) === 0) {
    Atomics.wait(ctl, CTL_GEN, gen);
    continue;
  }
  const due = Atomics.load(ctl, CTL_DUE);
  const remaining = untilDue(due);
  if (remaining > early) {
    const sleepUs = remaining - early;
    const outcome = Atomics.wait(ctl, CTL_GEN, gen, sleepUs / 1000);
    if (outcome === 'timed-out') {
      const overslept = -untilDue(due); // µs past the due time (negative: woke early)
      early = Math.max(0, Math.min(maxEarlyUs, overslept > 0 ? early + 2 : early - 1));
    }
    continue;
  }
  while (untilDue(due) > 0 && Atomics.load(ctl, CTL_GEN) === gen) {
    // spin: at most `early` µs
  }
  if (Atomics.load(ctl, CTL_GEN) !== gen) continue;
  Atomics.add(ctl, CTL_WAKE, 1);
  Atomics.notify(ctl, CTL_WAKE);
  // Fired: sleep until the loop publishes something new (next due, disarm or stop).
  Atomics.wait(ctl, CTL_GEN, gen);
}
