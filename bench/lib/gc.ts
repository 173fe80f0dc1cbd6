/**
 * Heap allocation rate of a process from its `--trace-gc-nvp` output. Every GC line carries `allocated=`,
 * the bytes allocated since the previous GC, prefixed by the isolate (`[pid:0xisolate]`) and the isolate's
 * time in ms. Per isolate, the GCs after `skipMs` (start-up, JIT warm-up) give the steady-state rate: the
 * bytes allocated between the first and the last of them over the time between them. A process is the sum of
 * its isolates (main thread and worker threads). With `--max-semi-space-size=1` a scavenge happens at least
 * every ~1 MB, so an isolate that allocates less than that over the window shows at most one GC there: its
 * rate is then bounded by 1 MB over the window (`upperBound`).
 */
/** `--trace-gc*` lines go to stdout too: `[pid:0xisolate]   123 ms: …`. */
export const GC_TRACE_LINE = /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: /;

export function withoutGcTrace(stdout: string): string {
  return stdout
    .split('\n')
    .filter((line) => !GC_TRACE_LINE.test(line))
    .join('\n');
}

export interface AllocationRate {
  bytesPerSec: number;
  gcs: number;
  /** True when some isolate had too few GCs: bytesPerSec is then an upper bound. */
  upperBound: boolean;
}

const SEMI_SPACE_BYTES = 1 << 20;

export function allocationRate(stdout: string, skipMs: number, totalMs: number): AllocationRate | undefined {
  const byIsolate = new Map<string, { t: number; allocated: number }[]>();
  for (const line of stdout.split('\n')) {
    if (!GC_TRACE_LINE.test(line)) continue;
    const m = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: .*\ballocated=(\d+)/.exec(line);
    if (m === null) continue;
    const list = byIsolate.get(m[1] as string) ?? byIsolate.set(m[1] as string, []).get(m[1] as string);
    list?.push({ t: Number(m[2]), allocated: Number(m[3]) });
  }
  if (byIsolate.size === 0) return undefined;
  let bytesPerSec = 0;
  let gcs = 0;
  let upperBound = false;
  for (const events of byIsolate.values()) {
    const window = events.filter((e) => e.t >= skipMs);
    gcs += window.length;
    const first = window[0];
    const last = window[window.length - 1];
    if (window.length < 3 || first === undefined || last === undefined || last.t - first.t < 500) {
      upperBound = true;
      bytesPerSec += SEMI_SPACE_BYTES / (Math.max(1, totalMs - skipMs) / 1000);
      continue;
    }
    let bytes = 0;
    for (let i = 1; i < window.length; i++) bytes += (window[i] as { allocated: number }).allocated;
    bytesPerSec += bytes / ((last.t - first.t) / 1000);
  }
  return { bytesPerSec, gcs, upperBound };
}
