import type { DriverOptions } from '../drivers/driver.js';
import type { Protocol } from '../protocols.js';
import type { LoopProgress, LoopResult, LoopSpec } from './loop.js';
import type { LoadSpec } from './types.js';
import type { IntervalHistogram } from '../histograms/index.js';

/** One lane of a worker: its own driver (target) and loop, on the worker's one thread. */
export interface LaneData {
  driver: DriverOptions & { protocol: Protocol; replicas?: readonly string[] };
  /** This worker's share of the lane's load. */
  loop: LoopSpec;
  /** Shift of this lane's open-loop schedule so workers and lanes interleave. */
  phaseUs: number;
}

/** What the pool gives one load worker (structured-cloned into the worker thread). */
export interface LoadWorkerData {
  index: number;
  lanes: LaneData[];
  /** Post every closed interval as it closes (`interval` messages) instead of in the result. */
  stream: boolean;
}

/** Pool → worker. `start` carries the common start of warm-up on the shared (process.hrtime) µs clock. */
export type ToLoadWorker = { type: 'start'; startSharedUs: number } | { type: 'stop' };

/** Worker → pool: ready (connections open), ~1/s progress per lane, then exactly one of result (one per lane) or error. */
export type FromLoadWorker =
  | { type: 'ready' }
  | { type: 'progress'; lane: number; progress: LoopProgress }
  | { type: 'interval'; lane: number; interval: IntervalHistogram }
  | { type: 'result'; results: LoopResult[]; hiccupHistogram: string }
  | { type: 'error'; message: string };
