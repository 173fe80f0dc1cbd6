import type { Scenario } from './config/schema.js';
import type { IntervalHistogram, LatencySummary } from './histograms/index.js';
import type { ErrorKind } from './drivers/driver.js';
import type { LoadModel } from './load/types.js';
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
export const RESULT_SCHEMA_VERSION = 2; // 2: environment.node renamed environment.nodeVersion

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
  /**
   * Open loop: what the schedule intended in the round, per second (requests sent late or never count where
   * they were due). Arrivals other than constant are judged against it (a Poisson draw's own count, a ramp's
   * mean rate); absent in documents written before arrivals existed.
   */
  intendedRateHz?: number;
  latencyUs: LatencySummaryUs;
  maxLagUs: number;
  lateShare: number;
  /** Sidecar CPU seconds used during the round and RSS at its end, per proxy (empty without proxies). */
  proxies: { name: string; cpuSeconds: number; rssBytes: number }[];
  /** Interval histograms of the measured window (what the .hlog files are rendered from). */
  intervals: IntervalHistogram[];
  /**
   * Hiccups seen while the round ran (meters/hiccup.ts): per source — `generator` (the load threads) and each
   * process the env runs here (e.g. `echo 1`) — how late a 1 ms timer woke, µs. Under time pairing the
   * variants of a round ran together and share the same records.
   */
  hiccups: HiccupRecord[];
  /**
   * Generators that ran elsewhere and started together (the kubernetes start barrier): per generator pod, in
   * completion-index order, how late its load began after the published start, ms. A round whose largest exceeds
   * env.maxStartLagMs is invalid (rule maxStartLag). Absent for other environments and in older documents.
   */
  generatorStartLagsMs?: number[];
}

export interface HiccupRecord {
  source: string;
  /** Compressed base64 HDR histogram, µs. */
  histogram: string;
  latencyUs: LatencySummaryUs;
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
  /** How late the generator sent each request after its intended time, merged over rounds (absent before 0.2). */
  lagUs?: LatencySummaryUs;
  /** hdr-histogram-js compressed base64 of the merged latency histogram (µs), for exact re-merging. */
  histogram: string;
  serviceHistogram: string;
  rounds: RoundFigures[];
  proxies: ProxyCost[];
  /** Hiccups per source over all rounds (merged histograms' summaries, µs); see RoundFigures.hiccups. */
  hiccupsUs: Record<string, LatencySummaryUs>;
  /** With connection churn (scenario `churn`): what new connections cost, apart from request latency. */
  churn?: ChurnFigures;
}

/**
 * What a variant's new connections cost, over all rounds (src/load/churn.ts). The handshakes of a new connection
 * along the path show as `firstResponseUs` above the variant's `serviceLatencyUs`: `newConnectionCostUs`.
 */
export interface ChurnFigures {
  /** New connections opened in the measured windows. */
  opened: number;
  /** Opening the connection → the client's connect (TCP, + TLS for an https target). */
  connectUs: LatencySummaryUs;
  /** Opening the connection → the first response on it (every handshake on the path + one request). */
  firstResponseUs: LatencySummaryUs;
  /** firstResponseUs.p50 − serviceLatencyUs.p50: what a new connection adds to a request, at the median. */
  newConnectionCostUs: number;
  connectHistogram: string;
  firstResponseHistogram: string;
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
  /**
   * `p99OverheadZero`: the A/A check (`run --aa`) — the overhead interval must contain 0.
   * `errorRateOverhead`: the variant's error rate minus the baseline's, as a fraction (src/verdict/errors.ts).
   */
  budget: 'p99Ms' | 'p99OverheadMs' | 'p99OverheadRatio' | 'p99OverheadZero' | 'errorRateOverhead';
  /** The budget (ms, ratio or fraction of requests) and the measured figure (the point estimate) in the same unit. */
  limit: number;
  actual: number;
  /**
   * pass: the whole interval is within the budget; fail: the whole interval is beyond it; inconclusive:
   * the interval straddles it. Judged on the point estimate alone when there is no interval (no histograms).
   */
  status: 'pass' | 'fail' | 'inconclusive';
  /** The figure's interval in the check's unit (ms or ratio); null when it could not be resampled. */
  interval: { low: number; high: number; confidence: number } | null;
  /** Inconclusive checks: rounds in total that would likely decide it if the estimate held (null: no number would). */
  roundsNeeded?: number | null;
  /** `errorRateOverhead` checks: the requests and failures by kind behind the figure, of both sides. */
  errorCounts?: ErrorCounts;
}

/** Requests sent (answered + failed) and failures by kind, of the baseline and of the checked variant. */
export interface ErrorCounts {
  baseline: { requests: number; byKind: Record<ErrorKind, number> };
  variant: { requests: number; byKind: Record<ErrorKind, number> };
}

/**
 * A figure with its confidence interval, in the figure's unit (µs, or a ratio). How it is computed:
 * src/verdict/statistics.ts.
 */
export interface FigureInterval {
  /** The figure computed on the merged data: the same number the document reports elsewhere. */
  estimate: number;
  low: number;
  high: number;
  /** Two-sided confidence of [low, high]. */
  confidence: number;
  /** Distances from the estimate to the within-round bootstrap's bounds. */
  withinLowDev: number;
  withinHighDev: number;
  /**
   * Per result the figure comes from (one; two for `compare`): the sample variance of the figure computed
   * per round (unit²), the number of rounds, and whether running more rounds of it could narrow the interval.
   */
  between: { variance: number; rounds: number; scales: boolean }[];
  /** z × the run-to-run noise added in quadrature to both sides (statistics.runNoiseMs; more rounds do not shrink it). */
  runHalfWidth?: number;
}

export interface PercentileIntervals {
  p50Us: FigureInterval | null;
  p99Us: FigureInterval | null;
  p999Us: FigureInterval | null;
}

export interface OverheadIntervals extends PercentileIntervals {
  p99Ratio: FigureInterval | null;
}

export interface ProtocolEstimates {
  protocol: Protocol;
  variants: Record<VariantName, PercentileIntervals>;
  /** Per non-baseline variant: variant − baseline (and the p99 ratio), paired by round. */
  overhead: Record<VariantName, OverheadIntervals>;
}

/** How the intervals were computed; same input, method and seed → same intervals and verdict. */
export interface StatisticsRecord {
  method: string;
  confidence: number;
  resamples: number;
  seed: number;
  estimates: ProtocolEstimates[];
}

export interface ValidityProblem {
  protocol: Protocol;
  variant: VariantName;
  round: number | null;
  /** `fault`: the run stopped early because a part of it broke (ResultDocument.fault). */
  rule: 'maxErrorRate' | 'minAchievedRateRatio' | 'maxLateShare' | 'maxStartLag' | 'noSamples' | 'fault';
  detail: string;
}

/** What a variant is expected to show when proven. */
export type MeshExpectation =
  | { kind: 'none' } // no mesh marker header may come back
  | { kind: 'header'; header: string } // this reflected header must come back non-empty (e.g. x-forwarded-client-cert)
  | { kind: 'unverified'; why: string }; // cannot be proven by headers (e.g. L4-only ambient); recorded as such

/** How one variant × protocol path was proven (src/envs/proof.ts), recorded in result.json `proofs`. */
export interface ProofRecord {
  variant: VariantName;
  protocol: Protocol;
  expect: MeshExpectation;
  /** The marker header value seen (mTLS proof), or null when none came back. */
  marker: string | null;
  ok: boolean;
  detail: string;
}

export interface Verdict {
  status: VerdictStatus;
  /** Plain sentences, most important first; each names the protocol, variant and figures. */
  reasons: string[];
  checks: BudgetCheck[];
  validity: ValidityProblem[];
  /** The intervals behind the checks (absent in documents written before intervals existed). */
  statistics?: StatisticsRecord;
  /** A drill's checks: each event's budgets, per non-baseline variant (absent without events). */
  drills?: DrillCheck[];
}

/**
 * One event of a drill as it happened during one protocol's load (src/drills/): what the env did, and per
 * variant the load drove meanwhile, what it cost. Under time pairing both variants ran through the same event;
 * under rounds pairing each variant's load got the event, and each occurrence is a result of its own.
 */
export interface DrillResult {
  /** Index into scenario.events. */
  event: number;
  action: string;
  protocol: Protocol;
  /** 0-based round it happened in (in a pilot: its window's index, as `window`). */
  round: number;
  /** In a pilot (src/pilot/): the 0-based index of the window it happened in; its figures are that window's alone. */
  window?: number;
  /** When it started (epoch ms, this machine's clock; the intervals' clock) and how long the action took. */
  startedAtMs: number;
  actionMs: number;
  /** What the env did, in one sentence; null when it did not happen (see `error`). */
  detail: string | null;
  facts: Record<string, unknown>;
  /** Why the event did not happen or failed (the load ended first, the action failed). */
  error?: string;
  /** Seconds from the event to the end of its window (the next event of its load, or the load's end): the longest recovery it can show. */
  windowS: number;
  /** The rounds (0-based) its window reaches into: disrupted by it, so exempt from the validity rules. */
  rounds: number[];
  /** Length of the timeline's intervals (ms). */
  timelineMs: number;
  variants: Record<VariantName, DrillVariantFigures>;
}

export interface DrillVariantFigures {
  /** Responses and failures from the event's interval to the end of its window, failures by kind. */
  count: number;
  errors: number;
  errorsByKind: Partial<Record<ErrorKind, number>>;
  /** The p99 of the round before the event: what recovery returns to (null when no interval came before it). */
  referenceP99Us: number | null;
  /** The worst interval p99 and the largest latency in the window. */
  peakP99Us: number;
  maxUs: number;
  /** Seconds from the event's start until the p99 recovered (src/drills/analyze.ts); null: not within the window. */
  recoveryS: number | null;
  /** Interval by interval, from before the event to the end of its window. */
  timeline: DrillTimelinePoint[];
}

export interface DrillTimelinePoint {
  /** Start of the interval relative to the event's start (ms; negative before it). */
  offsetMs: number;
  count: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/** One budget of one event for one variant; `happened` is the check that the event took place at all. */
export interface DrillCheck {
  event: number;
  action: string;
  protocol: Protocol;
  round: number;
  /** In a pilot: the window's index (`round` holds it too). */
  window?: number;
  variant: VariantName;
  budget: 'maxErrors' | 'recoveryS' | 'happened';
  /** Null for `happened`; the budget otherwise (errors, or seconds). */
  limit: number | null;
  /** Errors, or recovery seconds (null: not recovered within the window). */
  actual: number | null;
  status: 'pass' | 'fail' | 'inconclusive';
  /** recoveryS: the baseline's recovery through the same event (the control; null: not within the window). */
  controlRecoveryS?: number | null;
}

/** What broke a run, and in which round (0-based), protocol and variant(s) ("a + b" under time pairing). */
export interface RunFault {
  round: number;
  protocol: Protocol;
  variant: string;
  /** The MeshbenchError code (e.g. MB_ENV_FAILED, MB_LOAD_FAILED), or `unexpected`. */
  code: string;
  message: string;
}

/** The scheduling a run's processes got (src/run/placement.ts). */
export interface PlacementRecord {
  requested: 'high' | 'normal';
  /** The nice value the run's processes ran at. */
  obtained: `nice ${number}`;
  /** Why a stronger policy was not obtained. */
  note?: string;
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
    /** process.version of the harness, e.g. "v20.20.2". */
    nodeVersion: string;
    platform: string;
    cpus: number;
    facts: Record<string, unknown>;
    /** Variant names in the order they are compared; the first is the baseline. */
    variants: VariantName[];
    /** The scheduling the run's processes got (src/run/placement.ts); absent in documents before it existed. */
    placement?: PlacementRecord;
  };
  proofs: ProofRecord[];
  protocols: ProtocolResult[];
  verdict: Verdict;
  /** Set when the run was stopped early (Ctrl-C); such a run is never a pass. */
  interrupted?: boolean;
  /**
   * Set when a part of the run broke mid-run (an env process died, a load could not run): the run stopped at that
   * round, kept every round measured before it (and that round's load, errors by kind, when it finished) and is
   * invalid (a `fault` validity problem).
   */
  fault?: RunFault;
  /** Set by `run --aa`: both variants drove the same (unmeshed) targets, to calibrate the verdict. */
  aa?: boolean;
  /** A drill's events as they happened, with their cost per variant (absent without scenario events). */
  drills?: DrillResult[];
}
