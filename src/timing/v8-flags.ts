import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags for the processes that measure or are measured (the generator's threads, the echo servers).
 *
 * --no-memory-reducer: about 8 s after an isolate starts, and again when it later looks idle, V8's memory
 * reducer runs a shrinking Mark-Compact ("Mark-Compact (reduce)" in --trace-gc) — in the generator's worker
 * and in each echo alike. Its pauses and the re-faulting of the memory it gave back put multi-ms stalls into
 * exactly the seconds a run measures (the 1 s interval p99 went from ≈ 0.15 ms to 5–7 ms there, in every
 * run). The heaps here are a few MB and bounded, so keeping them costs nothing.
 */
export const QUIET_V8_FLAGS: readonly string[] = ['--no-memory-reducer'];

/** Applies QUIET_V8_FLAGS to this process: isolates created afterwards (worker threads) start with them. */
export function quietV8(): void {
  for (const flag of QUIET_V8_FLAGS) setFlagsFromString(flag);
}
