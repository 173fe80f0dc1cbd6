import { isPilotEvent, type ProtocolConfig, type Scenario } from '../config/schema.js';
import type { RunningEnv } from '../envs/env.js';
import { startEnv } from '../envs/index.js';
import { provePaths } from '../envs/proof.js';
import { runLoads, type LoadProgress } from '../load/pool.js';
import { errorMessage, isMeshbenchError, MeshbenchError } from '../errors.js';
import { variantOrder } from '../load/rounds.js';
import type { DriverExtras, LoadSpec } from '../load/types.js';
import type { Protocol, VariantName } from '../protocols.js';
import { RESULT_SCHEMA_VERSION, type RunFault, type ProofRecord, type ProtocolResult, type ResultDocument } from '../result.js';
import { judgeRun } from './judge.js';
import { variantLanes, type Lane } from './lanes.js';
import { toolVersion } from '../version.js';
import { withAa } from './aa-env.js';
import { environmentRecord } from './environment.js';
import { applyPlacement } from './placement.js';
import { sumErrors } from '../drivers/driver.js';
import { aggregateVariant, overheads, type RoundRecord } from './aggregate.js';
import { summarizeEncoded } from '../histograms/index.js';
import { DrillTimer, type Occurrence } from '../drills/schedule.js';
import { analyzeDrills } from '../drills/analyze.js';

/** What the CLI shows while a run goes on. Purely informational: nothing in the run depends on it. */
export type RunEvent =
  | { type: 'env-ready'; kind: string; variants: VariantName[] }
  | { type: 'proven'; proofs: ProofRecord[] }
  | { type: 'round-start'; round: number; rounds: number; roundsInLoad: number; protocol: Protocol; variant: VariantName; step: number; steps: number }
  | { type: 'progress'; protocol: Protocol; variant: VariantName; elapsedMs: number; count: number; rateHz: number; p99Us: number }
  | { type: 'round-end'; protocol: Protocol; variant: VariantName; count: number; errors: number; p99Us: number }
  | { type: 'fault'; fault: RunFault }
  | { type: 'judging'; rounds: number };

export interface RunOptions {
  scenarioPath: string;
  /** A/A calibration: every variant drives the baseline's targets (aa-env.ts), and the verdict judges that. */
  aa?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  /**
   * What the drivers are told beyond the scenario (`meshbench ab`: method, body, request mix, expected statuses,
   * a gRPC method); each variant's TLS comes from its env.
   */
  driverOptions?: DriverExtras;
}

/**
 * The pipeline: scenario → env (targets, proven) → load (rounds, interleaved) → verdict → result document.
 * The env is always closed, on success, error and abort. An abort between or during rounds ends the run
 * early with what was measured, marked interrupted (never a pass).
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ResultDocument> {
  const { signal, onEvent } = options;
  const startedAt = new Date().toISOString();
  const protocols = scenario.protocols.map((p) => p.name);
  const inPilot = (scenario.events ?? []).findIndex(isPilotEvent);
  if (inPilot >= 0) {
    throw new MeshbenchError('MB_BAD_SCENARIO', `events[${inPilot}] names a pilot window (window/every): run this scenario with \`meshbench pilot\`, or give its events a round instead`);
  }
  // Before anything starts: worker threads and child processes inherit the scheduling.
  const placement = applyPlacement(scenario.placement);
  const env: RunningEnv = await withAa(await startEnv(scenario.env, protocols, signal).catch((err: unknown) => {
    placement.restore();
    throw err;
  }), options.aa);
  try {
    const variants = env.variants.map((v) => v.name);
    onEvent?.({ type: 'env-ready', kind: env.kind, variants });
    signal?.throwIfAborted();
    const proofs = env.prove !== undefined ? await env.prove(protocols, signal) : await provePaths(env, protocols, undefined, options.driverOptions);
    onEvent?.({ type: 'proven', proofs });

    const records = new Map<string, RoundRecord[]>(); // key: protocol/variant
    const keep = (config: ProtocolConfig, variant: VariantName, record: RoundRecord): void => {
      const key = `${config.name}/${variant}`;
      records.set(key, [...(records.get(key) ?? []), record]);
    };
    const paired = scenario.pairing === 'time';
    const events = scenario.events ?? [];
    const occurrences: Occurrence[] = [];
    if (paired && env.runLoad !== undefined) {
      throw new MeshbenchError('MB_BAD_SCENARIO', `pairing: time needs the generator on this machine, and the ${env.kind} environment runs its own: use pairing: rounds`);
    }
    // Time pairing: each protocol runs once, continuously, for all its rounds (split into rounds afterwards,
    // aggregate.ts). Rounds pairing: one load per round and variant, variants taking turns A B B A …
    const passes = paired ? [{ round: 0, rounds: scenario.rounds }] : Array.from({ length: scenario.rounds }, (_, round) => ({ round, rounds: 1 }));
    const spec = (config: ProtocolConfig, lane: Lane, pass: { round: number; rounds: number }): LoadSpec => {
      const s = lane.spec;
      const warmupMs = pass.round === 0 ? Math.max(s.warmupMs, Math.round(config.firstWarmupS * 1000)) : s.warmupMs;
      // A drill's timeline is as fine as its intervals (scenario timelineMs).
      const intervalMs = events.length > 0 ? scenario.timelineMs : s.intervalMs;
      return { ...s, warmupMs, durationMs: s.durationMs * pass.rounds, intervalMs };
    };
    const steps = passes.length * scenario.protocols.length * (paired ? 1 : variants.length);
    let step = 0;
    let interrupted = false;
    let fault: RunFault | undefined;
    passes: for (const pass of passes) {
      for (const batch of loadBatches(scenario, env, variants, pass.round, options.driverOptions)) {
        if (signal?.aborted) { interrupted = true; break passes; }
        const names = [...new Set(batch.flatMap((u) => u.group.map((v) => v.name)))];
        for (const { config, group } of batch) {
          onEvent?.({ type: 'round-start', round: pass.round, rounds: scenario.rounds, roundsInLoad: pass.rounds, protocol: config.name, variant: group.map((v) => v.name).join(' + '), step: ++step, steps });
        }
        // A part of the env that died, or a load that broke, ends the run here (a fault): the rounds before it,
        // and this round's load when it finished (its errors by kind), are kept; the run is invalid.
        const at = { round: pass.round, protocol: batch[0]?.config.name ?? protocols[0] ?? 'http1', variant: names.join(' + ') };
        const guard = <T>(work: () => Promise<T>, fallback: T): Promise<T> => work().catch((err: unknown) => {
          if (!signal?.aborted) fault ??= runFault(at, err);
          return fallback;
        });
        const proxiesBefore = await guard(() => Promise.all(names.map((n) => env.sampleProxies(n))), []);
        await guard(async () => env.takeHiccups?.(), undefined); // what the env's processes saw between loads is not this load's
        if (fault !== undefined) break passes;
        const startedAt = new Date().toISOString();
        // A drill's events of this load's rounds (the schema keeps drills to one protocol per load: no `together`).
        const timers = batch.map(({ config, group }) => new DrillTimer(env, events, {
          protocol: config.name, variants: group.map((v) => v.name), firstRound: pass.round, rounds: pass.rounds,
          warmupMs: group[0] === undefined ? 0 : spec(config, group[0], pass).warmupMs, roundMs: Math.round(config.durationS * 1000),
        }, signal));
        for (const timer of timers) if (timer.active) timer.begin();
        // Several protocols at once (together): each its own generator threads, started together.
        const loads = await guard(() => Promise.all(batch.map(({ config, group }, b) => {
          const timer = timers[b];
          const progress = (lane: number, p: LoadProgress): void => {
            if (timer?.active === true) timer.onProgress(p);
            onEvent?.({ type: 'progress', protocol: config.name, variant: group[lane]?.name ?? '', ...p });
          };
          const first = group[0];
          return env.runLoad === undefined
            ? runLoads(group.map((v) => spec(config, v, pass)), signal, progress)
            : first === undefined ? Promise.resolve([]) : env.runLoad(first.name, spec(config, first, pass), signal, (p) => progress(0, p)).then((load) => [load]);
        })).finally(async () => {
          for (const timer of timers) occurrences.push(...(await timer.finish())); // no event starts after its load, and every started one is over
        }), []);
        const envHiccups = (await guard(async () => env.takeHiccups?.(), undefined)) ?? {};
        const proxiesAfter = await guard(() => Promise.all(names.map((n) => env.sampleProxies(n))), []);
        if (signal?.aborted) { interrupted = true; break passes; } // a cut-short load is not comparable
        batch.forEach(({ config, group, order }, b) => group.forEach((v, lane) => {
          const load = loads[b]?.[lane];
          if (load === undefined) return;
          const position = paired ? lane : order.findIndex((o) => o.name === v.name);
          const hiccups = { generator: load.hiccupHistogram, ...envHiccups };
          const i = names.indexOf(v.name);
          keep(config, v.name, {
            round: pass.round, rounds: pass.rounds, order: position, startedAt, load,
            proxiesBefore: proxiesBefore[i] ?? [], proxiesAfter: proxiesAfter[i] ?? [], hiccups,
          });
          onEvent?.({ type: 'round-end', protocol: config.name, variant: v.name, count: load.count, errors: sumErrors(load.errors), p99Us: summarizeEncoded(load.histogram).p99 });
        }));
        if (fault !== undefined) break passes;
      }
    }

    const results: ProtocolResult[] = [];
    for (const config of scenario.protocols) {
      const perVariant: ProtocolResult['variants'] = {};
      for (const variant of variants) {
        const list = records.get(`${config.name}/${variant}`);
        if (list !== undefined && list.length > 0) perVariant[variant] = aggregateVariant(list);
      }
      if (Object.keys(perVariant).length === 0) continue;
      results.push({
        name: config.name,
        model: config.model,
        rateHz: config.model === 'open' ? config.rateHz : 0,
        connections: config.connections,
        payloadBytes: config.payloadBytes,
        variants: perVariant,
        overhead: overheads(perVariant),
      });
    }

    if (fault !== undefined) onEvent?.({ type: 'fault', fault });
    onEvent?.({ type: 'judging', rounds: Math.max(0, ...[...records.values()].map((list) => list.length)) });
    const drills = events.length > 0 ? analyzeDrills(occurrences, results, scenario.timelineMs) : undefined;
    const doc: ResultDocument = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      tool: { name: 'meshbench', version: toolVersion },
      scenarioPath: options.scenarioPath,
      scenario,
      startedAt,
      finishedAt: new Date().toISOString(),
      environment: environmentRecord(env, variants, placement.record, { ...env.facts, ...requestFacts(options.driverOptions) }),
      proofs,
      protocols: results,
      verdict: judgeRun(scenario, results, { interrupted, aa: options.aa === true, ...(fault === undefined ? {} : { fault }), ...(drills === undefined ? {} : { drills }) }),
    };
    if (drills !== undefined) doc.drills = drills;
    if (interrupted) doc.interrupted = true;
    if (fault !== undefined) doc.fault = fault;
    if (options.aa === true) doc.aa = true;
    return doc;
  } finally {
    await env.close();
    placement.restore();
  }
}

/** What broke a run, where: the env's processes or the load, as result.json `fault`. */
function runFault(at: Pick<RunFault, 'round' | 'protocol' | 'variant'>, err: unknown): RunFault {
  return { ...at, code: isMeshbenchError(err) ? err.code : 'unexpected', message: errorMessage(err) };
}

/** One protocol's lanes in one load: `group` runs now, `order` is the protocol's variant order this round. */
interface BatchUnit {
  config: ProtocolConfig;
  order: Lane[];
  group: Lane[];
}

/**
 * The loads of one pass, in order, each a batch of protocol lanes started together: pairing time runs each
 * protocol's variants at once (one batch per protocol, or one batch of every protocol when `together`);
 * pairing rounds runs one variant of one protocol at a time. ABBA: the order alternates — per round, who runs
 * first (rounds); per protocol, who takes the first slot of each pair (time).
 */
function loadBatches(scenario: Scenario, env: RunningEnv, variants: VariantName[], round: number, extras: DriverExtras | undefined): BatchUnit[][] {
  const paired = scenario.pairing === 'time';
  const units = scenario.protocols.flatMap((config, index) => {
    const order = variantLanes(env, variantOrder(variants, paired ? index : round), config, scenario.validity.lateThresholdMs, extras);
    return (paired ? [order] : order.map((v) => [v])).map((group) => ({ config, order, group }));
  });
  return paired && scenario.together ? [units] : units.map((u) => [u]);
}

/** What the drivers were told beyond the scenario (`meshbench ab`), as result.json facts: no bodies, no keys. */
function requestFacts(extras: DriverExtras | undefined): Record<string, unknown> {
  if (extras === undefined) return {};
  const request: Record<string, unknown> = {};
  if (extras.method !== undefined) request['method'] = extras.method;
  if (extras.body !== undefined) request['bodyBytes'] = extras.body.length;
  if (extras.expectStatus !== undefined) request['expectStatus'] = extras.expectStatus;
  if (extras.requests !== undefined) request['mix'] = extras.requests.map((r) => ({ method: r.method, path: r.path, weight: r.weight }));
  if (extras.grpcCall !== undefined) request['grpcCall'] = { proto: extras.grpcCall.protoFile, call: extras.grpcCall.call };
  return Object.keys(request).length === 0 ? {} : { request };
}
