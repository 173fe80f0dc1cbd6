import { getPriority, setPriority } from 'node:os';
import type { PlacementRecord } from '../result.js';

/**
 * Process placement: where the platform lets it, the run's processes get the CPU the moment they wake.
 *
 * On a 2-core runner the generator, two echo replicas and two sidecars share the cores with whatever else
 * the machine runs; a process that wakes for a response waits for the scheduler to give it a core, and that
 * wait lands in the latency tail of whichever variant it happened to — noise as big as a sidecar's cost.
 * meshbench therefore raises its own scheduling priority (nice −20, the highest the fair scheduler has)
 * before it starts anything: worker threads and child processes (echo servers, HAProxy) inherit it, so every
 * part of the measurement is preferred over ordinary work on wake-up, alike for both variants. Where that is
 * not allowed (not root, no CAP_SYS_NICE) it takes the highest priority it may, or none; what was obtained
 * is recorded in result.json (environment.placement).
 *
 * Not a real-time policy: with SCHED_FIFO, Node's own start-up spins while it waits for its helper threads,
 * and two such spinners on two cores starved everything else (measured: the echo servers never came up).
 * CPU affinity is left alone: with five processes on two cores, pinning any of them makes it wait for its
 * core while the other may be idle.
 */
export type PlacementPolicy = PlacementRecord['requested'];

export interface Placement {
  record: PlacementRecord;
  /** Puts the process back to the priority it had (its children are gone by then). */
  restore(): void;
}

export function applyPlacement(requested: PlacementPolicy, pid: number = process.pid): Placement {
  const before = getPriority(pid);
  if (requested === 'normal') return { record: { requested, obtained: `nice ${before}` }, restore: () => {} };
  const refused: string[] = [];
  for (const nice of [-20, -10, -5]) {
    if (nice >= before) break;
    try {
      setPriority(pid, nice);
      return {
        record: { requested, obtained: `nice ${nice}`, ...(refused.length > 0 ? { note: refused.join('; ') } : {}) },
        restore: () => {
          try {
            setPriority(pid, before);
          } catch {
            // lowering our own priority back is always allowed; nothing to do if the process is gone
          }
        },
      };
    } catch (err) {
      refused.push(`nice ${nice} refused (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return { record: { requested, obtained: `nice ${before}`, note: refused.join('; ') || 'already at or above the requested priority' }, restore: () => {} };
}
