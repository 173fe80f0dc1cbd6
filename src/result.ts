import type { Scenario } from './config/schema.js';
import type { LatencySummary } from './histograms/index.js';
import type { ErrorKind } from './drivers/driver.js';
import type { ProofRecord } from './envs/env.js';
import type { IntervalHistogram, LoadModel } from './load/types.js';
import type { Protocol, VariantName } from './protocols.js';

/**
 * The result document: one per run, written as result.json. It is the single source of truth — every
 * report format (stdout table, report.md, .hlog) is a pure function of it.
 *
 * Compatibility: bump RESULT_SCHEMA_VERSION when a field is removed or changes meaning; adding fields is
 * compatible. Consumers (CI checks, `meshbench compare`) rely on at least: schemaVersion, verdict.status,
 * verdict.reasons[], protocols[].name and protocols[].variants.<name>.{count, errors, achievedRateHz,
 * latencyUs.{p50,p90,p99,p999,max}}.
 */
export const RESULT_SCHEMA_VERSION = 1;

/** p50, p90, p99, p99.9, max, min, mean and count of a latency histogram, in µs. */
export type LatencySummaryUs = LatencySummary;

export interface RoundFigures {
  /** Round number, 0-based; the order the variants ran in is in `order`. */
  round: number;
  /** Position of this variant within the round (0 = ran first). */
  order: number;
  startedAt: string;
  count: number;
  errors: number;
  achievedRateHz: number;
  latencyUs: LatencySummaryUs;
  maxLagUs: number;
  lateShare: number;
  /** Sidecar CPU seconds used during the round and RSS at its end, per proxy (empty without proxies). */
  proxies: { name: string; cpuSeconds: number; rssBytes: number }[];
  /** Interval histograms of the measured window (what the .hlog files are rendered from). */
  intervals: IntervalHistogram[];
}

export interface ProxyCost {
  name: string;
  cpuSeconds: number;
  /** CPU µs the proxy spent per completed request/message. */
  cpuUsPerRequest: number;
  peakRssBytes: number;
}

export interface VariantResult {
  count: number;
  errors: number;
  errorsByKind: Record<ErrorKind, number>;
  dropped: number;
  intendedRateHz: number;
  achievedRateHz: number;
  measuredMs: number;
  /** From the intended send time (open loop, coordinated-omission corrected) or send time (closed loop). */
  latencyUs: LatencySummaryUs;
  /** From the actual send time. */
  serviceLatencyUs: LatencySummaryUs;
  behindUs: number;
  maxLagUs: number;
  lateShare: number;
  /** hdr-histogram-js compressed base64 of the merged latency histogram (µs), for exact re-merging. */
  histogram: string;
  serviceHistogram: string;
  rounds: RoundFigures[];
  proxies: ProxyCost[];
}

export interface Overhead {
  /** Variant − baseline, µs (negative when faster). */
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  /** Variant p99 ÷ baseline p99. */
  p99Ratio: number;
}

export interface ProtocolResult {
  name: Protocol;
  model: LoadModel;
  rateHz: number;
  connections: number;
  payloadBytes: number;
  variants: Record<VariantName, VariantResult>;
  /** Per non-baseline variant, against the baseline (`unmeshed`). */
  overhead: Record<VariantName, Overhead>;
}

export type VerdictStatus = 'pass' | 'fail' | 'inconclusive';

export interface BudgetCheck {
  protocol: Protocol;
  variant: VariantName;
  budget: 'p99Ms' | 'p99OverheadMs' | 'p99OverheadRatio';
  /** The budget (ms or ratio) and the measured figure in the same unit. */
  limit: number;
  actual: number;
  status: 'pass' | 'fail';
}

export interface ValidityProblem {
  protocol: Protocol;
  variant: VariantName;
  round: number | null;
  rule: 'maxErrorRate' | 'minAchievedRateRatio' | 'maxLateShare' | 'noSamples';
  detail: string;
}

export interface Verdict {
  status: VerdictStatus;
  /** Plain sentences, most important first; each names the protocol, variant and figures. */
  reasons: string[];
  checks: BudgetCheck[];
  validity: ValidityProblem[];
}

export interface ResultDocument {
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  tool: { name: 'meshbench'; version: string };
  scenarioPath: string;
  scenario: Scenario;
  startedAt: string;
  finishedAt: string;
  environment: {
    kind: string;
    node: string;
    platform: string;
    cpus: number;
    facts: Record<string, unknown>;
    /** Variant names in the order they are compared; the first is the baseline. */
    variants: VariantName[];
  };
  proofs: ProofRecord[];
  protocols: ProtocolResult[];
  verdict: Verdict;
  /** Set when the run was stopped early (Ctrl-C); such a run is never a pass. */
  interrupted?: boolean;
}
