import { MeshbenchError } from '../errors.js';
import { BASELINE_VARIANT, type Protocol, type VariantName } from '../protocols.js';
import { RESULT_SCHEMA_VERSION, type FigureInterval, type ResultDocument, type VerdictStatus } from '../result.js';
import { toolVersion } from '../version.js';
import { scaleInterval } from './budgets.js';
import { differenceInterval, figureData, METHODS, protocolData, type FigureKey, type ProtocolData } from './figures.js';
import { statisticsSettings } from './index.js';
import { decide, roundsToDecide } from './statistics.js';
import { validityProblems } from './validity.js';

/**
 * `meshbench compare <baseline> <candidate>`: did the candidate regress against a stored baseline? Per
 * protocol and variant, the P99 and the P99 overhead are compared with the same interval logic as the
 * budgets: the change (candidate − baseline) passes when its whole interval is within the tolerance, fails
 * (a regression) when its whole interval is beyond it, and is inconclusive otherwise.
 *
 * The two results are independent runs: each is resampled on its own and brings its own between-round
 * spread (Welch's t). What neither can measure is the drift *between* the two runs (another day, another
 * machine): that is what the tolerance is for.
 */
export const COMPARISON_KIND = 'meshbench-comparison';

export interface CompareOptions {
  /** A figure may rise by this much (ms) … */
  toleranceMs: number;
  /** … plus this fraction of the baseline's P99 of that variant. */
  toleranceRatio: number;
  baselinePath: string;
  candidatePath: string;
}

export interface RegressionCheck {
  protocol: Protocol;
  variant: VariantName;
  /** `p99Ms`: the variant's P99; `p99OverheadMs`: its P99 overhead over the unmeshed baseline. */
  figure: 'p99Ms' | 'p99OverheadMs';
  /** Point estimates, ms. */
  baseline: number;
  candidate: number;
  /** candidate − baseline, ms, and its interval. */
  change: number;
  interval: { low: number; high: number; confidence: number } | null;
  /** The tolerance, ms: the largest rise that is not a regression. */
  limit: number;
  /** pass: no regression; fail: regression; inconclusive: cannot tell. */
  status: VerdictStatus;
  roundsNeeded?: number | null;
}

export interface ComparedResult {
  path: string;
  scenario: string;
  startedAt: string;
  status: VerdictStatus;
  toolVersion: string;
}

export interface ComparisonDocument {
  kind: typeof COMPARISON_KIND;
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  tool: { name: 'meshbench'; version: string };
  baseline: ComparedResult;
  candidate: ComparedResult;
  tolerance: { ms: number; ratio: number };
  statistics: { method: string; confidence: number; resamples: number; seed: number };
  checks: RegressionCheck[];
  /** Differences between the two scenarios that are allowed (environment, rounds, durations …), for the record. */
  notes: string[];
  verdict: { status: VerdictStatus; reasons: string[] };
}

/** Throws MB_INCOMPATIBLE_RESULTS when the two documents cannot be compared, naming every reason. */
export function checkComparable(baseline: ResultDocument, candidate: ResultDocument): string[] {
  const problems: string[] = [];
  for (const [role, doc] of [['baseline', baseline], ['candidate', candidate]] as const) {
    if (doc.schemaVersion !== RESULT_SCHEMA_VERSION) {
      problems.push(`${role}: result schema version ${String(doc.schemaVersion)}; this meshbench reads version ${RESULT_SCHEMA_VERSION}`);
    }
  }
  if (problems.length > 0) throw incompatible(problems);
  if (baseline.scenario.name !== candidate.scenario.name) {
    problems.push(`different scenarios: baseline "${baseline.scenario.name}", candidate "${candidate.scenario.name}"`);
  }
  const names = (d: ResultDocument) => d.protocols.map((p) => p.name).sort().join(', ');
  if (names(baseline) !== names(candidate)) problems.push(`different protocols: baseline [${names(baseline)}], candidate [${names(candidate)}]`);
  const variants = (d: ResultDocument) => [...d.environment.variants].sort().join(', ');
  if (variants(baseline) !== variants(candidate)) problems.push(`different variants: baseline [${variants(baseline)}], candidate [${variants(candidate)}]`);
  if ((baseline.aa === true) !== (candidate.aa === true)) problems.push(`one result is an A/A run (--aa) and the other is not`);
  for (const b of baseline.scenario.protocols) {
    const c = candidate.scenario.protocols.find((p) => p.name === b.name);
    if (c === undefined) continue;
    for (const field of ['model', 'rateHz', 'connections', 'payloadBytes'] as const) {
      if (b[field] !== c[field]) problems.push(`${b.name}: different load — ${field} ${String(b[field])} in the baseline, ${String(c[field])} in the candidate`);
    }
  }
  if (problems.length > 0) throw incompatible(problems);
  return notes(baseline, candidate);
}

function incompatible(problems: string[]): MeshbenchError {
  return new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `the two results cannot be compared (${problems.length} problem${problems.length > 1 ? 's' : ''})`, { problems });
}

/** Allowed differences worth recording: what changed between the runs besides the code under test. */
function notes(baseline: ResultDocument, candidate: ResultDocument): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(baseline.scenario.env, candidate.scenario.env)) out.push('the environment configuration differs (env)');
  if (baseline.scenario.rounds !== candidate.scenario.rounds) out.push(`rounds: ${baseline.scenario.rounds} → ${candidate.scenario.rounds}`);
  for (const b of baseline.scenario.protocols) {
    const c = candidate.scenario.protocols.find((p) => p.name === b.name);
    if (c === undefined) continue;
    for (const field of ['durationS', 'warmupS', 'path', 'headers', 'workers', 'timeoutMs'] as const) {
      if (!same(b[field], c[field])) out.push(`${b.name}.${field}: ${JSON.stringify(b[field])} → ${JSON.stringify(c[field])}`);
    }
  }
  if (baseline.tool.version !== candidate.tool.version) out.push(`meshbench ${baseline.tool.version} → ${candidate.tool.version}`);
  return out;
}

function describe(path: string, doc: ResultDocument): ComparedResult {
  return { path, scenario: doc.scenario.name, startedAt: doc.startedAt, status: doc.verdict.status, toolVersion: doc.tool.version };
}

/**
 * What comparing decided: the comparison document without its verdict's words, the status, and why either
 * run is invalid (report/wording.ts comparisonReasons words it; run/compare.ts puts the two together).
 */
export type ComparisonDecision = Omit<ComparisonDocument, 'verdict'> & { status: VerdictStatus; invalid: string[] };

export function compareResults(baseline: ResultDocument, candidate: ResultDocument, options: CompareOptions): ComparisonDecision {
  const recorded = checkComparable(baseline, candidate);
  const settings = statisticsSettings(candidate.scenario);
  const checks: RegressionCheck[] = [];
  const invalid: string[] = [];
  for (const [role, doc] of [['baseline', baseline], ['candidate', candidate]] as const) {
    if (doc.interrupted === true) invalid.push(`${role}: the run was interrupted`);
    for (const p of doc.protocols) {
      const config = doc.scenario.protocols.find((c) => c.name === p.name);
      if (config !== undefined) invalid.push(...validityProblems(p, config, doc.scenario).map((v) => `${role}: ${v.detail}`));
    }
  }
  for (const cp of candidate.protocols) {
    const bp = baseline.protocols.find((p) => p.name === cp.name);
    if (bp === undefined) continue;
    const cd = protocolData(cp, settings, `${cp.name}/candidate`);
    const bd = protocolData(bp, settings, `${bp.name}/baseline`);
    for (const variant of candidate.environment.variants) {
      const basePoint = bp.variants[variant]?.latencyUs.p99;
      if (basePoint === undefined || cp.variants[variant] === undefined) continue;
      const limit = options.toleranceMs + options.toleranceRatio * (basePoint / 1000);
      checks.push(regression(cd, bd, 'p99Ms', { kind: 'latency', variant, index: 1 }, limit, settings.confidence));
      if (variant !== BASELINE_VARIANT && bp.variants[BASELINE_VARIANT] !== undefined) {
        checks.push(regression(cd, bd, 'p99OverheadMs', { kind: 'overhead', variant, baseline: BASELINE_VARIANT, index: 1 }, limit, settings.confidence));
      }
    }
  }
  return {
    kind: COMPARISON_KIND,
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: 'meshbench', version: toolVersion },
    baseline: describe(options.baselinePath, baseline),
    candidate: describe(options.candidatePath, candidate),
    tolerance: { ms: options.toleranceMs, ratio: options.toleranceRatio },
    statistics: { method: METHODS[settings.pairing], confidence: settings.confidence, resamples: settings.resamples, seed: settings.seed },
    checks,
    notes: recorded,
    status: compareStatus(checks, invalid),
    invalid,
  };
}

function regression(cd: ProtocolData, bd: ProtocolData, figure: RegressionCheck['figure'], key: FigureKey, limit: number, confidence: number): RegressionCheck {
  const c = figureData(cd, key);
  const b = figureData(bd, key);
  const interval: FigureInterval | null = scaleInterval(differenceInterval(c, b, confidence), 1 / 1000);
  const candidate = (c?.estimate ?? NaN) / 1000;
  const baseline = (b?.estimate ?? NaN) / 1000;
  const change = candidate - baseline;
  const base = { protocol: cd.protocol.name, variant: key.variant, figure, baseline, candidate, change, limit };
  if (interval === null) return { ...base, interval: null, status: change <= limit ? 'pass' : 'fail' };
  const status = decide(interval, limit);
  const out: RegressionCheck = { ...base, interval: { low: interval.low, high: interval.high, confidence }, status };
  if (status === 'inconclusive') out.roundsNeeded = roundsToDecide(interval, limit);
  return out;
}

function compareStatus(checks: RegressionCheck[], invalid: string[]): VerdictStatus {
  if (invalid.length > 0) return 'inconclusive';
  if (checks.some((c) => c.status === 'fail')) return 'fail';
  if (checks.length === 0 || checks.some((c) => c.status === 'inconclusive')) return 'inconclusive';
  return 'pass';
}
