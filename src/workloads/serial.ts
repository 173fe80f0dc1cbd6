/**
 * The echo's one worker (`?serviceUs=N`): requests that ask for it are served one at a time, each for N µs of
 * the worker's time, first come first served — a queue with one server and a fixed service time, so the
 * process's capacity is exactly 1e6 / N req/s: below it a request waits little, above it the queue (and the
 * latency) grows without bound. What `meshbench sweep` is checked against (a knee where it is known to be).
 *
 * The worker's schedule is kept on the clock, not on the timers: request k finishes at
 *   max(its arrival, request k−1's finish) + N
 * and its reply is released by a timer at that time (≤ 1 ms late: timers), so timer lateness never lowers the
 * capacity. The worker is the process's, shared by every connection.
 */
let busyUntilMs = 0;

/** Takes the worker's next turn for `serviceUs`: how long from now (ms) until this request is served. */
export function serialWaitMs(serviceUs: number): number {
  const now = performance.now();
  busyUntilMs = Math.max(now, busyUntilMs) + serviceUs / 1000;
  return busyUntilMs - now;
}
