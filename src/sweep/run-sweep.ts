import { availableParallelism } from 'node:os';
import type { ProtocolConfig, Scenario, Validity } from '../config/schema.js';
import { startEnv } from '../envs/index.js';
import { provePaths } from '../envs/proof.js';
import { MeshbenchError } from '../errors.js';
import { runLoads } from '../load/pool.js';
import { variantOrder } from '../load/rounds.js';
import type { VariantName } from '../protocols.js';
import type { ProtocolResult, VariantResult } from '../result.js';
import { aggregateVariant } from '../run/aggregate.js';
import { variantLanes } from '../run/lanes.js';
import { applyPlacement } from '../run/placement.js';
import { judgeStep, kneeOf, nextRefinement, sweepRates, SWEEP_SCHEMA_VERSION, type SweepDocument, type SweepProtocol, type SweepStep } from '../sweep-record.js';
import { protocolData, protocolEstimates } from '../verdict/figures.js';
import { statisticsSettings } from '../verdict/index.js';
import { toolVersion } from '../version.js';
import type { RunningEnv } from '../envs/env.js';

/** What the CLI shows while a sweep goes on. */
export type SweepEvent =
  | { type: 'env-ready'; kind: string; variants: VariantName[] }
  | { type: 'step'; protocol: string; variant: VariantName; step: SweepStep };

export interface SweepOptions {
  scenarioPath: string;
  signal?: AbortSignal;
  onEvent?: (event: SweepEvent) => void;
}

/**
 * `meshbench sweep`: scenario → env (proven) → per protocol, rate steps: at each rate every variant still holding
 * runs on its own (variants alternate who goes first, A B, B A …), measured as a run's protocol is — warm-up,
 * then `rounds` × durationS of 1 s blocks — and judged (sweep-record.ts judgeStep): its p99's interval against
 * the budget, its errors, its validity. A variant stops at its first break; then the rates between its last hold
 * and that break are bisected (`refineSteps`). The env is always closed; an abort ends the sweep with what it has.
 */
export async function runSweep(scenario: Scenario, options: SweepOptions): Promise<SweepDocument> {
  const sweep = scenario.sweep;
  if (sweep === undefined) throw new MeshbenchError('MB_BAD_SCENARIO', `scenario "${scenario.name}" has no sweep section: add sweep: { startRateHz, stepRateHz or stepFactor, maxRateHz } (README, Latency vs load)`);
  const { signal, onEvent } = options;
  const startedAt = new Date().toISOString();
  const budgetUs = (sweep.p99Ms ?? scenario.budgets.p99Ms ?? NaN) * 1000;
  const placement = applyPlacement(scenario.placement);
  const env: RunningEnv = await startEnv(scenario.env, scenario.protocols.map((p) => p.name), signal).catch((err: unknown) => {
    placement.restore();
    throw err;
  });
  let interrupted = false;
  try {
    if (env.runLoad !== undefined) throw new MeshbenchError('MB_BAD_SCENARIO', `a sweep drives the load from this machine; the ${env.kind} environment runs its own generators`);
    const variants = env.variants.map((v) => v.name);
    onEvent?.({ type: 'env-ready', kind: env.kind, variants });
    const protocols = scenario.protocols.map((p) => p.name);
    const unproven = (await provePaths(env, protocols)).filter((p) => !p.ok);
    if (unproven.length > 0) throw new MeshbenchError('MB_MESH_UNPROVEN', `not swept: ${unproven.map((p) => `${p.variant}/${p.protocol}: ${p.detail}`).join('; ')}`);
    const out: SweepProtocol[] = [];
    for (const config of scenario.protocols) {
      const steps = new Map<VariantName, SweepStep[]>(variants.map((v) => [v, []]));
      let first = true;
      // One step; a step that broke is measured once more (kneeOf: a rate breaks only when both broke).
      const measure = async (variant: VariantName, rateHz: number, refinement: boolean): Promise<void> => {
        for (const repeat of [false, true]) {
          const step = await measureStep(scenario, env, config, variant, rateHz, { refinement, repeat }, budgetUs, first, signal);
          first = false;
          if (step === null) return;
          steps.get(variant)?.push(step);
          onEvent?.({ type: 'step', protocol: config.name, variant, step });
          if (step.outcome !== 'breaks') return;
        }
      };
      const broken = new Set<VariantName>();
      for (const [i, rateHz] of sweepRates(sweep).entries()) {
        for (const variant of variantOrder(variants, i)) {
          if (broken.has(variant) || signal?.aborted === true) continue;
          await measure(variant, rateHz, false);
          if (kneeOf(steps.get(variant) ?? []).breaksAtHz !== null) broken.add(variant);
        }
        if (broken.size === variants.length) break;
      }
      const minGapHz = Math.max(1, sweep.startRateHz / 100);
      for (let r = 0; r < sweep.refineSteps; r++) {
        for (const variant of variants) {
          const next = nextRefinement(kneeOf(steps.get(variant) ?? []), minGapHz);
          if (next !== null && signal?.aborted !== true) await measure(variant, next, true);
        }
      }
      if (signal?.aborted === true) interrupted = true;
      out.push({ name: config.name, variants: Object.fromEntries(variants.map((v) => [v, { steps: steps.get(v) ?? [], knee: kneeOf(steps.get(v) ?? []) }])) });
    }
    const doc: SweepDocument = {
      kind: 'meshbench-sweep',
      schemaVersion: SWEEP_SCHEMA_VERSION,
      tool: { name: 'meshbench', version: toolVersion },
      scenarioPath: options.scenarioPath,
      scenario,
      startedAt,
      finishedAt: new Date().toISOString(),
      environment: { kind: env.kind, nodeVersion: process.version, cpus: availableParallelism(), variants, facts: env.facts },
      p99BudgetMs: budgetUs / 1000,
      protocols: out,
    };
    if (interrupted) doc.interrupted = true;
    return doc;
  } finally {
    await env.close();
    placement.restore();
  }
}

/** One variant at one rate: its load, its figures, its p99's interval and how it is judged (null: aborted). */
async function measureStep(
  scenario: Scenario, env: RunningEnv, config: ProtocolConfig, variant: VariantName, rateHz: number, kind: Pick<SweepStep, 'refinement' | 'repeat'>,
  budgetUs: number, first: boolean, signal: AbortSignal | undefined,
): Promise<SweepStep | null> {
  const [lane] = variantLanes(env, [variant], { ...config, rateHz }, scenario.validity.lateThresholdMs);
  if (lane === undefined) return null;
  const warmupMs = first ? Math.max(lane.spec.warmupMs, Math.round(config.firstWarmupS * 1000)) : lane.spec.warmupMs;
  const startedAt = new Date().toISOString();
  const [load] = await runLoads([{ ...lane.spec, warmupMs, durationMs: lane.spec.durationMs * scenario.rounds }], signal);
  if (load === undefined || signal?.aborted === true) return null;
  const result = aggregateVariant([{ round: 0, rounds: scenario.rounds, order: 0, startedAt, load, proxiesBefore: [], proxiesAfter: [], hiccups: { generator: load.hiccupHistogram } }]);
  const protocol: ProtocolResult = { name: config.name, model: 'open', rateHz, connections: config.connections, payloadBytes: config.payloadBytes, variants: { [variant]: result }, overhead: {} };
  const settings = { ...statisticsSettings(scenario), pairing: 'time' as const };
  const p99 = protocolEstimates(protocolData(protocol, settings), [variant], settings.confidence).variants[variant]?.p99Us ?? null;
  const invalid = invalidity(result, rateHz, scenario.validity);
  const total = result.count + result.errors;
  const figures = {
    rateHz, ...kind,
    achievedRateHz: result.achievedRateHz,
    count: result.count,
    errors: result.errors,
    errorRate: total > 0 ? result.errors / total : 0,
    lateShare: result.lateShare,
    p50Us: result.latencyUs.p50,
    p99Us: result.latencyUs.p99,
    p99IntervalUs: p99 === null ? null : { low: p99.low, high: p99.high, confidence: p99.confidence },
  };
  return { ...figures, ...judgeStep(figures, budgetUs, scenario.validity.maxErrorRate, invalid) };
}

/**
 * What made a step invalid, judged over the whole step (not per round as a run's validity is: a step is short,
 * and one stall moves a round's completions into the next): the rate not achieved — the target could not keep up
 * — or too many requests sent late — a backlog of requests waiting for a free connection, or the generator behind.
 */
function invalidity(result: VariantResult, rateHz: number, validity: Validity): string[] {
  const intended = result.intendedRateHz > 0 ? result.intendedRateHz : rateHz;
  const out: string[] = [];
  if (result.achievedRateHz < validity.minAchievedRateRatio * intended) out.push(`achieved ${result.achievedRateHz.toFixed(0)} of ${intended.toFixed(0)} req/s`);
  if (result.lateShare > validity.maxLateShare) out.push(`${(result.lateShare * 100).toFixed(1)} % of requests left > ${validity.lateThresholdMs} ms late (a backlog, or the generator behind)`);
  return out;
}
