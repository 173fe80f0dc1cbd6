import { readlinkSync, writeFileSync } from 'node:fs';
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

/**
 * Linux lets the kernel delay a timed wait by the thread's timer slack (50 µs by default) to batch
 * wake-ups; the ticker wants its own on time, so it sets its slack to 1 ns. A thread may change its own
 * without privileges, through /proc/<tid>/timerslack_ns. Measured on 2 cores: a 200 µs Atomics.wait then
 * oversleeps ≈ 20 µs (p50) instead of ≈ 75 µs, so the spin before each wake-up shrinks by as much. Where
 * this fails (not Linux, /proc not mounted) the adaptive margin below absorbs the default slack.
 */
function tightenTimerSlack(): void {
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop() ?? '';
    if (/^\d+$/.test(tid)) writeFileSync(`/proc/${tid}/timerslack_ns`, '1');
  } catch {
    // keep the default slack
  }
}
tightenTimerSlack();
const ctl = new Int32Array(sab);
let early = Math.min(50, maxEarlyUs);

const untilDue = (due: number): number => (due - (sharedNowUs() | 0)) | 0;

/** ARMED and the current DUE allow a wake-up at the shared time `now` (reads DUE afresh: it may move later). */
const untilCurrentDue = (): number => untilDue(Atomics.load(ctl, CTL_DUE));

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
      const overslept = -untilDue(due); // µs past the due time we slept for (negative: woke early)
      early = Math.max(0, Math.min(maxEarlyUs, overslept > 0 ? early + 2 : early - 1));
    }
    continue; // DUE may have moved later meanwhile (see waker.ts): look again
  }
  // Spin the last µs, following DUE if the loop moves it later; back to sleep if it moves beyond `early`.
  let left = untilCurrentDue();
  while (left > 0 && left <= early && Atomics.load(ctl, CTL_GEN) === gen && Atomics.load(ctl, CTL_ARMED) === 1) left = untilCurrentDue();
  if (left > 0 || Atomics.load(ctl, CTL_GEN) !== gen || Atomics.load(ctl, CTL_ARMED) === 0) continue;
  Atomics.add(ctl, CTL_WAKE, 1);
  Atomics.notify(ctl, CTL_WAKE);
  // Fired: sleep until the loop publishes something new (next due after a wake-up, or stop).
  Atomics.wait(ctl, CTL_GEN, gen);
}
