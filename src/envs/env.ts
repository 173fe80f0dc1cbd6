import type { DrillEvent } from '../config/schema.js';
import type { TlsOptions } from '../drivers/driver.js';
import type { IntervalHistogram } from '../histograms/index.js';
import type { LoadProgress } from '../load/pool.js';
import type { LoadResult, LoadSpec } from '../load/types.js';
import type { Protocol, VariantName } from '../protocols.js';
import type { MeshExpectation, ProofRecord } from '../result.js';

/**
 * An environment is where the pair (or more variants) runs: local processes + HAProxy sidecar pair,
 * a static pair the user already deployed, or Kubernetes. Data flows one way: the env hands targets to the
 * load stage and never reads results.
 */

export interface VariantTargets {
  name: VariantName;
  /** Target per protocol, in the form src/drivers/driver.ts DriverOptions.target expects. */
  targets: Partial<Record<Protocol, string>>;
  /**
   * Several addresses of the same workload per protocol (replicas; the first is `targets[p]`): the load
   * spreads its connections over them (LoadSpec.replicas). Absent: `targets` alone.
   */
  replicas?: Partial<Record<Protocol, readonly string[]>>;
  expect: MeshExpectation;
  /**
   * The workload the variant reaches, reached without its mesh path (local: the echo replicas' own ports —
   * the planted ones in a planted-delay run). `run --aa` drives these.
   */
  direct?: Pick<VariantTargets, 'targets' | 'replicas'>;
  /** TLS of the variant's https://, wss:// and grpcs:// targets (static: the scenario's `tls`, read). */
  tls?: TlsOptions;
}

/** A sample of the sidecar proxies' resource use (recorded with every result). */
export interface ProxySample {
  /** e.g. "client-sidecar", "server-sidecar", or a pod/container name. */
  name: string;
  /** CPU seconds used so far (cumulative; deltas between samples give usage). */
  cpuSeconds: number;
  rssBytes: number;
}

export interface RunningEnv {
  kind: string;
  /** Free-form facts recorded in result.json: versions (haproxy, node), addresses, sidecar config. */
  facts: Record<string, unknown>;
  variants: VariantTargets[];
  /**
   * Where the generators run. Absent: on this machine (src/load runLoad). An environment whose clients
   * must run elsewhere (e.g. inside the cluster, so the meshed client has its own sidecar) provides its own,
   * returning the same LoadResult.
   */
  runLoad?(variant: VariantName, spec: LoadSpec, signal: AbortSignal | undefined, onProgress?: (p: LoadProgress) => void): Promise<LoadResult>;
  /**
   * Proves every variant × protocol path before load, returning the records or throwing MB_MESH_UNPROVEN.
   * Absent: provePaths (src/envs/proof.ts) probes the targets from this machine. An env whose targets are only
   * reachable from elsewhere (inside the cluster) proves them there.
   */
  prove?(protocols: readonly Protocol[], signal: AbortSignal | undefined): Promise<ProofRecord[]>;
  /**
   * Hiccups (meters/hiccup.ts) of the processes the env runs on this machine (echo servers), by process name,
   * recorded since the previous call (compressed base64 histograms, µs). Absent: the env has none to report.
   */
  takeHiccups?(): Promise<Record<string, string>>;
  /**
   * A pilot's continuous load on the env's own generators (kubernetes: a generator Deployment per variant and
   * shard), handed over window by window as the generators close them. Resolves when the pilot's end has passed
   * and every generator reported its last window, or at once after `signal` aborts. Absent: the pilot drives
   * the load from this machine.
   */
  runPilotLoad?(plan: PilotLoadPlan, signal: AbortSignal, onWindow: (window: StreamedWindow) => void): Promise<void>;
  /**
   * Applies one drill event (src/drills/) to the running pair and resolves when the action is over (a reload
   * done, a replica listening again, a pause lifted), with what was done. Absent: the env cannot be disrupted
   * (static). Rejects with MB_ENV_FAILED when the action failed; the env is then not to be trusted further.
   */
  drill?(event: DrillEvent, signal: AbortSignal | undefined): Promise<DrillOutcome>;
  /** How long after runLoad() is called its load begins (warm-up excluded), when the env's load reports no progress here. */
  loadStartLeadMs?: number;
  /** Current cumulative usage of the variant's proxies (empty for variants without proxies). */
  sampleProxies(variant: VariantName): Promise<ProxySample[]>;
  /** Stops everything the env started and removes its files. Idempotent; safe to call on any path. */
  close(): Promise<void>;
}

/** What a pilot asks of an env that runs its own generators. */
export interface PilotLoadPlan {
  /** Each variant's whole load per protocol (targets from `variants`); warmupMs is used, durationMs is not. */
  lanes: { variant: VariantName; spec: LoadSpec }[];
  /** Epoch ms at which window `firstWindow` starts: windows are numbered on this grid, 1 s seconds within. */
  gridStartMs: number;
  firstWindow: number;
  windowS: number;
  /** Epoch ms at which the pilot ends. */
  endMs: number;
}

/** One window of a pilot's load, merged over the env's generators. */
export interface StreamedWindow {
  index: number;
  /** Some series has fewer 1 s intervals than the window holds (a generator started late, restarted or stopped). */
  partial: boolean;
  series: { protocol: Protocol; variant: VariantName; intervals: IntervalHistogram[] }[];
  /** Generators that restarted — lost the window they had open — before or in this window: which, and when noticed. */
  restarts: { what: string; atMs: number }[];
}

/** What an env did for one drill event: when (epoch ms, this machine's clock) and what, in words and facts. */
export interface DrillOutcome {
  startedAtMs: number;
  finishedAtMs: number;
  /** One sentence, e.g. "hitless reload (-sf) of server-sidecar 123 → 456 and client-sidecar 124 → 457". */
  detail: string;
  facts: Record<string, unknown>;
}
