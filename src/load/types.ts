import type { DriverOptions, ErrorKind } from '../drivers/driver.js';
import type { IntervalHistogram } from '../histograms/index.js';
import type { Protocol } from '../protocols.js';
import type { ArrivalsSpec } from './arrivals/index.js';
import type { ChurnResult, ChurnSpec } from './churn.js';

/** How requests are started. */
export type LoadModel = 'open' | 'closed';

/** One load job: one protocol against one target for one round. Plain data (crosses to worker threads). */
export interface LoadSpec {
  protocol: Protocol;
  target: string;
  /**
   * The same service at several addresses (replicas; the first is `target`): each worker's connection i goes
   * to replicas[i mod n]. Absent: every connection goes to `target`.
   */
  replicas?: readonly string[];
  model: LoadModel;
  /** Open loop: total intended rate across all workers (constant and poisson arrivals). Ignored for closed loop. */
  rateHz: number;
  /** Open loop: how requests arrive (arrivals/index.ts); absent: constant at rateHz. */
  arrivals?: ArrivalsSpec;
  /** Connections (HTTP/1.1, websocket) or streams (gRPC) across all workers. */
  connections: number;
  /** http1: open new connections as the load goes (churn.ts); absent: every connection lives through the load. */
  churn?: ChurnSpec;
  /** Measured duration; warm-up comes before it and is not recorded. */
  durationMs: number;
  warmupMs: number;
  payloadBytes: number;
  timeoutMs: number;
  headers: Record<string, string>;
  /** Worker threads; each takes an equal share of connections and rate. */
  workers: number;
  /** Interval length of the interval histograms that go to .hlog files. */
  intervalMs: number;
  /**
   * Epoch ms (this machine's wall clock) at which the warm-up begins, once every connection is open: a start
   * shared with other processes (the kubernetes generators' barrier). Already past: at once. Absent: at once.
   */
  startAtMs?: number;
  /** Hard cap on requests started in the measured window (bounds every load loop in count). 0 = none. */
  maxRequests: number;
  /** A measured-window request sent more than this long after its intended time counts as late (lateShare). */
  lateThresholdUs: number;
  /** What else the driver is told: TLS, method, body, request mix, expected statuses, a gRPC method (driver.ts). */
  driverOptions?: DriverExtras;
}

/** DriverOptions beyond target, payload and headers. */
export type DriverExtras = Omit<DriverOptions, 'target' | 'payloadBytes' | 'headers'>;

/** What one load job produced (merged over workers when it comes out of the pool). */
export interface LoadResult {
  protocol: Protocol;
  target: string;
  model: LoadModel;
  /** Successful responses recorded in the measured window. */
  count: number;
  /** Errors in the measured window, by kind (timeouts included as `timeout`). */
  errors: Record<ErrorKind, number>;
  /**
   * Requests the open-loop schedule wanted started in the window but that were never sent (backlog at end).
   * They are not hidden: each is recorded in `histogram` as late, from its intended time to the end of the
   * drain, and counted in `lateShare`.
   */
  dropped: number;
  intendedRateHz: number; // 0 for closed loop
  achievedRateHz: number; // (count + errors) / measured seconds
  measuredMs: number;
  /**
   * Total time the generator was behind its schedule: intended send time passed but no connection free or
   * the event loop late, summed over requests as lateness (µs); and the maximum lateness of one request.
   */
  behindUs: number;
  maxLagUs: number;
  /** Share of measured-window requests sent more than `lateThresholdUs` after their intended time, or never sent. */
  lateShare: number;
  /** Latency from intended send time (open loop; corrected for coordinated omission) or send time (closed). */
  histogram: string;
  /** Latency from the actual send time (service time); equals `histogram` for closed loop. */
  serviceHistogram: string;
  /** How late each measured-window request was sent after its intended time (µs; unsent ones until the drain's end). */
  lagHistogram: string;
  intervals: IntervalHistogram[];
  startedAtMs: number;
  /** With churn: what the new connections cost (connect time, first response), apart from request latency. */
  churn?: ChurnResult;
  /**
   * Generators that run elsewhere and start together (the kubernetes start barrier): per generator, in index
   * order, how late its load began after the common start, ms. Absent: one generator here, started at once.
   */
  generatorStartLagsMs?: number[];
  /** The generator threads' hiccups during the job (meters/hiccup.ts; compressed base64, µs; merged over threads). */
  hiccupHistogram: string;
}
