import type { LoopProgress, LoopResult, LoopSpec } from './loop.js';
import type { LoadSpec } from './types.js';

/** What the pool gives one load worker (structured-cloned into the worker thread). */
export interface LoadWorkerData {
  index: number;
  driver: Pick<LoadSpec, 'protocol' | 'target' | 'payloadBytes' | 'headers'>;
  /** This worker's share of the load. */
  loop: LoopSpec;
  /** Shift of this worker's open-loop schedule so the workers interleave. */
  phaseUs: number;
}

/** Pool → worker. `start` carries the common start of warm-up on the shared (process.hrtime) µs clock. */
export type ToLoadWorker = { type: 'start'; startSharedUs: number } | { type: 'stop' };

/** Worker → pool: ready (connections open), ~1/s progress, then exactly one of result or error. */
export type FromLoadWorker =
  | { type: 'ready' }
  | { type: 'progress'; progress: LoopProgress }
  | { type: 'result'; result: LoopResult }
  | { type: 'error'; message: string };
