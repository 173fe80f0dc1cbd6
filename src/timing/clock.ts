/**
 * Clocks of the load generator. Inside a thread the loop uses `nowUs()`: integer µs of
 * `performance.now()` (monotonic, ~30 ns, no allocation once optimized). Threads agree on time through
 * the process-wide monotonic clock (`process.hrtime`), "shared µs": each thread measures once how far its
 * `performance.now()` is from it, so no assumption about per-thread time origins is needed.
 */

export function nowUs(): number {
  return Math.floor(performance.now() * 1000);
}

function measureSharedOffsetUs(): number {
  let bestGap = Infinity;
  let offset = 0;
  for (let i = 0; i < 25; i++) {
    const a = performance.now();
    const hrUs = Number(process.hrtime.bigint() / 1000n);
    const b = performance.now();
    if (b - a < bestGap) {
      bestGap = b - a;
      offset = hrUs - Math.round(((a + b) / 2) * 1000);
    }
  }
  return offset;
}

/** sharedUs = localUs + SHARED_OFFSET_US on this thread. */
export const SHARED_OFFSET_US: number = measureSharedOffsetUs();

export function sharedNowUs(): number {
  return nowUs() + SHARED_OFFSET_US;
}

export function toLocalUs(sharedUs: number): number {
  return sharedUs - SHARED_OFFSET_US;
}

export function toSharedUs(localUs: number): number {
  return localUs + SHARED_OFFSET_US;
}

/** Wall-clock epoch ms of a local µs instant (for .hlog timestamps; never used for measuring). */
export function epochMsOf(localUs: number): number {
  return performance.timeOrigin + localUs / 1000;
}
