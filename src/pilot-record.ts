import type { DrillEvent, Scenario } from './config/schema.js';
import type { IntervalHistogram } from './histograms/index.js';
import type { Protocol, VariantName } from './protocols.js';
import type { BudgetCheck, DrillCheck, DrillResult, LatencySummaryUs, ProofRecord, ResultDocument, Verdict } from './result.js';

/**
 * What a pilot (`meshbench pilot`) keeps on disk, the only input its reports need:
 *
 * - `pilot.json` (PilotMeta): written once, when the pilot starts — its id, scenario, length and window size;
 * - `windows.jsonl`: one PilotRecord per line, appended and fsynced — a `segment` line each time the pilot
 *   (re)starts, then a `window` line each time a window closes;
 * - `<protocol>-<variant>.hlog`: the 1 s interval histograms of every closed window, appended in step.
 *
 * Compatibility as for result.json: bump PILOT_SCHEMA_VERSION when a field is removed or changes meaning (an optional
 * field added, as a window's `drills`, keeps it: older folders read and resume as they were).
 */
export const PILOT_SCHEMA_VERSION = 1;
export const PILOT_KIND = 'meshbench-pilot';

export interface PilotMeta {
  kind: typeof PILOT_KIND;
  schemaVersion: typeof PILOT_SCHEMA_VERSION;
  tool: { name: 'meshbench'; version: string };
  /** Stays the same across resumes. */
  pilotId: string;
  scenarioPath: string;
  /** With every default filled in; `scenario.pilot.windowS` is the window length. */
  scenario: Scenario;
  startedAt: string;
  /** Epoch ms of the start: the .hlog files' BaseTime and day 1's first instant. */
  startMs: number;
  /** The pilot ends this long after its start (`--for`), however often it was resumed. */
  forS: number;
}

/** The pilot (re)started: the first segment is 0; each resume adds one, after a gap. */
export interface SegmentRecord {
  type: 'segment';
  segment: number;
  startedAt: string;
  startMs: number;
  /** The environment this segment ran on (a resume starts a new one: new processes, new PKI). */
  environment: ResultDocument['environment'];
  proofs: ProofRecord[];
}

/** One window of one variant of one protocol. */
export interface WindowVariant {
  /** Responses recorded (requests the schedule could not send before the load ended are recorded as late too). */
  count: number;
  errors: number;
  errorsByKind: Record<string, number>;
  /** Requests sent (or due and never sent), and those sent more than lateThresholdMs late. */
  sent: number;
  late: number;
  maxLagUs: number;
  /** Seconds of the window's intervals. */
  measuredMs: number;
  latencyUs: LatencySummaryUs;
  /** The window's latency histogram (compressed base64, µs; the exact sum of its blocks). */
  histogram: string;
  /** The window's consecutive 1 s intervals merged into at most `pilot.blocksPerWindow` blocks, in time order. */
  blocks: IntervalHistogram[];
}

export interface WindowRecord {
  type: 'window';
  /** 0-based over the whole pilot. */
  index: number;
  segment: number;
  startMs: number;
  endMs: number;
  /** Fewer 1 s intervals than `windowS`: the pilot ended, or was stopped, inside it. */
  partial: boolean;
  protocols: { name: Protocol; variants: Record<VariantName, WindowVariant> }[];
  /** Per variant, its proxies: CPU seconds used during the window and RSS at its end. */
  proxies: Record<VariantName, { name: string; cpuSeconds: number; rssBytes: number }[]>;
  /**
   * The drill events of this window (scenario events with `window`/`every`), one per event and protocol: what the
   * env did (or why it did not happen) and what it cost each variant, on this window's intervals
   * (src/drills/analyze.ts analyzeWindowDrills). Absent when the window had none (and in pilots written before drills).
   */
  drills?: DrillResult[];
}

export type PilotRecord = SegmentRecord | WindowRecord;

/** Why a window is left out of the day's and the pilot's verdicts (it is still listed, with its own verdict). */
export type WindowMark = 'partial' | 'restart' | 'invalid' | 'errors' | 'drill';

/**
 * Marks that keep a window out of the aggregate verdicts (`errors` does not: errors are judged by the error budget;
 * `drill` does: a drilled window is disrupted on purpose, and its events are judged by their own budgets).
 */
export const EXCLUDING_MARKS: readonly WindowMark[] = ['partial', 'restart', 'invalid', 'drill'];

/** A figure with its interval, in the figure's unit. */
export interface Estimate {
  estimate: number;
  low: number;
  high: number;
}

/** One window as the reports show it: its own verdict, on its blocks. */
export interface WindowSummary {
  index: number;
  segment: number;
  /** 1-based day of the pilot the window started in. */
  day: number;
  startMs: number;
  endMs: number;
  marks: WindowMark[];
  status: Verdict['status'];
  reasons: string[];
  checks: BudgetCheck[];
  /** Per protocol: each variant's p50/p99 (µs), errors and requests; each meshed variant's p99 overhead (µs) with its interval. */
  protocols: {
    name: Protocol;
    variants: Record<VariantName, { count: number; errors: number; p50Us: number; p99Us: number }>;
    p99OverheadUs: Record<VariantName, Estimate | null>;
  }[];
  proxies: WindowRecord['proxies'];
}

/** The verdict over several windows (a day, the whole pilot): every window that is not excluded is one round. */
export interface PeriodVerdict {
  label: string;
  /** Indexes of the windows judged, and of those left out (with their marks). */
  windows: number[];
  excluded: { index: number; marks: WindowMark[] }[];
  /** Null when no window could be judged. */
  verdict: Verdict | null;
}

/** Drift of a figure over the judged windows: its least-squares slope per day, with its interval. */
export interface DriftEstimate {
  figure: string;
  unit: string;
  protocol: Protocol | null;
  variant: VariantName;
  /** Change per day. */
  slopePerDay: number;
  low: number;
  high: number;
  confidence: number;
  windows: number;
  /** The interval excludes 0: the figure moved over the pilot. */
  trending: boolean;
}

/** pilot-summary.json: everything the pilot reports show, a pure function of the pilot's folder. */
export interface PilotSummary {
  kind: 'meshbench-pilot-summary';
  pilotId: string;
  scenario: string;
  startedAt: string;
  forS: number;
  windowS: number;
  /** Up to the end of the last closed window (the pilot may still run). */
  coveredUntil: string | null;
  segments: { segment: number; startedAt: string; gapS: number | null }[];
  windows: WindowSummary[];
  days: PeriodVerdict[];
  whole: PeriodVerdict;
  drift: DriftEstimate[];
  /**
   * The drill of the pilot's events (scenario events with `window`/`every`): the events as the scenario gives
   * them, every drilled window's events in time order, their budgets' checks (src/verdict/drills.ts), and the
   * drill's own verdict — fail when a check failed, inconclusive when one is undecided or none is set, pass
   * otherwise; null without events.
   */
  drills: { events: DrillEvent[]; results: DrillResult[]; checks: DrillCheck[]; status: Verdict['status'] | null };
}
